"""The dialogue engine: a pure step function.

(state, what the person said, dialogues, context, now) -> (new state, messages to send).
No database, clock or platform in here: the caller loads and stores the state, passes the time,
and sends the messages. That keeps every conversation rule testable on its own and lets each
turn be committed in one transaction around it.

Answers live in `state.answers` under flat keys ("per_objective.lunch.people"). The list of
questions (the *plan*) is worked out afresh from the answers each turn, so conditions (`when`)
and repetition (`for_each`) always reflect the latest answers, even after going back.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from typing import Any

from svbot.dialogue import answers as parse
from svbot.dialogue.answers import Choice, Invalid, Parsed
from svbot.dialogue.payloads import Action, decode, encode
from svbot.dialogue.spec import Dialogue, Step, expression, names_used, slug, template
from svbot.dialogue.state import ConvState
from svbot.dialogue.words import COMMAND_WORDS, Command, simplify
from svbot.messages import Button, Outbound

MAX_TRIES = 3
DEFAULT_IDLE = timedelta(hours=24)

_REVIEW_OK = {"ok", "okay", "yes", "y", "done", "confirm", "looks right", "all correct", "correct", "finish",
              "looks good", "that's right", "thats right", "good"}  # fmt: skip


@dataclass(frozen=True, slots=True)
class Slot:
    """One question as asked: a step, maybe inside a repeated group, under its answer key."""

    key: str
    step: Step
    item: Any = None  # the option a for_each group is repeating for
    prefix: str = ""  # the key of the enclosing group, with a trailing dot


class _Lost(LookupError):
    """A key's path no longer matches the dialogue (an option was unticked, a step removed)."""


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

    # ---- entry points -------------------------------------------------------------------------

    def begin(
        self,
        dialogue_id: str,
        context: dict[str, Any],
        now: datetime,
        *,
        answers: dict[str, Any] | None = None,
        suggestions: dict[str, Any] | None = None,
        intro: str | None = None,
        turn: int = 0,
    ) -> Result:
        """Start a dialogue. `answers` are kept (a resumed or prefilled run); `suggestions` are offered."""
        state = ConvState(
            dialogue=dialogue_id,
            mode="ask",
            answers=dict(answers or {}),
            suggestions=dict(suggestions or {}),
            last_active=now,
            turn=turn,
        )
        run = _Run(self, state, context, now)
        run.go_to(run.first_slot())
        if intro:
            run.lead_with(intro)
        return run.result()

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
        state = _copy(state)
        run = _Run(self, state, context, now)
        run.handle(text, payload)
        state.last_active = now
        return run.result()

    def resume(self, state: ConvState, context: dict[str, Any], now: datetime) -> Result:
        """Ask the current question again (after "cancel", or to pick up where they were)."""
        state = _copy(state)
        state.last_active = now
        run = _Run(self, state, context, now)
        if state.mode in ("paused", "resume", "confirm_restart", "idle"):
            state.mode = state.resume_mode if state.mode == "resume" and state.resume_mode else "ask"
        run.repeat(new_turn=True)
        return run.result()


class _Run:
    """One turn of one conversation. Mutates its state; `result()` hands back what happened."""

    def __init__(self, engine: Engine, state: ConvState, context: dict[str, Any], now: datetime) -> None:
        self.engine = engine
        self.state = state
        self.context = context
        self.now = now
        self.today: date = now.date()
        self.messages: list[Outbound] = []
        self.changed: set[str] = set()
        self.completed: str | None = None
        self._plan: list[Slot] | None = None
        self._base: dict[str, Any] | None = None
        self._base_with_lets: dict[str, Any] | None = None
        if state.dialogue not in engine.dialogues:
            raise KeyError(f"unknown dialogue {state.dialogue!r}")
        self.dialogue: Dialogue = engine.dialogues[state.dialogue]

    def result(self) -> Result:
        return Result(self.state, self.messages, self.completed, self.changed)

    def say(self, text: str, **kwargs: Any) -> None:
        self.messages.append(Outbound(text=text, **kwargs))

    def lead_with(self, text: str) -> None:
        """Put a greeting at the top of the first message: one notification on their phone, not two."""
        first = self.messages[0] if self.messages else None
        if first is None or first.markdown or first.file is not None or first.replace_previous:
            self.messages.insert(0, Outbound(text=text))
        else:
            self.messages[0] = replace(first, text=f"{text}\n\n{first.text}")

    # ---- the plan: which questions, in which order, given the answers so far ----------------

    def plan(self) -> list[Slot]:
        """Every question that applies, in order. Only review and status need all of it."""
        if self._plan is None:
            self._plan = list(self._walk(self.dialogue.steps, "", None, None, False))
        return self._plan

    def _invalidate(self) -> None:
        self._plan = None
        self._base = None
        self._base_with_lets = None

    def _walk(
        self, steps: list[Step], prefix: str, item: Any, start: list[str] | None, reverse: bool
    ) -> Iterator[Slot]:
        """The questions in order (or reverse order), starting just after (before) the key `start`.

        Moving on from a question only looks at the steps after it, so a turn evaluates the
        conditions (`when`) of the next question or two, not of the whole walk-through.
        """
        order = list(reversed(steps)) if reverse else steps
        begin = 0
        if start:
            index = next((i for i, s in enumerate(order) if s.id == start[0]), None)
            if index is None:
                raise _Lost(start[0])
            step = order[index]
            if step.type is None and len(start) > 1:
                yield from self._descend(step, steps, prefix, item, start[1:], reverse)
            begin = index + 1
        for step in order[begin:]:
            if step.when and not self._truthy(step.when, prefix, item):
                continue
            if step.type is not None:
                yield Slot(prefix + step.id, step, item, prefix)
            else:
                yield from self._descend(step, steps, prefix, item, None, reverse)

    def _descend(
        self, step: Step, siblings: list[Step], prefix: str, item: Any, start: list[str] | None, reverse: bool
    ) -> Iterator[Slot]:
        key = prefix + step.id
        if step.dialogue:
            yield from self._walk(self.engine.dialogues[step.dialogue].steps, key + ".", item, start, reverse)
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
                raise _Lost(start[0])
            value, obj = items[index]
            yield from self._walk(step.steps, f"{key}.{slug(value)}.", obj, start[1:] or None, reverse)
            begin = index + 1
        for value, obj in items[begin:]:
            yield from self._walk(step.steps, f"{key}.{slug(value)}.", obj, None, reverse)

    def _for_each_items(self, step: Step, siblings: list[Step], prefix: str, item: Any) -> list[tuple[str, Any]]:
        """The options chosen at the step `for_each` names, each with its object (e.g. the objective)."""
        chosen = self.state.answers.get(prefix + (step.for_each or "")) or []
        source = self._step_named(siblings, step.for_each or "")
        objects = dict(self._choices_with_objects(source, prefix, item)) if source else {}
        return [(value, objects.get(value, {"value": value, "label": value})) for value in chosen]

    @staticmethod
    def _step_named(steps: list[Step], step_id: str) -> Step | None:
        return next((s for s in steps if s.id == step_id), None)

    # ---- template scope -----------------------------------------------------------------------

    def scope(self, prefix: str = "", item: Any = None, uses: frozenset[str] | None = None) -> dict[str, Any]:
        """The names a template sees. `uses`: the names it reads (all, if not given)."""
        lets = self.dialogue.let
        base = self._base_scope(with_lets=bool(lets) and (uses is None or not uses.isdisjoint(lets)))
        here: Any = base["answers"]
        for part in [p for p in prefix.split(".") if p]:
            here = here.get(part, {}) if isinstance(here, dict) else {}
        return {**base, "here": here, "item": item}

    def _base_scope(self, with_lets: bool = True) -> dict[str, Any]:
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

    def _truthy(self, source: str, prefix: str, item: Any) -> bool:
        try:
            return bool(expression(source)(**self.scope(prefix, item, names_used(source, True))))
        except Exception:
            return False

    def render(self, source: str, slot: Slot | None = None) -> str:
        if "{" not in source:  # plain text, as most questions are: Jinja would hand it back unchanged
            return source.strip()
        uses = names_used(source)
        scope = self.scope(slot.prefix, slot.item, uses) if slot else self.scope(uses=uses)
        return template(source).render(**scope).strip()

    def _choices_with_objects(self, step: Step, prefix: str, item: Any) -> list[tuple[str, Any]]:
        if step.options:
            return [(o.value, o) for o in step.options]
        if not step.options_from:
            return []
        try:
            uses = names_used(step.options_from, True)
            objects = expression(step.options_from)(**self.scope(prefix, item, uses)) or []
        except Exception:
            objects = []
        if isinstance(objects, dict):
            objects = objects.values()
        return [(str(_attr(o, "id", "value")), o) for o in objects]

    def choices(self, slot: Slot) -> list[Choice]:
        return [
            Choice(value, str(_attr(obj, "label", "title", "name") or value))
            for value, obj in self._choices_with_objects(slot.step, slot.prefix, slot.item)
        ]

    # ---- moving around ------------------------------------------------------------------------

    def slot(self, key: str | None) -> Slot | None:
        """The question with this answer key, found by its path (no conditions evaluated)."""
        if key is None:
            return None
        return self._resolve(self.dialogue.steps, "", None, key.split("."))

    def _resolve(self, steps: list[Step], prefix: str, item: Any, parts: list[str]) -> Slot | None:
        step = self._step_named(steps, parts[0])
        if step is None:
            return None
        key = prefix + step.id
        if step.type is not None:
            return Slot(key, step, item, prefix) if len(parts) == 1 else None
        if len(parts) < 2:
            return None
        if step.dialogue:
            return self._resolve(self.engine.dialogues[step.dialogue].steps, key + ".", item, parts[1:])
        assert step.steps is not None
        if not step.for_each:
            return self._resolve(step.steps, key + ".", item, parts[1:])
        for value, obj in self._for_each_items(step, steps, prefix, item):
            if slug(value) == parts[1] and len(parts) > 2:
                return self._resolve(step.steps, f"{key}.{parts[1]}.", obj, parts[2:])
        return None

    def first_slot(self) -> Slot | None:
        return next(self._walk(self.dialogue.steps, "", None, None, False), None)

    def next_slot(self) -> Slot | None:
        answers, skipped = self.state.answers, self.state.skipped
        if self.state.back_to_review:
            for s in self.plan():
                if _is_question(s.step) and s.key not in answers and s.key not in skipped:
                    return s
            return next((s for s in self.plan() if s.step.type == "review"), None)
        if self.state.cursor is None:
            return self.first_slot()
        try:
            return next(self._walk(self.dialogue.steps, "", None, self.state.cursor.split("."), False), None)
        except _Lost:  # the current question no longer applies: carry on from the first gap
            return next((s for s in self.plan() if s.key not in answers and s.key not in skipped), None)

    def previous_slot(self) -> Slot | None:
        if self.state.cursor is None:
            return None
        try:
            earlier = self._walk(self.dialogue.steps, "", None, self.state.cursor.split("."), True)
            return next((s for s in earlier if s.step.type != "message"), None)
        except _Lost:
            return None

    def go_to(self, slot: Slot | None) -> None:
        """Move to a question and ask it; message steps are said and passed; the end finishes."""
        while slot is not None and slot.step.type == "message":
            text = self.render(slot.step.ask or "", slot)
            if text:
                self.say(text)
            self.state.cursor = slot.key
            slot = self.next_slot()
        if slot is None:
            self.finish()
            return
        self.state.cursor = slot.key
        self.state.attempts = 0
        self.state.pending = None
        self.state.confirm_text = None
        self.state.turn += 1
        if slot.step.type == "review":
            self.state.mode = "review"
            self.state.back_to_review = False
            self.show_review()
            return
        suggestion = self._suggestion(slot)
        if slot.key not in self.state.answers and suggestion is not None and slot.step.reuse:
            self.state.mode = "confirm"
            self.state.pending = suggestion.get("value")
            when = f" ({suggestion['when']})" if suggestion.get("when") else ""
            self.state.confirm_text = (
                f"{self.render(slot.step.ask or '', slot)}\n\n"
                f"Last time you told me: {self.display(slot, suggestion.get('value'))}{when}. "
                "Is that still right?"
            )
            self.messages.append(self._confirm_message(self.state.confirm_text))
            return
        self.state.mode = "ask"
        if slot.step.type == "multi_choice":
            self.state.pending = list(self.state.answers.get(slot.key) or [])
        self.messages.append(self.question(slot))

    def _suggestion(self, slot: Slot) -> dict[str, Any] | None:
        """What they said before to this very question, or (for facts such as numbers) to the same
        question about another objective: "You said 42 volunteers: still right?"."""
        exact = self.state.suggestions.get(slot.key)
        if exact is not None or not slot.prefix or slot.step.type not in _SHARED_FACTS:
            return exact
        return self.state.suggestions.get(ANY_ITEM + slot.step.id)

    def advance_from(self, slot: Slot) -> None:
        self._invalidate()
        self.go_to(self.next_slot())

    def finish(self) -> None:
        self.state.mode = "done"
        self.state.cursor = None
        self.state.pending = None
        self.state.back_to_review = False
        self.completed = self.dialogue.id
        text = self.render(self.dialogue.done)
        if text:
            self.say(text)

    def repeat(self, new_turn: bool = False, prefix: str = "") -> None:
        """Show the current question (or review, or confirmation) again."""
        if new_turn:
            self.state.turn += 1
        mode = self.state.mode
        if mode in ("review", "review_pick"):
            self.state.mode = "review"
            self.show_review(prefix)
            return
        slot = self.slot(self.state.cursor)
        if slot is None:
            self._invalidate()
            self.go_to(self.next_slot() if self.state.cursor else self.first_slot())
            return
        if mode == "confirm" and self.state.confirm_text:
            self.messages.append(self._confirm_message(_join(prefix, self.state.confirm_text)))
            return
        self.state.mode = "ask"
        self.messages.append(self.question(slot, prefix))

    # ---- what the person said -----------------------------------------------------------------

    def handle(self, text: str | None, payload: str | None) -> None:
        action, index = None, None
        if payload:
            press = decode(payload)
            if press is None:
                self.repeat(prefix="Sorry, I didn't recognise that button.")
                return
            if press.turn != self.state.turn:
                self.repeat(prefix="That button belongs to an earlier question. Here's where we are now:")
                return
            action, index = press.action, press.index
            text = None
        else:
            text = parse.clean(text or "")
            if self._idle_too_long():
                self.welcome_back()
                return
        if text is not None:
            word = COMMAND_WORDS.get(simplify(text))
        else:
            word = _BUTTON_COMMANDS.get(action) if action else None
        mode = self.state.mode
        if word == "status":
            self.status()
            return
        if word == "restart" and mode != "confirm_restart":
            self.state.resume_mode = mode
            self.state.mode = "confirm_restart"
            self.state.turn += 1
            self.messages.append(
                self._confirm_message(
                    "Start this walk-through again from the beginning? Your answers so far will be cleared "
                    "here (I keep a copy to offer back to you)."
                )
            )
            return
        if word == "cancel":
            self.state.resume_mode = mode if mode not in ("paused", "resume") else self.state.resume_mode
            self.state.mode = "paused"
            self.say(
                "OK, I've stopped here. Your answers so far are saved. "
                "Say start to pick up where you left off, or restart to begin again."
            )
            return
        handler = {
            "resume": self.on_resume,
            "confirm_restart": self.on_confirm_restart,
            "confirm": self.on_confirm,
            "review": self.on_review,
            "review_pick": self.on_review_pick,
        }.get(mode, self.on_answer)
        handler(text, action, index, word)

    def _idle_too_long(self) -> bool:
        last = self.state.last_active
        return (
            last is not None
            and self.state.mode in ("ask", "confirm", "review", "review_pick")
            and self.now - last > self.engine.idle_after
        )

    def welcome_back(self) -> None:
        self.state.resume_mode = self.state.mode
        self.state.mode = "resume"
        self.state.turn += 1
        slot = self.slot(self.state.cursor)
        where = f' We were on: "{self.label(slot)}".' if slot else ""
        t = self.state.turn
        self.say(
            f"Welcome back!{where} Would you like to carry on, or start again?",
            buttons=(Button("Carry on", encode(t, Action.CARRY_ON), style="primary"),
                     Button("Start again", encode(t, Action.START_AGAIN))),
            kind="question",
        )

    def on_resume(self, text: str | None, action: Action | None, index: int | None, word: str | None) -> None:
        said = simplify(text or "")
        if action == Action.START_AGAIN or said in ("start again", "new", "restart"):
            self.restart()
            return
        if action == Action.CARRY_ON or said in ("carry on", "continue", "yes", "ok", "resume", "go on", "y"):
            self.state.mode = self.state.resume_mode or "ask"
            self.state.resume_mode = None
            self.repeat(new_turn=True)
            return
        self.state.mode = self.state.resume_mode or "ask"
        self.state.resume_mode = None
        self.handle(text, None)  # they just answered the question: take it

    def on_confirm_restart(
        self, text: str | None, action: Action | None, index: int | None, word: str | None
    ) -> None:
        yes = action == Action.YES or (text is not None and _yes_no(text) is True) or word == "restart"
        if yes:
            self.restart()
            return
        self.state.mode = self.state.resume_mode or "ask"
        self.state.resume_mode = None
        self.repeat(new_turn=True, prefix="OK, carrying on.")

    def restart(self) -> None:
        kept = {k: {"value": v} for k, v in self.state.answers.items()}
        self.changed.update(self.state.answers)
        self.state.answers = {}
        self.state.skipped = []
        self.state.suggestions = {**kept, **self.state.suggestions}
        self.state.back_to_review = False
        self.state.resume_mode = None
        self._invalidate()
        self.say("Starting again.")
        self.go_to(self.first_slot())

    def on_confirm(self, text: str | None, action: Action | None, index: int | None, word: str | None) -> None:
        slot = self.slot(self.state.cursor)
        if slot is None:
            self.repeat()
            return
        answer = True if action == Action.YES else False if action == Action.NO else _yes_no(text) if text else None
        if answer is True:
            self.store(slot, self.state.pending)
            self.advance_from(slot)
            return
        if answer is False or word in ("back", "skip", "help", "unknown"):
            self.state.mode = "ask"
            self.state.pending = None
            self.state.confirm_text = None
            if word:
                self.on_answer(text, action, index, word)
            else:
                self.messages.append(self.question(slot, "No problem."))
            return
        # Anything else is taken as a fresh answer to the question ("no, 45").
        self.state.mode = "ask"
        self.state.confirm_text = None
        self.on_answer(text, action, index, word)

    # ---- answering a question -----------------------------------------------------------------

    def on_answer(self, text: str | None, action: Action | None, index: int | None, word: str | None) -> None:
        slot = self.slot(self.state.cursor)
        if slot is None:
            self.repeat()
            return
        step = slot.step
        if word == "back":
            self.go_back()
            return
        if word == "help":
            self.messages.append(self.question(slot, self.help_text(slot), more=True))
            return
        if action == Action.KEEP and slot.key in self.state.answers:  # "Keep" the answer already given
            self.advance_from(slot)
            return
        if word in ("skip", "unknown"):
            if step.optional:
                self.store_skip(slot)
                if word == "unknown":
                    self.say("No problem: I've noted that you don't know yet.")
                self.advance_from(slot)
            else:
                hint = "a rough answer is fine: you can change it at the end."
                self.messages.append(
                    self.question(slot, f"I need an answer to this one to carry on, but {hint}")
                )
            return
        try:
            parsed = self.parse_answer(slot, text, action, index)
        except Invalid as exc:
            self.fail(slot, exc)
            return
        if parsed is None:  # a multi-choice toggle: the list was redrawn, nothing stored yet
            return
        if parsed.confirm:
            self.state.mode = "confirm"
            self.state.pending = parsed.value
            self.state.confirm_text = parsed.confirm
            self.state.turn += 1
            self.messages.append(self._confirm_message(parsed.confirm))
            return
        self.store(slot, parsed.value)
        self.advance_from(slot)

    def parse_answer(
        self, slot: Slot, text: str | None, action: Action | None, index: int | None
    ) -> Parsed | None:
        step = slot.step
        kind = step.type
        if kind in ("choice", "multi_choice"):
            return self._parse_choice(slot, text, action, index)
        if kind == "yes_no":
            if action in (Action.YES, Action.NO):
                return Parsed(action == Action.YES)
            return parse.parse_yes_no(text or "")
        if text is None:
            raise Invalid("Please type your answer.", step.example)
        if kind in ("text", "long_text"):
            return parse.parse_text(text, step.max_length)
        if kind in ("integer", "number"):
            return parse.parse_number(
                text, integer=kind == "integer", minimum=step.min, maximum=step.max, soft_max=step.soft_max
            )
        if kind == "money":
            return parse.parse_money(
                text,
                minimum=step.min if step.min is not None else 0,
                maximum=step.max,
                soft_max=step.soft_max,
            )
        if kind == "date":
            return parse.parse_date(text, self.today, not_before=self.today if step.not_before else None)
        raise Invalid("I wasn't expecting an answer here.")

    def _parse_choice(
        self, slot: Slot, text: str | None, action: Action | None, index: int | None
    ) -> Parsed | None:
        choices = self.choices(slot)
        if slot.step.type == "choice":
            if action == Action.CHOOSE and index is not None and index < len(choices):
                return Parsed(choices[index].value)
            if text is None:
                raise Invalid("That option isn't available any more.")
            return Parsed(parse.match_choice(text, choices).value)
        selected: list[str] = list(self.state.pending or [])
        if action == Action.TOGGLE and index is not None and index < len(choices):
            value = choices[index].value
            selected = [v for v in selected if v != value] if value in selected else selected + [value]
            self.state.pending = [c.value for c in choices if c.value in selected]  # keep the options' order
            self.messages.append(self.question(slot, replace=True))
            return None
        if action == Action.DONE:
            picked = [c.value for c in choices if c.value in selected]
        elif text is not None:
            picked = [c.value for c in parse.match_choices(text, choices)]
        else:
            raise Invalid("That option isn't available any more.")
        need = (
            slot.step.min_choices if slot.step.min_choices is not None else (0 if slot.step.optional else 1)
        )
        if len(picked) < need:
            raise Invalid(f"Please choose at least {need}.", "1, 3")
        return Parsed(picked)

    def fail(self, slot: Slot, exc: Invalid) -> None:
        self.state.attempts += 1
        reason = exc.reason
        example = slot.step.example or exc.example
        if example:
            reason += f" For example: {example}."
        if self.state.attempts >= MAX_TRIES:
            way_out = ", or skip to leave it for now" if slot.step.optional else ""
            reason += f"\nStuck? Type help for tips{way_out}."
        self.messages.append(self.question(slot, reason, kind="error"))

    def store(self, slot: Slot, value: Any) -> None:
        self.state.answers[slot.key] = value
        if slot.key in self.state.skipped:
            self.state.skipped.remove(slot.key)
        self.state.suggestions.pop(slot.key, None)
        self.state.pending = None
        self.state.confirm_text = None
        self.state.mode = "ask"
        self.changed.add(slot.key)
        self._invalidate()

    def store_skip(self, slot: Slot) -> None:
        self.state.answers.pop(slot.key, None)
        if slot.key not in self.state.skipped:
            self.state.skipped.append(slot.key)
        self.state.suggestions.pop(slot.key, None)
        self.changed.add(slot.key)
        self._invalidate()

    def go_back(self) -> None:
        previous = self.previous_slot()
        if previous is None:
            self.repeat(prefix="This is the first question, so there's nothing to go back to.")
            return
        self.go_to(previous)

    def help_text(self, slot: Slot) -> str:
        parts = []
        if slot.step.help:
            parts.append(self.render(slot.step.help, slot))
        if not parts and slot.step.type in ("choice", "multi_choice"):
            for value, obj in self._choices_with_objects(slot.step, slot.prefix, slot.item):
                explanation = _attr(obj, "help", "explanation")
                if explanation:
                    parts.append(f"• {_attr(obj, 'label', 'title') or value}: {explanation}")
        if not parts:
            parts.append(
                "Answer in your own words: a rough answer is fine, and you can change it at the end."
            )
        if slot.step.optional:
            parts.append("If you're not sure, say \"I don't know\" and we'll move on.")
        return "\n".join(parts)

    # ---- review -------------------------------------------------------------------------------

    def reviewable(self) -> list[Slot]:
        return [
            s
            for s in self.plan()
            if _is_question(s.step) and (s.key in self.state.answers or s.key in self.state.skipped)
        ]

    def show_review(self, prefix: str = "") -> None:
        answers, skipped = self.state.answers, self.state.skipped
        lines = [
            f"{i}. {self.label(s)}: {self.display(s, answers.get(s.key), s.key in skipped)}"
            for i, s in enumerate(self.reviewable(), start=1)
        ]
        slot = self.slot(self.state.cursor)
        heading = self.render(slot.step.ask, slot) if slot and slot.step.ask else "Here's what you told me:"
        t = self.state.turn
        text = _join(
            prefix, heading + "\n\n" + "\n".join(lines) + "\n\nIs this right? To change one, type its number."
        )
        self.messages.append(
            Outbound(
                text=text,
                buttons=(
                    Button("All correct", encode(t, Action.REVIEW_OK), style="primary"),
                    Button("Change an answer", encode(t, Action.CHANGE)),
                ),
                controls=(Button("Back", encode(t, Action.BACK)),),
                kind="question",
            )
        )

    def on_review(self, text: str | None, action: Action | None, index: int | None, word: str | None) -> None:
        said = simplify(text or "")
        if action == Action.REVIEW_OK or said in _REVIEW_OK:
            review = self.slot(self.state.cursor)
            self.state.back_to_review = False
            if review is not None:
                self.advance_from(review)
            else:
                self.finish()
            return
        if word == "back":
            self.go_back()
            return
        if word == "help":
            self.show_review(
                "Check each answer. Type a number to change that answer, or say ok if all is right."
            )
            return
        number = re.fullmatch(r"(?:change|edit|fix)?\s*(?:number|no\.?)?\s*(\d+)", said)
        if number:
            self.edit(int(number.group(1)))
            return
        if action == Action.CHANGE or said in ("change", "edit", "change an answer", "no"):
            self.state.mode = "review_pick"
            self.say("Which one? Type its number from the list.", kind="question")
            return
        self.show_review(
            "Sorry, I didn't follow. Type a number to change that answer, or ok if all is right."
        )

    def on_review_pick(
        self, text: str | None, action: Action | None, index: int | None, word: str | None
    ) -> None:
        said = simplify(text or "")
        if said.isdigit():
            self.edit(int(said))
            return
        self.state.mode = "review"
        self.on_review(text, action, index, word)

    def edit(self, number: int) -> None:
        items = self.reviewable()
        if not 1 <= number <= len(items):
            self.state.mode = "review"
            self.show_review(f"There's no answer {number}: choose 1 to {len(items)}.")
            return
        self.state.back_to_review = True
        self.go_to(items[number - 1])

    # ---- status -------------------------------------------------------------------------------

    def status(self) -> None:
        questions = [s for s in self.plan() if _is_question(s.step)]
        done = sum(1 for s in questions if s.key in self.state.answers)
        skipped = sum(1 for s in questions if s.key in self.state.skipped)
        slot = self.slot(self.state.cursor)
        position = next((i for i, s in enumerate(questions, start=1) if slot and s.key == slot.key), None)
        where = f"question {position} of {len(questions)}" if position else "the review"
        if self.state.mode == "paused":
            where = "paused at " + where
        text = (
            f'You\'re on {where} in "{self.dialogue.title}". '
            f"{done} answered{f', {skipped} skipped' if skipped else ''}, and every answer is saved."
        )
        if self.state.mode == "paused":
            self.say(text + " Say start to carry on.")
            return
        self.repeat(prefix=text)

    # ---- how questions and answers look -----------------------------------------------------

    def label(self, slot: Slot | None) -> str:
        if slot is None:
            return ""
        base = slot.step.label or _shorten(self.render(slot.step.ask or slot.step.id, slot), 60)
        item_label = _attr(slot.item, "label", "title") if slot.item is not None else None
        return f"{item_label}: {base}" if item_label else base

    def display(self, slot: Slot, value: Any, skipped: bool = False) -> str:
        if skipped or value is None:
            return "(skipped)"
        kind = slot.step.type
        if kind in ("choice", "multi_choice"):
            labels = {c.value: c.label for c in self.choices(slot)}
            values = value if isinstance(value, list) else [value]
            return ", ".join(labels.get(v, str(v)) for v in values) or "(none)"
        if kind == "yes_no":
            return "Yes" if value else "No"
        if kind == "money":
            return parse.format_money(float(value))
        if kind in ("integer", "number"):
            return f"{value:,}" if isinstance(value, int | float) else str(value)
        if kind == "date":
            try:
                return date.fromisoformat(value).strftime("%a %-d %b %Y")
            except (TypeError, ValueError):
                return str(value)
        return _shorten(str(value), 100)

    def question(
        self, slot: Slot, prefix: str = "", kind: str = "question", replace: bool = False, more: bool = False
    ) -> Outbound:
        step = slot.step
        t = self.state.turn
        text = self.render(step.ask or "", slot)
        current = self.state.answers.get(slot.key)
        buttons: list[Button] = []
        controls: list[Button] = []
        if step.type == "choice":
            buttons = [Button(c.label, encode(t, Action.CHOOSE, i)) for i, c in enumerate(self.choices(slot))]
        elif step.type == "multi_choice":
            chosen = set(self.state.pending or [])
            buttons = [
                Button(c.label, encode(t, Action.TOGGLE, i), selected=c.value in chosen)
                for i, c in enumerate(self.choices(slot))
            ]
            controls.append(Button("Done", encode(t, Action.DONE), style="primary"))
            text += "\n(Choose all that apply, then Done. Or type the numbers, like 1, 3.)"
        elif step.type == "yes_no":
            buttons = [Button("Yes", encode(t, Action.YES)), Button("No", encode(t, Action.NO))]
        if slot.key in self.state.answers and step.type != "multi_choice":
            text += f"\n(Your answer now: {self.display(slot, current)})"
            controls.append(Button("Keep this answer", encode(t, Action.KEEP)))
        if self.previous_slot() is not None:
            controls.append(Button("Back", encode(t, Action.BACK)))
        if step.optional:
            controls.append(Button("Skip / I don't know", encode(t, Action.SKIP)))
        if more:  # after "help": every control as a button, not just the everyday three
            controls += [Button("Where am I?", encode(t, Action.STATUS)),
                         Button("Stop for now", encode(t, Action.CANCEL)),
                         Button("Start again", encode(t, Action.RESTART))]  # fmt: skip
        else:
            controls.append(Button("Help", encode(t, Action.HELP)))
        return Outbound(
            text=_join(prefix, text),
            buttons=tuple(buttons),
            multi_select=step.type == "multi_choice",
            controls=tuple(controls),
            input_hint=_INPUT_HINTS.get(step.type or "", "text"),  # type: ignore[arg-type]
            replace_previous=replace,
            kind=kind,  # type: ignore[arg-type]
            meta={"key": slot.key},
        )

    def _confirm_message(self, text: str) -> Outbound:
        """A yes/no check. `meta` names the question it is about, if any, for adapters and tests."""
        t = self.state.turn
        checking = self.state.mode == "confirm" and self.state.cursor
        about = {"key": self.state.cursor or "", "confirm": "yes"} if checking else {}
        return Outbound(
            text=text,
            buttons=(Button("Yes", encode(t, Action.YES), style="primary"), Button("No", encode(t, Action.NO))),
            input_hint="yes_no",
            kind="question",
            meta=about,
        )


# Evidence-bank keys for "this question, under any objective": answers to these kinds are facts
# about the group (volunteers, people reached) that are worth offering across objectives.
ANY_ITEM = "*."
_SHARED_FACTS = ("integer", "number", "money", "choice", "multi_choice")
_INPUT_HINTS = {
    "long_text": "long_text", "date": "date", "integer": "number", "number": "number", "money": "number",
    "choice": "choice", "multi_choice": "multi_choice", "yes_no": "yes_no",
}  # fmt: skip
_BUTTON_COMMANDS = {
    Action.BACK: Command.BACK, Action.SKIP: Command.SKIP, Action.HELP: Command.HELP,
    Action.CANCEL: Command.CANCEL, Action.RESTART: Command.RESTART, Action.STATUS: Command.STATUS,
}  # fmt: skip


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


def _is_question(step: Step) -> bool:
    return step.type not in ("review", "message")


def _yes_no(text: str) -> bool | None:
    try:
        return bool(parse.parse_yes_no(text).value)
    except Invalid:
        return None


def _join(prefix: str, text: str) -> str:
    return f"{prefix}\n\n{text}" if prefix else text


def _shorten(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rsplit(" ", 1)[0] + "…"


def _attr(obj: Any, *names: str) -> Any:
    for name in names:
        if isinstance(obj, dict) and obj.get(name) is not None:
            return obj[name]
        value = getattr(obj, name, None)
        if value is not None and not callable(value):
            return value
    return None


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
