"""Load and check the knowledge folder: commissioners' frameworks and svbot's guidance.

Every `*.yaml` file in the folder is a framework, except `guidance.yaml`. Files are validated on
load; a mistake raises `KnowledgeError` naming the file, the place inside it
(e.g. `objectives[2].examples`) and what is wrong, so a support organisation that drops in its
commissioner's framework can fix it without reading Python.

The models are plain pydantic objects with attribute access, so Jinja2 templates can use them.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any, Literal, TypeVar

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    field_validator,
    model_validator,
)

from svbot.config import get_settings
from svbot.paths import knowledge_dir

GUIDANCE_FILE = "guidance.yaml"
TEMPLATE_SUFFIXES = (".md.j2", ".html.j2", ".txt.j2")
# The walk-through and the evidence-strength rules rely on these ids being present.
REQUIRED_EVIDENCE_KINDS = (
    "attendance_records",
    "survey",
    "case_study",
    "quote",
    "external_evaluation",
    "none_yet",
)
_ID_PATTERN = r"^[a-z][a-z0-9_]*$"
_M = TypeVar("_M", bound=BaseModel)


class KnowledgeError(Exception):
    """A knowledge file is missing, unreadable or does not match the expected shape."""


class _Model(BaseModel):
    # Unknown keys are errors: a misspelt `exmaples:` should not silently vanish.
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class Source(_Model):
    citation: str = Field(min_length=1)
    url: str | None = None

    @field_validator("url")
    @classmethod
    def _web_address(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("https://", "http://")):
            raise ValueError("must be a web address starting with https:// or http://")
        return value


class Measures(_Model):
    outputs: list[str] = Field(default_factory=list)
    outcomes: list[str] = Field(default_factory=list)


class Objective(_Model):
    id: str = Field(pattern=_ID_PATTERN)
    title: str = Field(min_length=1)
    theme: str | None = None  # e.g. the Social Value Model theme an outcome belongs to
    explanation: str = Field(min_length=1)
    examples: list[str] = Field(min_length=1)
    measures: Measures
    questions: list[str] = Field(min_length=1)


class Framework(_Model):
    id: str = Field(pattern=_ID_PATTERN)
    title: str = Field(min_length=1)
    owner: str = Field(min_length=1)
    source: Source
    status: Literal["official", "illustrative"]
    status_note: str = Field(min_length=1)
    # One sentence for the picker: whose objectives these are and when to choose them. Optional, so
    # a dropped-in framework written before it existed still loads; every shipped file has one.
    use_when: str | None = Field(default=None, min_length=1)
    # Set when a newer version has replaced this framework: what replaced it, when, and where the
    # newer one applies. Every statement against the framework prints it (see `notice`).
    replaced_note: str | None = Field(default=None, min_length=1)
    licence: str = Field(min_length=1)
    definition: str | None = None
    evidencing: list[str] = Field(default_factory=list)  # how commitments are evidenced, if it says
    see_also: list[Source] = Field(default_factory=list)
    template: str | None = None
    objectives: list[Objective] = Field(min_length=1)

    _directory: Path | None = PrivateAttr(default=None)

    @field_validator("template")
    @classmethod
    def _template_name(cls, value: str | None) -> str | None:
        if value is None:
            return None
        if "/" in value or "\\" in value or value.startswith("."):
            raise ValueError("must be a plain file name beside the framework file, not a path")
        if not value.endswith(TEMPLATE_SUFFIXES):
            raise ValueError(f"must end with one of {', '.join(TEMPLATE_SUFFIXES)} (it says which format)")
        return value

    @field_validator("objectives")
    @classmethod
    def _unique_objective_ids(cls, value: list[Objective]) -> list[Objective]:
        _check_unique(o.id for o in value)
        return value

    @property
    def is_illustrative(self) -> bool:
        return self.status == "illustrative"

    @property
    def is_replaced(self) -> bool:
        return self.replaced_note is not None

    @property
    def notice(self) -> str | None:
        """The note a statement against this framework must print, or None when it needs none.

        An illustrative set says it is not the owner's official wording (its `status_note`); a
        replaced one says what replaced it and when (its `replaced_note`); a set that is both says both.
        """
        parts = [self.status_note] if self.is_illustrative else []
        if self.replaced_note:
            parts.append(self.replaced_note)
        return " ".join(parts) or None

    @property
    def directory(self) -> Path | None:
        """The folder the framework was loaded from (its own template lives there)."""
        return self._directory

    @property
    def template_format(self) -> str | None:
        """"md", "html" or "txt" for the framework's own template, from its file name."""
        if self.template is None:
            return None
        return self.template.rsplit(".", 2)[-2]

    def objective(self, objective_id: str) -> Objective:
        for objective in self.objectives:
            if objective.id == objective_id:
                return objective
        raise KeyError(objective_id)

    def objective_ids(self) -> list[str]:
        return [o.id for o in self.objectives]


class GlossaryEntry(_Model):
    id: str = Field(pattern=_ID_PATTERN)
    term: str = Field(min_length=1)
    meaning: str = Field(min_length=1)
    example: str = Field(min_length=1)


class Principle(_Model):
    id: str = Field(pattern=_ID_PATTERN)
    title: str = Field(min_length=1)
    text: str = Field(min_length=1)


class Choice(_Model):
    id: str = Field(pattern=_ID_PATTERN)
    label: str = Field(min_length=1)
    explanation: str | None = None
    protected: bool = False  # a protected characteristic under the Equality Act 2010
    equality: list[str] = Field(default_factory=list)  # a beneficiary group's equality characteristics


class EvidenceKind(_Model):
    id: str = Field(pattern=_ID_PATTERN)
    label: str = Field(min_length=1)
    explanation: str = Field(min_length=1)


class SourceNote(_Model):
    about: str = Field(min_length=1)
    citation: str = Field(min_length=1)
    url: str | None = None
    licence: str = Field(min_length=1)


class Guidance(_Model):
    glossary: list[GlossaryEntry] = Field(min_length=1)
    principles: list[Principle] = Field(min_length=1)
    beneficiary_groups: list[Choice] = Field(min_length=1)
    equality_characteristics: list[Choice] = Field(min_length=1)
    evidence_kinds: list[EvidenceKind] = Field(min_length=1)
    values_note: str = Field(min_length=1)  # why svbot ships no proxy £ values
    sources: list[SourceNote] = Field(min_length=1)

    @field_validator("glossary", "principles", "beneficiary_groups", "equality_characteristics")
    @classmethod
    def _unique_ids(cls, value: list[Any]) -> list[Any]:
        _check_unique(item.id for item in value)
        return value

    @field_validator("evidence_kinds")
    @classmethod
    def _evidence_kinds(cls, value: list[EvidenceKind]) -> list[EvidenceKind]:
        _check_unique(kind.id for kind in value)
        missing = [k for k in REQUIRED_EVIDENCE_KINDS if k not in {e.id for e in value}]
        if missing:
            raise ValueError(f"must include {', '.join(missing)} (the walk-through relies on them)")
        return value

    @model_validator(mode="after")
    def _equality_tags(self) -> Guidance:
        known = {c.id for c in self.equality_characteristics}
        for group in self.beneficiary_groups:
            unknown = [tag for tag in group.equality if tag not in known]
            if unknown:
                raise ValueError(
                    f"beneficiary group {group.id!r}: equality {', '.join(unknown)} is not in equality_characteristics"
                )
        return self

    def equality_of(self, groups: list[str]) -> list[str]:
        """The equality characteristics the chosen beneficiary groups belong to, in list order."""
        chosen = set(groups)
        tags = {tag for g in self.beneficiary_groups if g.id in chosen for tag in g.equality}
        return [c.id for c in self.equality_characteristics if c.id in tags]

    def evidence_kind(self, kind_id: str) -> EvidenceKind:
        return _find(self.evidence_kinds, kind_id)

    def beneficiary_label(self, value: str) -> str:
        """The label for a known group or characteristic id; anything else is the person's own words."""
        for choice in (*self.beneficiary_groups, *self.equality_characteristics):
            if choice.id == value:
                return choice.label
        return value

    def term(self, entry_id: str) -> GlossaryEntry:
        return _find(self.glossary, entry_id)


class Knowledge(_Model):
    frameworks: dict[str, Framework]  # by id, sorted by id so menus do not reshuffle
    guidance: Guidance

    def framework(self, framework_id: str) -> Framework:
        try:
            return self.frameworks[framework_id]
        except KeyError:
            known = ", ".join(self.frameworks) or "none"
            raise KeyError(f"no framework with id {framework_id!r} (known: {known})") from None


def load_knowledge(directory: Path) -> Knowledge:
    """Read and validate every YAML file in `directory`."""
    directory = Path(directory)
    if not directory.is_dir():
        raise KnowledgeError(f"{directory}: knowledge folder not found")
    guidance_path = directory / GUIDANCE_FILE
    if not guidance_path.is_file():
        raise KnowledgeError(f"{guidance_path}: file missing (svbot needs its glossary and lists)")
    guidance = _parse(guidance_path, Guidance)
    frameworks: dict[str, Framework] = {}
    seen_in: dict[str, Path] = {}
    for path in _framework_files(directory):
        framework = _parse(path, Framework)
        if framework.id in frameworks:
            raise KnowledgeError(
                f"{path}: id: {framework.id!r} is already used by {seen_in[framework.id].name}"
            )
        if framework.template and not (directory / framework.template).is_file():
            raise KnowledgeError(f"{path}: template: file {framework.template!r} not found beside it")
        framework._directory = directory
        frameworks[framework.id] = framework
        seen_in[framework.id] = path
    if not frameworks:
        raise KnowledgeError(f"{directory}: no framework files (*.yaml) found")
    ordered = {key: frameworks[key] for key in sorted(frameworks)}
    return Knowledge(frameworks=ordered, guidance=guidance)


_cache: dict[Path, tuple[tuple[tuple[str, int], ...], Knowledge]] = {}


def default_knowledge() -> Knowledge:
    """The knowledge folder from settings (SVBOT_KNOWLEDGE_DIR) or the one shipped with svbot.

    Cached, but reloaded when a file is added, removed or changed, so a dropped-in framework
    shows up without a restart.
    """
    directory = knowledge_dir(get_settings().knowledge_dir).resolve()
    stamp = tuple(sorted((p.name, p.stat().st_mtime_ns) for p in directory.iterdir() if p.is_file()))
    cached = _cache.get(directory)
    if cached is not None and cached[0] == stamp:
        return cached[1]
    knowledge = load_knowledge(directory)
    _cache[directory] = (stamp, knowledge)
    return knowledge


def _framework_files(directory: Path) -> list[Path]:
    files = [*directory.glob("*.yaml"), *directory.glob("*.yml")]
    return sorted(p for p in files if p.name != GUIDANCE_FILE and p.is_file())


def _parse(path: Path, model: type[_M]) -> _M:
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark is not None else "somewhere"
        problem = getattr(exc, "problem", None) or "not valid YAML"
        raise KnowledgeError(f"{path}: {where}: {problem}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise KnowledgeError(f"{path}: cannot read the file ({exc})") from None
    if not isinstance(raw, dict):
        raise KnowledgeError(f"{path}: (top level): expected keys and values, found {type(raw).__name__}")
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        more = exc.error_count() - 1
        extra = f" (and {more} more problem{'s' if more > 1 else ''})" if more else ""
        raise KnowledgeError(f"{path}: {_location(first['loc'])}: {_reason(first)}{extra}") from None


def _location(loc: Iterable[Any]) -> str:
    """('objectives', 2, 'examples') -> 'objectives[2].examples'."""
    text = ""
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else str(part)
    return text or "(top level)"


def _reason(error: Any) -> str:
    kind = error["type"]
    if kind == "missing":
        return "required but missing"
    if kind == "extra_forbidden":
        return "unknown key (check the spelling)"
    message = str(error["msg"])
    return message.removeprefix("Value error, ")


def _check_unique(ids: Iterable[str]) -> None:
    seen: set[str] = set()
    for item_id in ids:
        if item_id in seen:
            raise ValueError(f"id {item_id!r} is used twice")
        seen.add(item_id)


_T = TypeVar("_T", Choice, EvidenceKind, GlossaryEntry)


def _find(items: Iterable[_T], item_id: str) -> _T:
    for item in items:
        if item.id == item_id:
            return item
    raise KeyError(item_id)
