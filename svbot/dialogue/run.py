"""One turn of one conversation, as the engine works on it: the state (changed in place), the plan
and template scope over it, and what the turn says and changes."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from svbot.dialogue.answers import QUALIFIER, qualifier_key
from svbot.dialogue.plan import Plan, Slot
from svbot.dialogue.scope import Scope
from svbot.dialogue.spec import Dialogue
from svbot.dialogue.state import ANY_ITEM, ConvState, Mode
from svbot.messages import Outbound

_NUMBERS = ("integer", "number", "money")  # the answers a qualifier can be kept with
_HELD = "~answer"  # in `state.pending`: an answer awaiting "just to check", with QUALIFIER beside it


class Run:
    __slots__ = ("state", "dialogue", "scope", "plan", "messages", "changed", "completed", "_found")

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
        # The current and previous questions, by cursor, until the answers change: a turn asks for
        # them several times (reading the answer, the buttons, the Back control).
        self._found: dict[tuple[bool, str | None], Slot | None] = {}

    @property
    def current(self) -> Slot | None:
        """The question at the cursor."""
        cursor = self.state.cursor
        key = (False, cursor)
        if key not in self._found:
            self._found[key] = self.plan.find(cursor)
        return self._found[key]

    @property
    def previous(self) -> Slot | None:
        """The question before the one at the cursor, if there is one: where "back" goes."""
        cursor = self.state.cursor
        if cursor is None:
            return None
        key = (True, cursor)
        if key not in self._found:
            self._found[key] = self.plan.before(cursor)
        return self._found[key]

    def say(self, text: str, **kwargs: Any) -> None:
        self.messages.append(Outbound(text=text, **kwargs))

    def send(self, message: Outbound) -> None:
        self.messages.append(message)

    def store(self, slot: Slot, value: Any, qualifier: str | None = None) -> None:
        """Keep an answer and go back to asking. `qualifier`: the word given with a number ("about"
        in "about 60"), kept beside it under `qualifier_key(slot.key)`; without one, any earlier one goes."""
        state = self.state
        state.answers[slot.key] = value
        if slot.key in state.skipped:
            state.skipped.remove(slot.key)
        state.suggestions.pop(slot.key, None)
        state.pending = None
        state.confirm_text = None
        state.mode = Mode.ASK
        self.answers_changed(slot.key, *self._qualify(slot, qualifier))

    def store_skip(self, slot: Slot) -> None:
        """Note a question as skipped (or "I don't know"), dropping any answer it had."""
        state = self.state
        state.answers.pop(slot.key, None)
        if slot.key not in state.skipped:
            state.skipped.append(slot.key)
        state.suggestions.pop(slot.key, None)
        self.answers_changed(slot.key, *self._qualify(slot, None))

    def _qualify(self, slot: Slot, qualifier: str | None) -> list[str]:
        """Set or clear the word kept with the answer at `slot`. Returns the sibling key to save with
        the turn: always for a number question, so the evidence bank forgets an "about" that no
        longer holds (cleared, it is saved as None), and whenever one is set or cleared."""
        sibling = qualifier_key(slot.key)
        answers = self.state.answers
        self.state.suggestions.pop(sibling, None)
        had = answers.pop(sibling, None)
        if qualifier:
            answers[sibling] = qualifier
        return [sibling] if had is not None or qualifier or slot.step.type in _NUMBERS else []

    def hold(self, value: Any, qualifier: str | None) -> Any:
        """What `state.pending` keeps while "just to check" is asked about an answer just typed: the
        value and its qualifier, so a "yes" stores both (see `held`)."""
        return {_HELD: value, QUALIFIER: qualifier}

    def held(self, slot: Slot) -> tuple[Any, str | None]:
        """The value (and its qualifier) a "yes" to a check keeps: an answer just typed (`hold`), or
        one offered back from the evidence bank, which brings the qualifier it was given with."""
        return self.answer_and_qualifier(slot, self.state.pending)

    def answer_and_qualifier(self, slot: Slot, value: Any) -> tuple[Any, str | None]:
        """A value at this question, as `prompts.display` shows it, and the word kept with it: its
        own if it is held for a check (`hold`); the answer's, if it is the answer; or, for an answer
        offered back from the evidence bank ("Last time you told me: about 60"), the one it was
        given with there. A qualifier never sticks to a different number."""
        if isinstance(value, dict) and _HELD in value:
            return value[_HELD], value.get(QUALIFIER)
        state = self.state
        if slot.key in state.answers:
            same = state.answers[slot.key] == value
            return value, state.answers.get(qualifier_key(slot.key)) if same else None
        suggestions = state.suggestions
        key = slot.key if slot.key in suggestions or not slot.prefix else ANY_ITEM + slot.step.id
        offered, word = suggestions.get(key), suggestions.get(qualifier_key(key))
        if not isinstance(offered, dict) or offered.get("value") != value or not isinstance(word, dict):
            return value, None
        return value, word.get("value")

    def answers_changed(self, *keys: str) -> None:
        """Answers were set or cleared: they are saved with the turn, and plan and scope are redone."""
        self.changed.update(keys)
        self.forget()

    def forget(self) -> None:
        """Work the plan and the template names out afresh when next needed."""
        self.scope.forget()
        self.plan.forget()
        self._found.clear()
