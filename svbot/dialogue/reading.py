"""Reading an answer to a question: typed text or a pressed button, checked by the question's type.

Nothing here changes the state: the caller stores the value, asks "just to check", redraws the
ticks, or asks again with the reason it was refused.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from svbot.dialogue import answers as parse
from svbot.dialogue.answers import Invalid, Parsed
from svbot.dialogue.payloads import Action, Press
from svbot.dialogue.plan import Slot
from svbot.dialogue.run import Run

MAX_TRIES = 3  # failed tries before "Stuck? Type help"


@dataclass(frozen=True, slots=True)
class Ticked:
    """A multi-choice option ticked or unticked: the selection so far, nothing stored yet."""

    selected: list[str]


def read_answer(run: Run, slot: Slot, text: str | None, press: Press | None) -> Parsed | Ticked:
    """The answer's value (maybe with a "just to check" question), or the new ticks of a multi-choice.
    Raises Invalid, with the reason and an example, when it cannot be taken."""
    step = slot.step
    kind = step.type
    if kind == "choice":
        return _read_choice(run, slot, text, press)
    if kind == "multi_choice":
        return _read_choices(run, slot, text, press)
    if kind == "yes_no":
        if press is not None and press.action in (Action.YES, Action.NO):
            return Parsed(press.action == Action.YES)
        return parse.parse_yes_no(text or "")
    if text is None:
        raise Invalid("Please type your answer.", step.example)
    if kind in ("text", "long_text"):
        return parse.parse_text(text, step.max_length)
    if kind in ("integer", "number"):
        return parse.parse_number(
            text, integer=kind == "integer", minimum=step.min, maximum=step.max, soft_max=step.soft_max
        )
    if kind == "money":
        minimum = step.min if step.min is not None else 0
        return parse.parse_money(text, minimum=minimum, maximum=step.max, soft_max=step.soft_max)
    if kind == "date":
        today = run.scope.today
        return parse.parse_date(text, today, not_before=today if step.not_before else None)
    raise Invalid("I wasn't expecting an answer here.")


def retry_reason(slot: Slot, problem: Invalid, attempts: int) -> str:
    """Why an answer was refused, with an example; after a few tries, a way out."""
    reason = problem.reason
    example = slot.step.example or problem.example
    if example:
        reason += f" For example: {example}."
    if attempts >= MAX_TRIES:
        way_out = ", or skip to leave it for now" if slot.step.optional else ""
        reason += f"\nStuck? Type help for tips{way_out}."
    return reason


def yes_or_no(text: str) -> bool | None:
    """Typed yes or no, or None if it is neither."""
    try:
        return bool(parse.parse_yes_no(text).value)
    except Invalid:
        return None


def _read_choice(run: Run, slot: Slot, text: str | None, press: Press | None) -> Parsed:
    choices = run.plan.choices(slot)
    index = _option_pressed(press, Action.CHOOSE, len(choices))
    if index is not None:
        return Parsed(choices[index].value)
    if text is None:
        raise Invalid("That option isn't available any more.")
    return Parsed(parse.match_choice(text, choices).value)


def _read_choices(run: Run, slot: Slot, text: str | None, press: Press | None) -> Parsed | Ticked:
    choices = run.plan.choices(slot)
    selected: list[Any] = list(run.state.pending or [])
    index = _option_pressed(press, Action.TOGGLE, len(choices))
    if index is not None:
        value = choices[index].value
        selected = [v for v in selected if v != value] if value in selected else selected + [value]
        return Ticked([c.value for c in choices if c.value in selected])  # in the options' order
    if press is not None and press.action == Action.DONE:
        picked = [c.value for c in choices if c.value in selected]
    elif text is not None:
        picked = [c.value for c in parse.match_choices(text, choices)]
    else:
        raise Invalid("That option isn't available any more.")
    step = slot.step
    need = step.min_choices if step.min_choices is not None else (0 if step.optional else 1)
    if len(picked) < need:
        raise Invalid(f"Please choose at least {need}.", "1, 3")
    return Parsed(picked)


def _option_pressed(press: Press | None, action: Action, options: int) -> int | None:
    """The option `action` was pressed on, if it was and the option is still there."""
    if press is None or press.action != action or press.index is None or press.index >= options:
        return None
    return press.index
