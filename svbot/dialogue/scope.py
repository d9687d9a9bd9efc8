"""What dialogue templates see: the context, the answers so far, today, the dialogue's `let` values,
and, inside a repeated group, `item` (the option it repeats for) and `here` (its answers).

Questions, help texts, conditions (`when`) and option lists (`options_from`) are all templates or
expressions over these names. User text only ever arrives as a value, never as a template.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from svbot.dialogue.spec import Dialogue, expression, names_used, template
from svbot.dialogue.state import ConvState


class Scope:
    """The names for one turn. Call `forget()` when the answers change."""

    __slots__ = ("dialogue", "state", "context", "today", "_base", "_lets", "_with_lets")

    def __init__(self, dialogue: Dialogue, state: ConvState, context: dict[str, Any], today: date) -> None:
        self.dialogue = dialogue
        self.state = state
        self.context = context
        self.today = today
        self._base: dict[str, Any] | None = None
        self._lets: dict[str, Any] = {}  # the `let` values worked out so far
        self._with_lets: dict[frozenset[str], dict[str, Any]] = {}  # the names, by the lets they hold

    def render(self, source: str, prefix: str = "", item: Any = None) -> str:
        """A template as text, for a question at `prefix` (repeating for `item`)."""
        if "{" not in source:  # plain text, as most questions are: Jinja would hand it back unchanged
            return source.strip()
        return template(source).render(**self.names(prefix, item, names_used(source))).strip()

    def evaluate(self, source: str, prefix: str = "", item: Any = None) -> Any:
        """An expression's value. Raises whatever the expression raises."""
        return expression(source)(**self.names(prefix, item, names_used(source, True)))

    def truthy(self, source: str, prefix: str = "", item: Any = None) -> bool:
        """A condition (`when`); one that fails on partial answers is false."""
        try:
            return bool(self.evaluate(source, prefix, item))
        except Exception:
            return False

    def names(self, prefix: str = "", item: Any = None, uses: frozenset[str] | None = None) -> dict[str, Any]:
        """Every name a template may use. `uses`: the names it reads (all, if not given)."""
        base = self._common(uses)
        here: Any = base["answers"]
        for part in [p for p in prefix.split(".") if p]:
            here = here.get(part, {}) if isinstance(here, dict) else {}
        return {**base, "here": here, "item": item}

    def forget(self) -> None:
        """The answers changed: work the names out again when next asked."""
        self._base = None
        self._lets = {}
        self._with_lets = {}

    def _common(self, uses: frozenset[str] | None) -> dict[str, Any]:
        """What every template sees; worked out once per change of answers, not once per template.
        The dialogue's `let` values only those a template reads (and the earlier ones they read):
        they are the costly part."""
        if self._base is None:
            self._base = {**self.context, "answers": _nest(self.state.answers), "today": self.today}
        lets = self.dialogue.let
        wanted = frozenset(lets) if uses is None else uses.intersection(lets)
        if not wanted:
            return self._base
        names = self._with_lets.get(wanted)
        if names is None:
            needed = _lets_needed(self.dialogue, wanted)
            for name in needed:
                if name not in self._lets:
                    self._lets[name] = self._let(name)
            names = self._with_lets[wanted] = {**self._base, **{name: self._lets[name] for name in needed}}
        return names

    def _let(self, name: str) -> Any:
        """One `let` value. It sees the lets declared before it (and only those), as when all are
        worked out in order."""
        earlier = _earlier_lets(self.dialogue, name)
        names = {**self._base_names(), **{e: self._lets[e] for e in earlier if e in self._lets}}
        try:
            return expression(self.dialogue.let[name])(**names)
        except Exception:  # a `let` that fails on partial answers just isn't available yet
            return None

    def _base_names(self) -> dict[str, Any]:
        assert self._base is not None
        return self._base


def _lets_needed(dialogue: Dialogue, wanted: frozenset[str]) -> list[str]:
    """The lets to work out for `wanted`, with the earlier lets they read, in declaration order."""
    needed = set(wanted)
    for name in reversed(list(dialogue.let)):  # a let reads only lets declared before it
        if name in needed:
            needed |= names_used(dialogue.let[name], True).intersection(_earlier_lets(dialogue, name))
    return [name for name in dialogue.let if name in needed]


def _earlier_lets(dialogue: Dialogue, name: str) -> list[str]:
    order = list(dialogue.let)
    return order[: order.index(name)]


def _nest(flat: dict[str, Any]) -> dict[str, Any]:
    """{"a.b.c": 1} -> {"a": {"b": {"c": 1}}}, so templates can say answers.a.b.c."""
    nested: dict[str, Any] = {}
    for key, value in flat.items():
        node = nested
        *parents, last = key.split(".")
        for part in parents:
            child = node.get(part)
            if not isinstance(child, dict):
                child = node[part] = {}
            node = child
        if not isinstance(node.get(last), dict):
            node[last] = value
    return nested
