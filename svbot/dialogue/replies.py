"""What the person said or pressed, taken by what the conversation is waiting for (its mode).

Command words and their buttons (status, restart, cancel) work in every mode; everything else
goes to the mode's handler: an answer to the question, yes or no to a check, the review list,
"carry on, or start again?".
"""

from __future__ import annotations

from dataclasses import dataclass

from svbot.dialogue import navigation, prompts
from svbot.dialogue.answers import Invalid
from svbot.dialogue.payloads import Action, Press
from svbot.dialogue.plan import Slot
from svbot.dialogue.reading import (
    Ticked,
    cannot_skip,
    read_answer,
    retry_reason,
    says_unknown,
    unknown_option,
    yes_or_no,
)
from svbot.dialogue.run import Run
from svbot.dialogue.state import Mode
from svbot.dialogue.words import (
    ALL_CORRECT,
    CARRY_ON,
    CHANGE_NUMBER,
    CHANGE_ONE,
    COMMAND_WORDS,
    JUST_NO,
    KEEP_IT,
    NO_AND,
    NO_THEN_ANSWER,
    POLITE,
    START_AGAIN,
    STRAY_NUMBER,
    YES_AND,
    Command,
    simplify,
)
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
    unknown = said.command == Command.UNKNOWN or says_unknown(run, slot, said.text)
    if unknown or said.command == Command.SKIP:
        _no_answer(run, slot, unknown)
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
        state.pending = run.hold(answer.value, answer.qualifier)
        state.confirm_text = answer.confirm
        state.turn += 1
        run.send(prompts.confirmation(run, answer.confirm))
        return
    if _replaces_with_a_stray_number(run, slot, said, answer.value):
        old = prompts.display(run, slot, state.answers[slot.key])
        new = prompts.display(run, slot, answer.value)
        state.mode = Mode.CONFIRM
        state.pending = run.hold(answer.value, answer.qualifier)
        state.confirm_text = text("dialogue.replace", old=old, new=new)
        state.turn += 1
        run.send(prompts.confirmation(run, state.confirm_text))
        return
    run.store(slot, answer.value, answer.qualifier)
    navigation.move_on(run)


def _replaces_with_a_stray_number(run: Run, slot: Slot, said: Said, value: object) -> bool:
    """A bare number typed at a written answer that already has one ("change 1", then "17" as if the
    review were still there): asked about, never put in its place without asking."""
    old = run.state.answers.get(slot.key)
    return (
        slot.step.type in ("text", "long_text")
        and said.text is not None
        and old is not None
        and old != value
        and STRAY_NUMBER.fullmatch(said.words) is not None
    )


def _no_answer(run: Run, slot: Slot, unknown: bool) -> None:
    """ "Skip", or "I don't know": its "None yet" option where the question has one, a skip where it
    may be left out, and otherwise the question again with how to move on."""
    option = unknown_option(run, slot)
    if unknown and option is not None:
        run.store(slot, [option.value] if slot.step.type == "multi_choice" else option.value)
        run.say(text("answers.unknown.picked", option=option.label))
        navigation.move_on(run)
    elif slot.step.optional:
        run.store_skip(slot)
        if unknown:
            run.say(text("dialogue.unknown"))
        navigation.move_on(run)
    else:
        run.send(prompts.question(run, slot, cannot_skip(slot, option, unknown)))


def _on_confirm(run: Run, said: Said) -> None:
    """Yes or no to "just to check" or "last time you told me ...: still right?".

    An answer is never replaced without asking: "no, 45" gives a new answer, and so does a reply of
    a few words ("45 people", "Supper Club"); one word that is neither yes nor no (a stray "1", typed
    to press a numbered button) gets the check again, with its choices."""
    state = run.state
    slot = run.current
    if slot is None:
        navigation.repeat(run)
        return
    answer = _yes_no_or_instead(said)
    if answer is True:
        run.store(slot, *run.held(slot))
        navigation.move_on(run)
        return
    if said.command is None and answer is None and (said.press is not None or _unclear(said.words)):
        run.send(prompts.check_again(run, said.text if said.press is None else None))
        return
    state.mode = Mode.ASK
    state.confirm_text = None
    if said.command is not None:  # back, skip, help or "I don't know": as at the question
        state.pending = None
        _on_answer(run, said)
    elif answer is False:
        state.pending = None
        run.send(prompts.question(run, slot, text("dialogue.not_that")))
    elif isinstance(answer, str):  # "no, 45": the answer after the no
        state.pending = None
        _on_answer(run, Said.typed(answer))
    else:  # a fresh answer to the question, in a few words ("45 people")
        _on_answer(run, said)


def _yes_no_or_instead(said: Said) -> bool | str | None:
    """Yes (keep it), no, the answer wanted instead ("no, 45" -> "45"), or None: neither."""
    if said.press is not None:
        return True if said.is_press(Action.YES) else False if said.is_press(Action.NO) else None
    if not said.text:
        return None
    words = said.words
    yes_and = YES_AND.fullmatch(words)
    if words in KEEP_IT or (yes_and and yes_and.group("rest") in POLITE):
        return True
    plain = yes_or_no(said.text)
    if plain is not None:
        return plain
    after_no = NO_AND.fullmatch(words)
    if after_no and (not after_no.group("rest") or after_no.group("rest") in JUST_NO):
        return False
    instead = NO_THEN_ANSWER.fullmatch(said.text.strip())
    return instead.group("answer").strip() if instead else None


def _unclear(words: str) -> bool:
    """At a check, too little to replace an answer: one word or number that is neither yes nor no, or
    words that belong elsewhere ("all correct" or "change 3", as if the review were still there)."""
    return (
        " " not in words
        or words in ALL_CORRECT
        or words in CHANGE_ONE
        or words in CARRY_ON
        or CHANGE_NUMBER.fullmatch(words) is not None
    )


# ---- the review list --------------------------------------------------------------------------


def _on_review(run: Run, said: Said) -> None:
    """The review list: "all correct" (a word and a button, never a number), or the number of an
    answer to change ("3", "change 3")."""
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
    number = CHANGE_NUMBER.fullmatch(words)
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
    """Yes or no to "start again from the beginning?"; anything else gets the question again."""
    answer = _yes_no_or_instead(said)
    if answer is True or said.command == Command.RESTART:
        navigation.restart(run)
    elif answer is False or said.command == Command.BACK:
        navigation.carry_on(run, prefix=text("dialogue.restart.carrying_on"))
    else:
        navigation.ask_to_restart(run, prefix=text("dialogue.check.yes_or_no"))


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
