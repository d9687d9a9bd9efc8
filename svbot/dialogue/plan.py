"""The plan: which questions apply, in which order, given the answers so far.

Answers live under flat keys ("per_objective.lunch.people"): a step's id, inside a group its
group's key, inside a repeated group (`for_each`) the slug of the option it repeats for, inside
an included dialogue (`dialogue: ID`) the including step's key. The plan is worked out afresh
from the answers, so conditions (`when`) and repetition always reflect the latest answers, even
after going back. Moving on from a question walks only the steps after it, so a turn evaluates
the conditions of the next question or two, not of the whole walk-through.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterator
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from typing import Any

from svbot.dialogue.answers import Choice
from svbot.dialogue.scope import Scope
from svbot.dialogue.spec import Dialogue, Step, names_used, slug
from svbot.dialogue.state import ConvState


@dataclass(frozen=True, slots=True)
class Slot:
    """One question as asked: a step, maybe inside a repeated group, under its answer key."""

    key: str
    step: Step
    item: Any = None  # the option a for_each group is repeating for
    prefix: str = ""  # the key of the enclosing group, with a trailing dot


class Lost(LookupError):
    """A key's path no longer matches the dialogue (an option was unticked, a step removed)."""


class Plan:
    """The questions of one dialogue for one conversation. Call `forget()` when the answers change."""

    __slots__ = ("dialogues", "dialogue", "state", "scope", "_all")

    def __init__(self, dialogues: dict[str, Dialogue], dialogue: Dialogue, state: ConvState, scope: Scope) -> None:
        self.dialogues = dialogues  # for included dialogues
        self.dialogue = dialogue
        self.state = state
        self.scope = scope
        self._all: list[Slot] | None = None

    def all(self) -> list[Slot]:
        """Every question that applies, in order. Only review and status need all of it."""
        if self._all is None:
            self._all = list(self._walk(self.dialogue.steps, "", None, None, False))
        return self._all

    def first(self) -> Slot | None:
        return next(self._walk(self.dialogue.steps, "", None, None, False), None)

    def after(self, key: str) -> Slot | None:
        """The question after the one at `key`. Raises Lost if that one no longer applies."""
        return next(self._walk(self.dialogue.steps, "", None, key.split("."), False), None)

    def before(self, key: str) -> Slot | None:
        """The question before the one at `key` (messages passed over), if there is one."""
        try:
            earlier = self._walk(self.dialogue.steps, "", None, key.split("."), True)
            return next((s for s in earlier if s.step.type != "message"), None)
        except Lost:
            return None

    def find(self, key: str | None) -> Slot | None:
        """The question with this answer key, found by its path (no conditions evaluated)."""
        if key is None:
            return None
        return self._resolve(self.dialogue.steps, "", None, key.split("."))

    def answered(self) -> list[Slot]:
        """The questions answered or skipped, in order: the review list."""
        answers, skipped = self.state.answers, self.state.skipped
        return [s for s in self.all() if is_question(s.step) and (s.key in answers or s.key in skipped)]

    def choices(self, slot: Slot) -> list[Choice]:
        """The options of a choice question, with their labels. The same list each time the same
        options are asked for: callers must not change it."""
        found = self._options(slot.step, slot.prefix, slot.item)
        if found.choices is None:
            found.choices = [
                Choice(value, str(field_of(obj, "label", "title", "name") or value)) for value, obj in found.pairs
            ]
        return found.choices

    def options(self, step: Step, prefix: str, item: Any) -> list[tuple[str, Any]]:
        """A choice step's options, each value with its object (an option, or e.g. an objective)."""
        return self._options(step, prefix, item).pairs

    def _options(self, step: Step, prefix: str, item: Any) -> _Options:
        """A step's options, worked out once for the same inputs, across turns and conversations.

        A turn asks for a question's options several times (its buttons, reading the answer, showing
        it back) and every conversation at that question asks for the same ones: evaluating
        `options_from` (a template expression) and labelling each option was a tenth of a turn. The
        result depends only on the step and on the values of the names its expression reads, so those
        values are the key: plain ones (today's date, a string) by value, objects by identity.
        Knowledge is loaded once and frozen (changed on disk, it is loaded as a new object); a turn's
        answers and context are new objects each time, and so miss. The entry holds the objects
        themselves, so no other object can take their ids while it is kept."""
        if step.options:
            key: tuple[Hashable, ...] = (id(step),)
            keep: tuple[Any, ...] = (step,)
        elif step.options_from:
            read = _sorted_names(step.options_from)
            names = self.scope.names(prefix, item, names_used(step.options_from, True))
            values = tuple(names.get(name) for name in read)
            key, keep = (id(step), *map(_identity, values)), (step, *values)
        else:
            return _NO_OPTIONS
        found = _OPTIONS.get(key)
        if found is None:
            if len(_OPTIONS) >= _OPTIONS_KEPT:
                _OPTIONS.clear()  # rare: a few hundred distinct option lists are plenty
            found = _OPTIONS[key] = _Options(keep, self._work_out_options(step, prefix, item))
        return found

    def _work_out_options(self, step: Step, prefix: str, item: Any) -> list[tuple[str, Any]]:
        if step.options:
            return [(o.value, o) for o in step.options]
        assert step.options_from is not None
        try:
            objects = self.scope.evaluate(step.options_from, prefix, item) or []
        except Exception:
            objects = []
        if isinstance(objects, dict):
            objects = objects.values()
        return [(str(field_of(o, "id", "value")), o) for o in objects]

    def forget(self) -> None:
        """The answers changed: work the plan out again when next asked."""
        self._all = None

    def _walk(
        self, steps: list[Step], prefix: str, item: Any, start: list[str] | None, reverse: bool
    ) -> Iterator[Slot]:
        """The questions in order (or reverse order), starting just after (before) the key `start`."""
        order = list(reversed(steps)) if reverse else steps
        begin = 0
        if start:
            index = next((i for i, s in enumerate(order) if s.id == start[0]), None)
            if index is None:
                raise Lost(start[0])
            step = order[index]
            if step.type is None and len(start) > 1:
                yield from self._descend(step, steps, prefix, item, start[1:], reverse)
            begin = index + 1
        for step in order[begin:]:
            if step.when and not self.scope.truthy(step.when, prefix, item):
                continue
            if step.type is not None:
                yield Slot(prefix + step.id, step, item, prefix)
            else:
                yield from self._descend(step, steps, prefix, item, None, reverse)

    def _descend(
        self, step: Step, siblings: list[Step], prefix: str, item: Any, start: list[str] | None, reverse: bool
    ) -> Iterator[Slot]:
        """Into a group, a repeated group or an included dialogue."""
        key = prefix + step.id
        if step.dialogue:
            yield from self._walk(self.dialogues[step.dialogue].steps, key + ".", item, start, reverse)
            return
        assert step.steps is not None
        if not step.for_each:
            yield from self._walk(step.steps, key + ".", item, start, reverse)
            return
        items = self._for_each_items(step, siblings, prefix, item)
        if reverse:
            items.reverse()
        begin = 0
        if start:
            index = next((i for i, (value, _) in enumerate(items) if slug(value) == start[0]), None)
            if index is None:
                raise Lost(start[0])
            value, obj = items[index]
            yield from self._walk(step.steps, f"{key}.{slug(value)}.", obj, start[1:] or None, reverse)
            begin = index + 1
        for value, obj in items[begin:]:
            yield from self._walk(step.steps, f"{key}.{slug(value)}.", obj, None, reverse)

    def _resolve(self, steps: list[Step], prefix: str, item: Any, parts: list[str]) -> Slot | None:
        step = _named(steps, parts[0])
        if step is None:
            return None
        key = prefix + step.id
        if step.type is not None:
            return Slot(key, step, item, prefix) if len(parts) == 1 else None
        if len(parts) < 2:
            return None
        if step.dialogue:
            return self._resolve(self.dialogues[step.dialogue].steps, key + ".", item, parts[1:])
        assert step.steps is not None
        if not step.for_each:
            return self._resolve(step.steps, key + ".", item, parts[1:])
        for value, obj in self._for_each_items(step, steps, prefix, item):
            if slug(value) == parts[1] and len(parts) > 2:
                return self._resolve(step.steps, f"{key}.{parts[1]}.", obj, parts[2:])
        return None

    def _for_each_items(self, step: Step, siblings: list[Step], prefix: str, item: Any) -> list[tuple[str, Any]]:
        """The options chosen at the step `for_each` names, each with its object (e.g. the objective)."""
        chosen = self.state.answers.get(prefix + (step.for_each or "")) or []
        source = _named(siblings, step.for_each or "")
        objects = dict(self.options(source, prefix, item)) if source else {}
        return [(value, objects.get(value, {"value": value, "label": value})) for value in chosen]


@dataclass(slots=True)
class _Options:
    keep: tuple[Any, ...]  # the step and the values read: their ids are the key
    pairs: list[tuple[str, Any]]
    choices: list[Choice] | None = None  # labelled when first asked for


_NO_OPTIONS = _Options((), [], [])
_OPTIONS: dict[tuple[Hashable, ...], _Options] = {}
_OPTIONS_KEPT = 512


_PLAIN = (str, int, float, bool, date, type(None))  # immutable: equal values give equal options


def _identity(value: Any) -> Hashable:
    return (type(value), value) if type(value) in _PLAIN else id(value)


@lru_cache(maxsize=1024)
def _sorted_names(source: str) -> tuple[str, ...]:
    return tuple(sorted(names_used(source, True)))


def is_question(step: Step) -> bool:
    """Whether a step takes an answer (a review or a message does not)."""
    return step.type not in ("review", "message")


def field_of(obj: Any, *names: str) -> Any:
    """The first of these fields that an option or a knowledge object has (a dict key or an attribute)."""
    for name in names:
        if isinstance(obj, dict) and obj.get(name) is not None:
            return obj[name]
        value = getattr(obj, name, None)
        if value is not None and not callable(value):
            return value
    return None


def _named(steps: list[Step], step_id: str) -> Step | None:
    return next((s for s in steps if s.id == step_id), None)
