"""Reading an answer to a question: typed text or a pressed button, checked by the question's type.

Nothing here changes the state: the caller stores the value, asks "just to check", redraws the
ticks, or asks again with the reason it was refused.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from svbot.dialogue import answers as parse
from svbot.dialogue.answers import Choice, Invalid, Parsed
from svbot.dialogue.payloads import Action, Press
from svbot.dialogue.plan import Slot
from svbot.dialogue.run import Run
from svbot.text import text

MAX_TRIES = 3  # failed tries before "Stuck? Type help"


@dataclass(frozen=True, slots=True)
class Ticked:
    """A multi-choice option ticked or unticked: the selection so far, nothing stored yet."""

    selected: list[str]


def read_answer(run: Run, slot: Slot, typed: str | None, press: Press | None) -> Parsed | Ticked:
    """The answer's value (maybe with a "just to check" question), or the new ticks of a multi-choice.
    Raises Invalid, with the reason and an example, when it cannot be taken."""
    step = slot.step
    kind = step.type
    if kind == "choice":
        return _read_choice(run, slot, typed, press)
    if kind == "multi_choice":
        return _read_choices(run, slot, typed, press)
    if kind == "yes_no":
        if press is not None and press.action in (Action.YES, Action.NO):
            return Parsed(press.action == Action.YES)
        return parse.parse_yes_no(typed or "")
    if typed is None:
        raise Invalid(text("answers.type_it"), step.example)
    if kind in ("text", "long_text"):
        return parse.parse_text(typed, step.max_length)
    if kind in ("integer", "number"):
        return parse.parse_number(
            typed, integer=kind == "integer", minimum=step.min, maximum=step.max, soft_max=step.soft_max
        )
    if kind == "money":
        minimum = step.min if step.min is not None else 0
        return parse.parse_money(typed, minimum=minimum, maximum=step.max, soft_max=step.soft_max)
    if kind == "date":
        today = run.scope.today
        return parse.parse_date(typed, today, not_before=today if step.not_before else None)
    raise Invalid(text("answers.not_expected"))


def retry_reason(slot: Slot, problem: Invalid, attempts: int) -> str:
    """Why an answer was refused, with an example; after a few tries, a way out."""
    reason = problem.reason
    example = slot.step.example or problem.example
    if example:
        reason = text("answers.retry.example", reason=reason, example=example)
    if attempts >= MAX_TRIES:
        reason += "\n" + text("answers.retry.stuck_optional" if slot.step.optional else "answers.retry.stuck")
    return reason


def says_unknown(run: Run, slot: Slot, typed: str | None) -> bool:
    """Whether typed text at this question is "I don't know" ("dunno", "n/a", "not sure 🤷"), rather
    than an answer: "none" at a number question is 0, and at a choice with an option called "None"
    that option, unless the question has a "None yet" kind of option for it."""
    if typed is None or not parse.dont_know(typed):
        return False
    kind = slot.step.type
    try:
        if kind in ("integer", "number", "money"):
            parse.read_amount(typed)
            return False
        if kind in ("choice", "multi_choice") and unknown_option(run, slot) is None:
            parse.match_choice(typed, run.plan.choices(slot))
            return False
    except Invalid:
        pass
    return True


def unknown_option(run: Run, slot: Slot) -> Choice | None:
    """A choice question's "None yet" or "Not sure" option, which "I don't know" picks."""
    if slot.step.type not in ("choice", "multi_choice"):
        return None
    return parse.unknown_choice(run.plan.choices(slot))


def cannot_skip(slot: Slot, option: Choice | None, unknown: bool) -> str:
    """Why a question that is needed is asked again after "skip" or "I don't know": plainly, with
    the way on (a rough answer, its "None yet" option, or stop for now)."""
    if option is not None:
        return text("answers.unknown.choose_option", option=option.label)
    if not unknown:
        return text("dialogue.needed")
    if slot.step.type == "money":
        return text("answers.unknown.needed_money")
    if slot.step.type in ("integer", "number"):
        return text("answers.unknown.needed_number")
    return text("answers.unknown.needed")


def yes_or_no(text: str) -> bool | None:
    """Typed yes or no, or None if it is neither."""
    try:
        return bool(parse.parse_yes_no(text).value)
    except Invalid:
        return None


def _read_choice(run: Run, slot: Slot, typed: str | None, press: Press | None) -> Parsed:
    choices = run.plan.choices(slot)
    index = _option_pressed(press, Action.CHOOSE, len(choices))
    if index is not None:
        return Parsed(choices[index].value)
    if typed is None:
        raise Invalid(text("answers.option_gone"))
    return Parsed(parse.match_choice(typed, choices).value)


def _read_choices(run: Run, slot: Slot, typed: str | None, press: Press | None) -> Parsed | Ticked:
    choices = run.plan.choices(slot)
    selected: list[Any] = list(run.state.pending or [])
    index = _option_pressed(press, Action.TOGGLE, len(choices))
    if index is not None:
        value = choices[index].value
        selected = [v for v in selected if v != value] if value in selected else selected + [value]
        return Ticked([c.value for c in choices if c.value in selected])  # in the options' order
    if press is not None and press.action == Action.DONE:
        picked = [c.value for c in choices if c.value in selected]
    elif typed is not None:
        picked = [c.value for c in parse.match_choices(typed, choices)]
    else:
        raise Invalid(text("answers.option_gone"))
    step = slot.step
    need = step.min_choices if step.min_choices is not None else (0 if step.optional else 1)
    if len(picked) < need:
        raise Invalid(text("answers.choose_at_least", least=need), "1, 3")
    return Parsed(picked)


def _option_pressed(press: Press | None, action: Action, options: int) -> int | None:
    """The option `action` was pressed on, if it was and the option is still there."""
    if press is None or press.action != action or press.index is None or press.index >= options:
        return None
    return press.index
