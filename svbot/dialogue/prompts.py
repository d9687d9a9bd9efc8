"""How the engine's messages look: a question with its buttons and controls, a yes/no check, the
review list, "where am I?", help, and answers shown back. Nothing here changes the state."""

from __future__ import annotations

from datetime import date
from typing import Any, Literal

from svbot.dialogue import answers as parse
from svbot.dialogue.payloads import Action, encode
from svbot.dialogue.plan import Slot, field_of, is_question
from svbot.dialogue.run import Run
from svbot.dialogue.state import Mode
from svbot.messages import Button, InputHint, Outbound
from svbot.text import date_values, text


def question(
    run: Run,
    slot: Slot,
    prefix: str = "",
    kind: Literal["question", "error"] = "question",
    redraw: bool = False,
    every_control: bool = False,
) -> Outbound:
    """A question: its choices as buttons, and controls (keep, back, skip, help). `redraw`: in place
    of the last message (a multi-choice tick); `every_control`: after help, stop and restart too."""
    step, state = slot.step, run.state
    said = asked(run, slot)
    buttons: list[Button] = []
    controls: list[Button] = []
    if step.type == "choice":
        buttons = [_button(run, c.label, Action.CHOOSE, i) for i, c in enumerate(run.plan.choices(slot))]
    elif step.type == "multi_choice":
        chosen = set(state.pending or [])
        buttons = [
            _button(run, c.label, Action.TOGGLE, i, selected=c.value in chosen)
            for i, c in enumerate(run.plan.choices(slot))
        ]
        controls.append(_button(run, text("dialogue.button.done"), Action.DONE, style="primary"))
        said += "\n" + text("dialogue.question.multi_choice")
    elif step.type == "yes_no":
        buttons = [_button(run, text("dialogue.button.answer_yes"), Action.YES),
                   _button(run, text("dialogue.button.answer_no"), Action.NO)]  # fmt: skip
    if slot.key in state.answers and step.type != "multi_choice":
        said += "\n" + text("dialogue.question.answer_now", answer=display(run, slot, state.answers[slot.key]))
        controls.append(_button(run, text("dialogue.button.keep"), Action.KEEP))
    if run.previous is not None:
        controls.append(_button(run, text("dialogue.button.back"), Action.BACK))
    if step.optional:
        controls.append(_button(run, text("dialogue.button.skip"), Action.SKIP))
    if every_control:
        controls += [_button(run, text("dialogue.button.status"), Action.STATUS),
                     _button(run, text("dialogue.button.cancel"), Action.CANCEL),
                     _button(run, text("dialogue.button.start_again"), Action.RESTART)]  # fmt: skip
    else:
        controls.append(_button(run, text("dialogue.button.help"), Action.HELP))
    return Outbound(
        text=_join(prefix, said),
        buttons=tuple(buttons),
        multi_select=step.type == "multi_choice",
        controls=tuple(controls),
        input_hint=_INPUT_HINTS.get(step.type or "", "text"),
        replace_previous=redraw,
        kind=kind,
        meta={"key": slot.key},
    )


def confirmation(run: Run, asking: str, prefix: str = "") -> Outbound:
    """A yes/no check. `meta` names the question it is about, if any, for adapters and tests."""
    state = run.state
    about = {"key": state.cursor, "confirm": "yes"} if state.mode == Mode.CONFIRM and state.cursor else {}
    return Outbound(
        text=_join(prefix, asking),
        buttons=(
            _button(run, text("dialogue.button.answer_yes"), Action.YES, style="primary"),
            _button(run, text("dialogue.button.answer_no"), Action.NO),
        ),
        input_hint="yes_no",
        kind="question",
        meta=about,
    )


def check_again(run: Run, typed: str | None) -> Outbound:
    """A yes/no check asked again after a reply that was neither yes nor no nor a new answer (a stray
    "1"): what yes keeps, how to give another answer, and the same Yes and No buttons."""
    state = run.state
    slot = run.current
    keep = display(run, slot, state.pending) if slot is not None else ""
    prefix = text("dialogue.check.again", answer=keep)
    if typed and typed.strip():
        prefix += " " + text("dialogue.check.instead", typed=_shorten(typed, 40))
    return confirmation(run, state.confirm_text or "", prefix)


def review(run: Run, prefix: str = "") -> Outbound:
    """The answers so far, numbered 1..N, with "all correct?". Its commands are words and unnumbered
    buttons (controls: a console numbers choices), so a number always means an answer. Answers about
    one item (an objective) sit under its name, said once rather than on every line of a phone."""
    answers, skipped = run.state.answers, run.state.skipped
    lines: list[str] = []
    group: str | None = None
    for number, s in enumerate(run.plan.answered(), start=1):
        item = _item_label(s)
        if item != group:
            if lines:
                lines.append("")
            if item:
                lines.append(text("dialogue.review.group", group=item))
            group = item
        answer = _shorten(display(run, s, answers.get(s.key), s.key in skipped), REVIEW_ANSWER_LENGTH)
        lines.append(text("dialogue.review.line", number=number, question=label(run, s, item=False), answer=answer))
    slot = run.current
    heading = asked(run, slot) if slot and slot.step.ask else text("dialogue.review.heading")
    said = heading + "\n\n" + "\n".join(lines) + "\n\n" + text("dialogue.review.check")
    return Outbound(
        text=_join(prefix, said),
        controls=(
            _button(run, text("dialogue.button.all_correct"), Action.REVIEW_OK, style="primary"),
            _button(run, text("dialogue.button.change"), Action.CHANGE),
            _button(run, text("dialogue.button.back"), Action.BACK),
        ),
        kind="question",
    )


def welcome_back(run: Run) -> Outbound:
    """After a long gap: carry on, or start again?"""
    slot = run.current
    said = text("dialogue.welcome_back.at", question=label(run, slot)) if slot else text("dialogue.welcome_back.plain")
    return Outbound(
        text=said,
        buttons=(
            _button(run, text("dialogue.button.carry_on"), Action.CARRY_ON, style="primary"),
            _button(run, text("dialogue.button.start_again"), Action.START_AGAIN),
        ),
        kind="question",
    )


def status(run: Run) -> str:
    """Where they are: which question of how many, and how many answered."""
    state = run.state
    questions = [s for s in run.plan.all() if is_question(s.step)]
    done = sum(1 for s in questions if s.key in state.answers)
    skipped = sum(1 for s in questions if s.key in state.skipped)
    slot = run.current
    position = next((i for i, s in enumerate(questions, start=1) if slot and s.key == slot.key), None)
    if position:
        where = text("dialogue.status.question", number=position, total=len(questions))
    else:
        where = text("dialogue.status.review")
    if state.mode == Mode.PAUSED:
        where = text("dialogue.status.paused", where=where)
    title = run.dialogue.title
    if skipped:
        return text("dialogue.status.summary_skipped", where=where, title=title, answered=done, skipped=skipped)
    return text("dialogue.status.summary", where=where, title=title, answered=done)


def help_text(run: Run, slot: Slot) -> str:
    """The step's help, or else what each option means, or else a word of encouragement."""
    parts = []
    if slot.step.help:
        parts.append(run.scope.render(slot.step.help, slot.prefix, slot.item))
    if not parts and slot.step.type in ("choice", "multi_choice"):
        for value, obj in run.plan.options(slot.step, slot.prefix, slot.item):
            explanation = field_of(obj, "help", "explanation")
            if explanation:
                option = field_of(obj, "label", "title") or value
                parts.append(text("dialogue.help.option", option=option, explanation=explanation))
    if not parts:
        parts.append(text("dialogue.help.default"))
    if slot.step.optional:
        parts.append(text("dialogue.help.optional"))
    return "\n".join(parts)


def asked(run: Run, slot: Slot) -> str:
    """The question's text."""
    return run.scope.render(slot.step.ask or "", slot.prefix, slot.item)


def label(run: Run, slot: Slot | None, item: bool = True) -> str:
    """A question's short name, for the review list and "welcome back"; `item`: led by the name of
    the item it is about ("Older people: How many took part?")."""
    if slot is None:
        return ""
    base = slot.step.label or _shorten(run.scope.render(slot.step.ask or slot.step.id, slot.prefix, slot.item), 60)
    item_label = _item_label(slot) if item else None
    return f"{item_label}: {base}" if item_label else base


def _item_label(slot: Slot) -> str | None:
    """The name of the item (an objective, a group of people) a question is about, if any."""
    name = field_of(slot.item, "label", "title") if slot.item is not None else None
    return str(name) if name else None


def display(run: Run, slot: Slot, value: Any, skipped: bool = False) -> str:
    """An answer as the person would say it: labels for options, "Yes", "£1,200", "Fri 31 Jan 2027"."""
    if skipped or value is None:
        return text("dialogue.answer.skipped")
    kind = slot.step.type
    if kind in ("choice", "multi_choice"):
        labels = {c.value: c.label for c in run.plan.choices(slot)}
        values = value if isinstance(value, list) else [value]
        return ", ".join(labels.get(v, str(v)) for v in values) or text("dialogue.answer.none_chosen")
    if kind == "yes_no":
        return text("dialogue.answer.said_yes") if value else text("dialogue.answer.said_no")
    if kind in ("integer", "number", "money"):  # with the word it was given with: "about 60", "over £500"
        value, qualifier = run.answer_and_qualifier(slot, value)
        if kind == "money":
            shown = parse.format_money(float(value))
        else:
            shown = f"{value:,}" if isinstance(value, int | float) else str(value)
        return parse.with_qualifier(shown, qualifier)
    if kind == "date":
        try:
            return text("dates.day", **date_values(date.fromisoformat(value)))
        except (TypeError, ValueError):
            return str(value)
    return _shorten(str(value), 100)


REVIEW_ANSWER_LENGTH = 60  # characters of an answer in the review list: a line or two on a phone
Style = Literal["default", "primary", "danger"]
_INPUT_HINTS: dict[str, InputHint] = {
    "long_text": "long_text", "date": "date", "integer": "number", "number": "number", "money": "number",
    "choice": "choice", "multi_choice": "multi_choice", "yes_no": "yes_no",
}  # fmt: skip


def _button(
    run: Run, label: str, action: Action, index: int | None = None, *, selected: bool = False, style: Style = "default"
) -> Button:
    """A button for the question now asked: its payload carries the turn."""
    return Button(label, encode(run.state.turn, action, index), selected, style)


def _join(prefix: str, text: str) -> str:
    return f"{prefix}\n\n{text}" if prefix else text


def _shorten(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rsplit(" ", 1)[0] + "…"
