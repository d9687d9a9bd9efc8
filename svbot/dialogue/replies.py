"""What the person said or pressed, taken by what the conversation is waiting for (its mode).

Command words and their buttons (status, restart, cancel) work in every mode; everything else
goes to the mode's handler: an answer to the question, yes or no to a check, the review list,
"carry on, or start again?".
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from svbot.dialogue import navigation, prompts
from svbot.dialogue.answers import Invalid
from svbot.dialogue.payloads import Action, Press
from svbot.dialogue.reading import Ticked, read_answer, retry_reason, yes_or_no
from svbot.dialogue.run import Run
from svbot.dialogue.state import Mode
from svbot.dialogue.words import ALL_CORRECT, CARRY_ON, CHANGE_ONE, COMMAND_WORDS, START_AGAIN, Command, simplify
from svbot.text import text


@dataclass(frozen=True, slots=True)
class Said:
    """Typed text (cleaned) or a pressed button, and the command it stands for, if any."""

    text: str | None = None
    press: Press | None = None
    command: Command | None = None

    @classmethod
    def typed(cls, text: str) -> Said:
        return cls(text, None, COMMAND_WORDS.get(simplify(text)))

    @classmethod
    def pressed(cls, press: Press) -> Said:
        return cls(None, press, _COMMAND_BUTTONS.get(press.action))

    @property
    def words(self) -> str:
        """The typed text, simplified for matching words ("" for a button)."""
        return simplify(self.text or "")

    def is_press(self, action: Action) -> bool:
        return self.press is not None and self.press.action == action


def reply(run: Run, said: Said) -> None:
    """Take what was said at the current point of the conversation."""
    mode = run.state.mode
    if said.command == Command.STATUS:
        _status(run)
    elif said.command == Command.RESTART and mode != Mode.CONFIRM_RESTART:
        navigation.ask_to_restart(run)
    elif said.command == Command.CANCEL:
        navigation.pause(run)
    else:
        _HANDLERS.get(mode, _on_answer)(run, said)


def _status(run: Run) -> None:
    where = prompts.status(run)
    if run.state.mode == Mode.PAUSED:
        run.say(text("dialogue.status.say_start", status=where))
    else:
        navigation.repeat(run, prefix=where)


# ---- a question -------------------------------------------------------------------------------


def _on_answer(run: Run, said: Said) -> None:
    state = run.state
    slot = run.current
    if slot is None:
        navigation.repeat(run)
        return
    if said.command == Command.BACK:
        navigation.go_back(run)
        return
    if said.command == Command.HELP:
        run.send(prompts.question(run, slot, prompts.help_text(run, slot), every_control=True))
        return
    if said.is_press(Action.KEEP) and slot.key in state.answers:
        navigation.move_on(run)
        return
    if said.command in (Command.SKIP, Command.UNKNOWN):
        if not slot.step.optional:
            run.send(prompts.question(run, slot, text("dialogue.needed")))
            return
        run.store_skip(slot)
        if said.command == Command.UNKNOWN:
            run.say(text("dialogue.unknown"))
        navigation.move_on(run)
        return
    try:
        answer = read_answer(run, slot, said.text, said.press)
    except Invalid as problem:
        state.attempts += 1
        run.send(prompts.question(run, slot, retry_reason(slot, problem, state.attempts), kind="error"))
        return
    if isinstance(answer, Ticked):  # the list is redrawn with its ticks; nothing stored until Done
        state.pending = answer.selected
        run.send(prompts.question(run, slot, redraw=True))
        return
    if answer.confirm:
        state.mode = Mode.CONFIRM
        state.pending = answer.value
        state.confirm_text = answer.confirm
        state.turn += 1
        run.send(prompts.confirmation(run, answer.confirm))
        return
    run.store(slot, answer.value)
    navigation.move_on(run)


def _on_confirm(run: Run, said: Said) -> None:
    """Yes or no to "just to check" or "last time you told me ...: still right?"."""
    state = run.state
    slot = run.current
    if slot is None:
        navigation.repeat(run)
        return
    if said.press is not None:
        answer = True if said.is_press(Action.YES) else False if said.is_press(Action.NO) else None
    else:
        answer = yes_or_no(said.text) if said.text else None
    if answer is True:
        run.store(slot, state.pending)
        navigation.move_on(run)
        return
    state.mode = Mode.ASK
    state.confirm_text = None
    if said.command is not None:  # back, skip, help or "I don't know": as at the question
        state.pending = None
        _on_answer(run, said)
    elif answer is False:
        state.pending = None
        run.send(prompts.question(run, slot, text("dialogue.not_that")))
    else:  # anything else is a fresh answer to the question ("no, 45")
        _on_answer(run, said)


# ---- the review list --------------------------------------------------------------------------


def _on_review(run: Run, said: Said) -> None:
    words = said.words
    if said.is_press(Action.REVIEW_OK) or words in ALL_CORRECT:
        run.state.back_to_review = False
        if run.current is not None:
            navigation.move_on(run)
        else:
            navigation.finish(run)
        return
    if said.command == Command.BACK:
        navigation.go_back(run)
        return
    if said.command == Command.HELP:
        run.send(prompts.review(run, text("dialogue.review.help")))
        return
    number = re.fullmatch(r"(?:change|edit|fix)?\s*(?:number|no\.?)?\s*(\d+)", words)  # typed words: input
    if number:
        _change(run, int(number.group(1)))
        return
    if said.is_press(Action.CHANGE) or words in CHANGE_ONE:
        run.state.mode = Mode.REVIEW_PICK
        run.say(text("dialogue.review.which"), kind="question")
        return
    run.send(prompts.review(run, text("dialogue.review.not_followed")))


def _on_review_pick(run: Run, said: Said) -> None:
    """After "change an answer": which one?"""
    words = said.words
    if words.isdigit():
        _change(run, int(words))
        return
    run.state.mode = Mode.REVIEW
    _on_review(run, said)


def _change(run: Run, number: int) -> None:
    """Go to answer `number` of the review list, and come back to the review after it."""
    answered = run.plan.answered()
    if not 1 <= number <= len(answered):
        run.state.mode = Mode.REVIEW
        run.send(prompts.review(run, text("dialogue.review.no_such", number=number, last=len(answered))))
        return
    run.state.back_to_review = True
    navigation.go_to(run, answered[number - 1])


# ---- after a pause ----------------------------------------------------------------------------


def _on_resume(run: Run, said: Said) -> None:
    """After "welcome back": carry on, or start again? Anything else answers the question."""
    words = said.words
    if said.is_press(Action.START_AGAIN) or words in START_AGAIN:
        navigation.restart(run)
        return
    if said.is_press(Action.CARRY_ON) or words in CARRY_ON:
        navigation.carry_on(run)
        return
    run.state.mode = run.state.resume_mode or Mode.ASK
    run.state.resume_mode = None
    reply(run, said)


def _on_confirm_restart(run: Run, said: Said) -> None:
    """Yes or no to "start again from the beginning?"."""
    if said.is_press(Action.YES) or said.command == Command.RESTART or (said.text and yes_or_no(said.text)):
        navigation.restart(run)
    else:
        navigation.carry_on(run, prefix=text("dialogue.restart.carrying_on"))


_HANDLERS = {
    Mode.CONFIRM: _on_confirm,
    Mode.REVIEW: _on_review,
    Mode.REVIEW_PICK: _on_review_pick,
    Mode.RESUME: _on_resume,
    Mode.CONFIRM_RESTART: _on_confirm_restart,
}  # every other mode: an answer to the question at the cursor
_COMMAND_BUTTONS = {
    Action.BACK: Command.BACK, Action.SKIP: Command.SKIP, Action.HELP: Command.HELP,
    Action.STATUS: Command.STATUS, Action.CANCEL: Command.CANCEL, Action.RESTART: Command.RESTART,
}  # fmt: skip
