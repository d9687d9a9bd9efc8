"""One turn of one conversation, as the engine works on it: the state (changed in place), the plan
and template scope over it, and what the turn says and changes."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from svbot.dialogue.plan import Plan, Slot
from svbot.dialogue.scope import Scope
from svbot.dialogue.spec import Dialogue
from svbot.dialogue.state import ConvState, Mode
from svbot.messages import Outbound


class Run:
    __slots__ = ("state", "dialogue", "scope", "plan", "messages", "changed", "completed")

    def __init__(
        self, dialogues: dict[str, Dialogue], state: ConvState, context: dict[str, Any], now: datetime
    ) -> None:
        if state.dialogue not in dialogues:
            raise KeyError(f"unknown dialogue {state.dialogue!r}")
        self.state = state
        self.dialogue = dialogues[state.dialogue]
        self.scope = Scope(self.dialogue, state, context, now.date())
        self.plan = Plan(dialogues, self.dialogue, state, self.scope)
        self.messages: list[Outbound] = []
        self.changed: set[str] = set()  # answer keys set or cleared
        self.completed: str | None = None  # the dialogue id, when this turn finished it

    @property
    def current(self) -> Slot | None:
        """The question at the cursor."""
        return self.plan.find(self.state.cursor)

    @property
    def previous(self) -> Slot | None:
        """The question before the one at the cursor, if there is one: where "back" goes."""
        return self.plan.before(self.state.cursor) if self.state.cursor is not None else None

    def say(self, text: str, **kwargs: Any) -> None:
        self.messages.append(Outbound(text=text, **kwargs))

    def send(self, message: Outbound) -> None:
        self.messages.append(message)

    def store(self, slot: Slot, value: Any) -> None:
        """Keep an answer and go back to asking."""
        state = self.state
        state.answers[slot.key] = value
        if slot.key in state.skipped:
            state.skipped.remove(slot.key)
        state.suggestions.pop(slot.key, None)
        state.pending = None
        state.confirm_text = None
        state.mode = Mode.ASK
        self.answers_changed(slot.key)

    def store_skip(self, slot: Slot) -> None:
        """Note a question as skipped (or "I don't know"), dropping any answer it had."""
        state = self.state
        state.answers.pop(slot.key, None)
        if slot.key not in state.skipped:
            state.skipped.append(slot.key)
        state.suggestions.pop(slot.key, None)
        self.answers_changed(slot.key)

    def answers_changed(self, *keys: str) -> None:
        """Answers were set or cleared: they are saved with the turn, and plan and scope are redone."""
        self.changed.update(keys)
        self.forget()

    def forget(self) -> None:
        """Work the plan and the template names out afresh when next needed."""
        self.scope.forget()
        self.plan.forget()
