"""The dialogue engine: a pure step function.

(state, what the person said, dialogues, context, now) -> (new state, messages to send).
No database, clock or platform in here: the caller loads and stores the state, passes the time,
and sends the messages. That keeps every conversation rule testable on its own and lets each
turn be committed in one transaction around it.

The engine's parts, each in its module: `plan` (which questions, in which order), `scope` (what
templates see), `navigation` (moving between questions), `replies` (what was said, by mode),
`reading` (an answer, by question type), `prompts` (how messages look), `payloads` (the buttons'
values) and `words` (the command words).

What it says comes from svbot/texts (`dialogue.*`, `answers.*`) in the turn's language: the Bot sets
the current locale (svbot.text.speaking) before the engine runs, and the dialogues dict picks
dialogues/<locale>/<id>.yaml by it, so nothing here passes a locale around.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from svbot.dialogue import navigation, payloads
from svbot.dialogue.answers import clean
from svbot.dialogue.replies import Said, reply
from svbot.dialogue.run import Run
from svbot.dialogue.spec import Dialogue
from svbot.dialogue.state import ConvState, Mode
from svbot.messages import Outbound
from svbot.text import text

DEFAULT_IDLE = timedelta(hours=24)
# After this long away, typing in the middle of a walk-through gets "welcome back" first.
_WAITING = frozenset({Mode.ASK, Mode.CONFIRM, Mode.REVIEW, Mode.REVIEW_PICK})


@dataclass(slots=True)
class Result:
    state: ConvState
    messages: list[Outbound] = field(default_factory=list)
    completed: str | None = None  # the dialogue id, when this turn finished it
    changed: set[str] = field(default_factory=set)  # answer keys set or cleared this turn


class Engine:
    def __init__(self, dialogues: dict[str, Dialogue], idle_after: timedelta = DEFAULT_IDLE) -> None:
        self.dialogues = dialogues
        self.idle_after = idle_after

    def begin(
        self,
        dialogue_id: str,
        context: dict[str, Any],
        now: datetime,
        *,
        answers: dict[str, Any] | None = None,
        suggestions: dict[str, Any] | None = None,
        skipped: list[str] | None = None,
        intro: str | None = None,
        turn: int = 0,
        only_missing: bool = False,
    ) -> Result:
        """Start a dialogue. `answers` are kept (a resumed or prefilled run); `suggestions` are offered.
        With `only_missing`, only the questions the answers leave open are asked, then the review: a
        second statement for another bid asks just what its new objectives need."""
        state = ConvState(
            dialogue=dialogue_id,
            mode=Mode.ASK,
            answers=dict(answers or {}),
            skipped=list(skipped or []),
            suggestions=dict(suggestions or {}),
            last_active=now,
            turn=turn,
        )
        run = Run(self.dialogues, state, context, now)
        if only_missing:
            state.back_to_review = True  # from each answer to the next open question, then the review
            navigation.go_to(run, navigation.next_question(run))
        else:
            navigation.go_to(run, run.plan.first())
        if intro:
            _lead_with(run.messages, intro)
        return _result(run)

    def advance(
        self,
        state: ConvState,
        context: dict[str, Any],
        now: datetime,
        *,
        text: str | None = None,
        payload: str | None = None,
    ) -> Result:
        """Handle one thing the person said or pressed, in an ongoing dialogue."""
        run = Run(self.dialogues, _copy(state), context, now)
        if payload:
            press = payloads.decode(payload)
            if press is None or press.turn != state.turn:
                navigation.repeat(run, prefix=_not_now(press))
            else:
                reply(run, Said.pressed(press))
        elif state.mode in _WAITING and state.last_active and now - state.last_active > self.idle_after:
            navigation.welcome_back(run)
        else:
            reply(run, Said.typed(clean(text or "")))
        run.state.last_active = now
        return _result(run)

    def resume(self, state: ConvState, context: dict[str, Any], now: datetime) -> Result:
        """Ask the current question again (after "cancel", or to pick up where they were)."""
        state = _copy(state)
        state.last_active = now
        if state.mode in (Mode.PAUSED, Mode.RESUME, Mode.CONFIRM_RESTART, Mode.IDLE):
            state.mode = state.resume_mode if state.mode == Mode.RESUME and state.resume_mode else Mode.ASK
        run = Run(self.dialogues, state, context, now)
        navigation.repeat(run, new_turn=True)
        return _result(run)


def _result(run: Run) -> Result:
    return Result(run.state, run.messages, run.completed, run.changed)


def _copy(state: ConvState) -> ConvState:
    """A copy the turn may change, leaving the caller's state as it was. The engine replaces answer
    values rather than changing them in place, so copying the containers is enough (and cheap)."""
    return state.model_copy(
        update={
            "answers": dict(state.answers),
            "skipped": list(state.skipped),
            "suggestions": dict(state.suggestions),
            "pending": list(state.pending) if isinstance(state.pending, list) else state.pending,
        }
    )


def _not_now(press: payloads.Press | None) -> str:
    """Why a button is not taken: svbot never made it, or it is from an earlier question."""
    return text("dialogue.stale_button.unknown") if press is None else text("dialogue.stale_button.earlier")


def _lead_with(messages: list[Outbound], greeting: str) -> None:
    """Put a greeting at the top of the first message: one notification on their phone, not two."""
    first = messages[0] if messages else None
    if first is None or first.markdown or first.file is not None or first.replace_previous:
        messages.insert(0, Outbound(text=greeting))
    else:
        messages[0] = replace(first, text=f"{greeting}\n\n{first.text}")
