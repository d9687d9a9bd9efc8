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

    __slots__ = ("dialogue", "state", "context", "today", "_base", "_base_with_lets")

    def __init__(self, dialogue: Dialogue, state: ConvState, context: dict[str, Any], today: date) -> None:
        self.dialogue = dialogue
        self.state = state
        self.context = context
        self.today = today
        self._base: dict[str, Any] | None = None
        self._base_with_lets: dict[str, Any] | None = None

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
        lets = self.dialogue.let
        base = self._common(with_lets=bool(lets) and (uses is None or not uses.isdisjoint(lets)))
        here: Any = base["answers"]
        for part in [p for p in prefix.split(".") if p]:
            here = here.get(part, {}) if isinstance(here, dict) else {}
        return {**base, "here": here, "item": item}

    def forget(self) -> None:
        """The answers changed: work the names out again when next asked."""
        self._base = None
        self._base_with_lets = None

    def _common(self, with_lets: bool) -> dict[str, Any]:
        """What every template sees; worked out once per change of answers, not once per template.
        The dialogue's `let` values only when a template reads one: they are the costly part."""
        if self._base is None:
            self._base = {**self.context, "answers": _nest(self.state.answers), "today": self.today}
        if not with_lets:
            return self._base
        if self._base_with_lets is None:
            base = dict(self._base)
            for name, source in self.dialogue.let.items():
                try:
                    base[name] = expression(source)(**base)
                except Exception:  # a `let` that fails on partial answers just isn't available yet
                    base[name] = None
            self._base_with_lets = base
        return self._base_with_lets


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
