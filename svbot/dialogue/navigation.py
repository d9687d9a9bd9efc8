"""Moving through a walk-through: to a question, on, back, to the end, round again, and the pauses
between (stop for now, welcome back, start again?)."""

from __future__ import annotations

from typing import Any

from svbot.dialogue import prompts
from svbot.dialogue.plan import Lost, Slot, is_question
from svbot.dialogue.run import Run
from svbot.dialogue.state import ANY_ITEM, Mode
from svbot.text import text

# Answers to these kinds are facts about the group (volunteers, people reached): worth offering
# again under another objective.
_SHARED_FACTS = ("integer", "number", "money", "choice", "multi_choice")


def go_to(run: Run, slot: Slot | None) -> None:
    """Move to a question and ask it; message steps are said and passed; the end finishes."""
    state = run.state
    while slot is not None and slot.step.type == "message":
        said = prompts.asked(run, slot)
        if said:
            run.say(said)
        state.cursor = slot.key
        slot = next_question(run)
    if slot is None:
        finish(run)
        return
    state.cursor = slot.key
    state.attempts = 0
    state.pending = None
    state.confirm_text = None
    state.turn += 1
    if slot.step.type == "review":
        state.mode = Mode.REVIEW
        state.back_to_review = False
        run.send(prompts.review(run))
        return
    suggestion = _suggestion(run, slot)
    if slot.key not in state.answers and suggestion is not None and slot.step.reuse:
        _offer(run, slot, suggestion)
        return
    state.mode = Mode.ASK
    if slot.step.type == "multi_choice":
        state.pending = list(state.answers.get(slot.key) or [])
    run.send(prompts.question(run, slot))


def next_question(run: Run) -> Slot | None:
    """Where to go from the cursor: the next question; when changing an answer from the review, the
    first question still unanswered, or else the review."""
    state = run.state
    answers, skipped = state.answers, state.skipped
    if state.back_to_review:
        for s in run.plan.all():
            if is_question(s.step) and s.key not in answers and s.key not in skipped:
                return s
        return next((s for s in run.plan.all() if s.step.type == "review"), None)
    if state.cursor is None:
        return run.plan.first()
    try:
        return run.plan.after(state.cursor)
    except Lost:  # the current question no longer applies: carry on from the first question left open
        # (a message, such as a framework's note, has no answer: it is not a gap)
        return next((s for s in run.plan.all()
                     if s.step.type != "message" and s.key not in answers and s.key not in skipped), None)  # fmt: skip


def move_on(run: Run) -> None:
    """On to the next question, with the answers as they now are."""
    run.forget()
    go_to(run, next_question(run))


def go_back(run: Run) -> None:
    """To the question before, or say there is none."""
    previous = run.previous
    if previous is None:
        repeat(run, prefix=text("dialogue.first_question"))
        return
    go_to(run, previous)


def finish(run: Run) -> None:
    """The walk-through is done: say so, and tell the caller (`Result.completed`)."""
    state = run.state
    state.mode = Mode.DONE
    state.cursor = None
    state.pending = None
    state.back_to_review = False
    run.completed = run.dialogue.id
    done = run.dialogue.done  # a file's own words (a template); "" says nothing
    said = text("dialogue.done") if done is None else run.scope.render(done)
    if said:
        run.say(said)


def repeat(run: Run, new_turn: bool = False, prefix: str = "") -> None:
    """Show the current question (or review, or check) again; `new_turn`: older buttons go stale."""
    state = run.state
    if new_turn:
        state.turn += 1
    if state.mode in (Mode.REVIEW, Mode.REVIEW_PICK):
        state.mode = Mode.REVIEW
        run.send(prompts.review(run, prefix))
        return
    slot = run.current
    if slot is None:
        run.forget()
        go_to(run, next_question(run) if state.cursor else run.plan.first())
        return
    if state.mode == Mode.CONFIRM and state.confirm_text:
        run.send(prompts.confirmation(run, state.confirm_text, prefix))
        return
    state.mode = Mode.ASK
    run.send(prompts.question(run, slot, prefix))


def pause(run: Run) -> None:
    """Stop for now; "start" picks up here again."""
    state = run.state
    if state.mode not in (Mode.PAUSED, Mode.RESUME):
        state.resume_mode = state.mode
    state.mode = Mode.PAUSED
    run.say(text("dialogue.paused"))


def ask_to_restart(run: Run, prefix: str = "") -> None:
    """Ask "start again from the beginning?": yes restarts, no carries on. Asked again (with
    `prefix`), its first Yes and No buttons still work."""
    state = run.state
    if state.mode != Mode.CONFIRM_RESTART:
        state.resume_mode = state.mode
        state.mode = Mode.CONFIRM_RESTART
        state.turn += 1
    run.send(prompts.confirmation(run, text("dialogue.restart.check"), prefix))


def welcome_back(run: Run) -> None:
    """After a long gap: carry on, or start again?"""
    state = run.state
    state.resume_mode = state.mode
    state.mode = Mode.RESUME
    state.turn += 1
    run.send(prompts.welcome_back(run))


def carry_on(run: Run, prefix: str = "") -> None:
    """Back to what was under way before the pause, and ask it again."""
    state = run.state
    state.mode = state.resume_mode or Mode.ASK
    state.resume_mode = None
    repeat(run, new_turn=True, prefix=prefix)


def restart(run: Run) -> None:
    """Clear this walk-through's answers (offered back as suggestions) and ask the first question."""
    state = run.state
    kept = {k: {"value": v} for k, v in state.answers.items() if v is not None}
    for key in [k for k in kept if "." in k]:  # a fact about one objective, offered for another too
        kept.setdefault(ANY_ITEM + key.rsplit(".", 1)[1], kept[key])
    changed = list(state.answers)
    state.answers = {}
    state.skipped = []
    state.suggestions = {**state.suggestions, **kept}  # this time's answers over older ones
    state.back_to_review = False
    state.resume_mode = None
    run.answers_changed(*changed)
    run.say(text("dialogue.restart.starting"))
    go_to(run, run.plan.first())


def _suggestion(run: Run, slot: Slot) -> dict[str, Any] | None:
    """What they said before to this very question, or (for facts such as numbers) to the same
    question about another objective: "You said 42 volunteers: still right?"."""
    suggestions = run.state.suggestions
    exact = suggestions.get(slot.key)
    if exact is not None or not slot.prefix or slot.step.type not in _SHARED_FACTS:
        return exact
    return suggestions.get(ANY_ITEM + slot.step.id)


def _offer(run: Run, slot: Slot, suggestion: dict[str, Any]) -> None:
    """Offer an answer from the evidence bank: "Last time you told me ...: is that still right?"."""
    state = run.state
    state.mode = Mode.CONFIRM
    state.pending = suggestion.get("value")
    answer, when = prompts.display(run, slot, suggestion.get("value")), suggestion.get("when")
    if when:
        offer = text("dialogue.offer.when", answer=answer, when=when)
    else:
        offer = text("dialogue.offer.plain", answer=answer)
    state.confirm_text = f"{prompts.asked(run, slot)}\n\n{offer}"
    run.send(prompts.confirmation(run, state.confirm_text))
