"""Dialogues as data: the YAML format, its validation, and loading a folder of dialogues.

A bad file stops start-up with the file, the step id and what is wrong, so a support
organisation editing a dialogue finds its mistake at once rather than mid-conversation.

A translation is a whole file in a folder named for its locale, `dialogues/cy/social_value.yaml`,
with the same dialogue id, the same steps (ids, order, types, option values: answers stay
comparable across languages) and its own wording. A conversation speaking that locale gets it
(`svbot.text.speaking`); any dialogue not translated is the English one.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

import yaml
from jinja2 import TemplateSyntaxError, meta
from jinja2.sandbox import SandboxedEnvironment
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from svbot.text import ENGLISH, current_locale, fallbacks

AnswerType = Literal[
    "text", "long_text", "integer", "number", "money", "date", "choice", "multi_choice", "yes_no",
    "review", "message",
]  # fmt: skip

STEP_ID = r"^[a-z][a-z0-9_]*$"
DEFAULT_MAX_CHARS = {"text": 300, "long_text": 3000}


class DialogueError(Exception):
    """A dialogue file is wrong. The message names the file, the step and the problem."""


class Option(BaseModel):
    model_config = ConfigDict(extra="forbid")

    value: str
    label: str
    help: str | None = None


class Step(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str = Field(pattern=STEP_ID)
    ask: str | None = None  # the question, a Jinja2 template
    label: str | None = None  # a short name, for the review list and "status"
    type: AnswerType | None = None
    optional: bool = False
    help: str | None = None  # Jinja2 too
    example: str | None = None
    when: str | None = None  # a Jinja2 expression; the step is left out when it is false
    max_chars: int | None = Field(default=None, gt=0)
    min: float | None = None
    max: float | None = None
    soft_max: float | None = None  # above it we ask "is that right?" rather than refuse
    not_before: Literal["today"] | None = None  # dates: refuse dates in the past
    options: list[Option] | None = None
    options_from: str | None = None  # a Jinja2 expression giving objects with id/title or value/label
    min_choices: int | None = None
    for_each: str | None = None  # a multi_choice step id: repeat `steps` once per chosen option
    steps: list[Step] | None = None  # a group of steps (with for_each, repeated)
    dialogue: str | None = None  # include another dialogue's steps here
    reuse: bool = True  # offer the answer they gave before, from the evidence bank

    @model_validator(mode="after")
    def _one_kind(self) -> Step:
        kinds = [self.type is not None, self.steps is not None, self.dialogue is not None]
        if sum(kinds) != 1:
            raise ValueError("a step needs exactly one of: type (a question), steps (a group), dialogue")
        if self.for_each and self.steps is None:
            raise ValueError("for_each needs steps to repeat")
        if self.type in ("choice", "multi_choice") and not (self.options or self.options_from):
            raise ValueError(f"a {self.type} step needs options or options_from")
        if self.type not in (None, "review", "message") and not self.ask:
            raise ValueError("a question needs ask: the text to show")
        if self.type == "message" and not self.ask:
            raise ValueError("a message step needs ask: the text to show")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError("min is greater than max")
        if self.options:
            values = [o.value for o in self.options]
            if len(set(values)) != len(values):
                raise ValueError("two options have the same value")
        return self

    @property
    def max_length(self) -> int:
        return self.max_chars or DEFAULT_MAX_CHARS.get(self.type or "", 300)


class Dialogue(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str = Field(pattern=STEP_ID)
    title: str
    description: str | None = None
    # Names computed each turn from answers and knowledge, for prompts: {framework: "knowledge...."}
    let: dict[str, str] = Field(default_factory=dict)
    steps: list[Step]
    done: str | None = None  # Jinja2, said at the end ("" says nothing); none given: svbot's own words
    file: str = ""  # where it came from, for error messages


_ENV = SandboxedEnvironment(autoescape=False)


@lru_cache(maxsize=2048)
def template(source: str):  # type: ignore[no-untyped-def]
    """Compiled once per distinct text; the sandbox stops a template reaching Python internals."""
    return _ENV.from_string(source)


@lru_cache(maxsize=2048)
def expression(source: str):  # type: ignore[no-untyped-def]
    return _ENV.compile_expression(source, undefined_to_none=True)


@lru_cache(maxsize=4096)
def names_used(source: str, is_expression: bool = False) -> frozenset[str]:
    """The names a template (or an expression) reads: `let` values are worked out only for those."""
    parsed = _ENV.parse(f"{{{{ ({source}) }}}}" if is_expression else source)
    return frozenset(meta.find_undeclared_variables(parsed))


class Dialogues(dict[str, Dialogue]):
    """The dialogues by id, in English, with their translations: `dialogues[id]` is the one in the
    current locale (`svbot.text.current_locale()`), else English. What the engine is given, so it
    picks by locale without knowing it. Only `[]` translates: `in`, iterating, `.get()` and `.values()`
    see the English ones."""

    def __init__(self, english: dict[str, Dialogue], translations: dict[str, dict[str, Dialogue]]) -> None:
        super().__init__(english)
        self.translations = translations  # locale -> dialogue id -> the translated dialogue

    def __getitem__(self, dialogue_id: str) -> Dialogue:
        locale = current_locale()
        if locale != ENGLISH:
            for candidate in fallbacks(locale)[:-1]:
                found = self.translations.get(candidate, {}).get(dialogue_id)
                if found is not None:
                    return found
        return dict.__getitem__(self, dialogue_id)


def load_dialogues(directory: Path) -> dict[str, Dialogue]:
    """Load and check every `*.yaml` in the folder, and the translations in its locale folders
    (`cy/*.yaml`). Raises DialogueError on the first problem. Without translations: a plain dict."""
    dialogues = _load_folder(directory)
    if not dialogues:
        raise DialogueError(f"{directory}: no dialogue files (*.yaml) found")
    translations: dict[str, dict[str, Dialogue]] = {}
    for folder in sorted(path for path in directory.iterdir() if path.is_dir()):
        if not re.fullmatch(r"[a-z]{2,3}(?:[-_][A-Za-z0-9]{2,8})*", folder.name):
            continue  # not a locale's folder (svbot reads only <locale>/ beside the English files)
        translated = _load_folder(folder, f"{folder.name}/")
        for dialogue_id, dialogue in translated.items():
            if dialogue_id not in dialogues:
                raise DialogueError(
                    f"{dialogue.file}: a translation of dialogue '{dialogue_id}', but there is no "
                    f"{dialogue_id} in {directory.name}/ to translate"
                )
            _check_translation(dialogues[dialogue_id], dialogue)
        if translated:
            translations[folder.name] = translated
    for dialogue in dialogues.values():
        _check_references(dialogue, dialogues)
    for translated in translations.values():
        for dialogue in translated.values():
            _check_references(dialogue, {**dialogues, **translated})
    return Dialogues(dialogues, translations) if translations else dialogues


def _load_folder(directory: Path, prefix: str = "") -> dict[str, Dialogue]:
    dialogues: dict[str, Dialogue] = {}
    for path in sorted(directory.glob("*.yaml")) + sorted(directory.glob("*.yml")):
        dialogue = load_dialogue_file(path, prefix + path.name)
        if dialogue.id in dialogues:
            raise DialogueError(
                f"{dialogue.file}: dialogue id '{dialogue.id}' is also used in {dialogues[dialogue.id].file}"
            )
        dialogues[dialogue.id] = dialogue
    return dialogues


def _check_translation(english: Dialogue, translated: Dialogue) -> None:
    """A translation asks the same questions: the same step ids in the same order, of the same types,
    with the same option values. Only the wording may differ."""

    def shape(dialogue: Dialogue) -> list[tuple[str, Any, Any, Any]]:
        return [
            (path, step.type, step.dialogue, [o.value for o in step.options] if step.options else None)
            for path, step in walk(dialogue.steps)
        ]

    theirs, ours = shape(english), shape(translated)
    for (path, *what), (their_path, *their_what) in zip(ours, theirs, strict=False):
        if path != their_path:
            raise DialogueError(
                f"{translated.file}: step '{path}' where {english.file} has step '{their_path}': "
                "a translation keeps the same step ids, in the same order"
            )
        if what != their_what:
            raise DialogueError(
                f"{translated.file}: step '{path}': its type, included dialogue or option values differ from "
                f"{english.file}: a translation changes only the wording"
            )
    if len(ours) != len(theirs):
        missing = [path for path, *_ in theirs[len(ours) :]] or [path for path, *_ in ours[len(theirs) :]]
        what = "lacks" if len(ours) < len(theirs) else "adds"
        raise DialogueError(
            f"{translated.file}: {what} step '{missing[0]}' ({english.file} has {len(theirs)} steps, "
            f"the translation {len(ours)}): a translation keeps the same step ids"
        )


def load_dialogue_file(path: Path, name: str | None = None) -> Dialogue:
    """One file, checked; `name` is how errors call it (default: the file's name; "cy/x.yaml")."""
    name = name or path.name
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise DialogueError(f"{name}: not valid YAML: {exc}") from None
    if not isinstance(raw, dict):
        raise DialogueError(f"{name}: expected a mapping with id, title and steps")
    try:
        dialogue = Dialogue.model_validate({**raw, "file": name})
    except ValidationError as exc:
        error = exc.errors()[0]
        where = _describe_location(raw, error["loc"])
        message = error["msg"].removeprefix("Value error, ")
        raise DialogueError(f"{name}: {where}: {message}") from None
    _check_templates(dialogue)
    return dialogue


def _describe_location(raw: Any, loc: tuple[Any, ...]) -> str:
    """Turn pydantic's ('steps', 3, 'steps', 1, 'type') into "step 'per_objective.people', field 'type'"."""
    ids: list[str] = []
    node: Any = raw
    field = None
    for part in loc:
        if isinstance(node, dict):
            node = node.get(part)
            field = part
        elif isinstance(node, list) and isinstance(part, int) and part < len(node):
            node = node[part]
            if isinstance(node, dict) and field == "steps":
                ids.append(str(node.get("id", f"#{part + 1}")))
                field = None
        else:
            break
    where = f"step '{'.'.join(ids)}'" if ids else "top level"
    if field and field != "steps":
        where += f", field '{field}'"
    return where


def walk(steps: list[Step], prefix: str = "") -> Iterator[tuple[str, Step]]:
    for step in steps:
        path = f"{prefix}{step.id}"
        yield path, step
        if step.steps:
            yield from walk(step.steps, path + ".")


def _check_templates(dialogue: Dialogue) -> None:
    def compiles(where: str, source: str | None, compile_: Callable[[str], object]) -> None:
        if not source:
            return
        try:
            compile_(source)
        except TemplateSyntaxError as exc:
            raise DialogueError(
                f"{dialogue.file}: {where}: template error: {exc.message} (line {exc.lineno})"
            ) from None

    for name, source in dialogue.let.items():
        compiles(f"let '{name}'", source, expression)
    compiles("done", dialogue.done, template)
    seen: dict[str, set[str]] = {}
    for path, step in walk(dialogue.steps):
        parent = path.rpartition(".")[0]
        siblings = seen.setdefault(parent, set())
        if step.id in siblings:
            raise DialogueError(f"{dialogue.file}: step '{path}': the id '{step.id}' is used twice here")
        siblings.add(step.id)
        compiles(f"step '{path}', field 'ask'", step.ask, template)
        compiles(f"step '{path}', field 'help'", step.help, template)
        compiles(f"step '{path}', field 'when'", step.when, expression)
        compiles(f"step '{path}', field 'options_from'", step.options_from, expression)


def _check_references(dialogue: Dialogue, dialogues: dict[str, Dialogue]) -> None:
    def check(steps: list[Step], prefix: str, earlier: dict[str, Step], stack: tuple[str, ...]) -> None:
        for step in steps:
            path = f"{prefix}{step.id}"
            if step.for_each:
                source = earlier.get(step.for_each)
                if source is None or source.type != "multi_choice":
                    raise DialogueError(
                        f"{dialogue.file}: step '{path}': for_each '{step.for_each}' must name an earlier "
                        "multi_choice step"
                    )
            if step.dialogue:
                if step.dialogue not in dialogues:
                    raise DialogueError(
                        f"{dialogue.file}: step '{path}': no dialogue called '{step.dialogue}'"
                    )
                if step.dialogue in stack:
                    raise DialogueError(
                        f"{dialogue.file}: step '{path}': dialogue '{step.dialogue}' includes itself"
                    )
                check(dialogues[step.dialogue].steps, path + ".", dict(earlier), stack + (step.dialogue,))
            if step.steps:
                check(step.steps, path + ".", dict(earlier), stack)
            earlier[step.id] = step

    check(dialogue.steps, "", {}, (dialogue.id,))


def slug(value: str) -> str:
    """A for_each item value made safe for use inside an answer key."""
    return re.sub(r"[^a-z0-9_]+", "_", value.lower()).strip("_") or "item"
