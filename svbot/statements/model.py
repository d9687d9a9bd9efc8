"""The draft evidence statement: what goes in (answers) and what comes out (the statement).

`StatementInput` is built from the walk-through's answers; `compose()` turns it into a
`Statement`, which the templates render. Both are plain pydantic models with attribute access.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import date
from typing import Literal

from pydantic import BaseModel, Field

from svbot.text import text

Strength = Literal["evidenced", "partly", "not_yet"]
STRENGTHS: tuple[Strength, ...] = ("evidenced", "partly", "not_yet")


class _StrengthLabels(Mapping[str, str]):
    """A strength's label ("Partly evidenced"), looked up each time in the current locale."""

    def __getitem__(self, strength: str) -> str:
        if strength not in STRENGTHS:
            raise KeyError(strength)
        return text(f"statement.strength.{strength}")

    def __iter__(self) -> Iterator[str]:
        return iter(STRENGTHS)

    def __len__(self) -> int:
        return len(STRENGTHS)


STRENGTH_LABELS: Mapping[str, str] = _StrengthLabels()


# ---- input: the answers -------------------------------------------------------------------------


class OwnValue(BaseModel):
    """A £ value the organisation worked out itself. svbot ships no proxy values."""

    amount: float  # GBP
    description: str
    source: str  # where the figure comes from, in the user's words


# The figures a group can give, in the order they are shown.
COUNTED = ("people_reached", "sessions", "volunteers", "volunteer_hours", "local_spend", "partners")


class Numbers(BaseModel):
    people_reached: int | None = None
    sessions: int | None = None
    volunteers: int | None = None
    volunteer_hours: float | None = None
    local_spend: float | None = None  # GBP
    partners: int | None = None
    own_value: OwnValue | None = None
    # A figure's qualifier as the person gave it ("about", "over", "at least"): field -> word.
    qualifiers: dict[str, str] = Field(default_factory=dict)

    def given(self) -> bool:
        return any(getattr(self, name) is not None for name in COUNTED) or self.own_value is not None


class Commitment(BaseModel):
    text: str | None = None
    measure: str | None = None
    due: date | None = None


class ObjectiveEvidence(BaseModel):
    objective_id: str
    activity: str | None = None
    over_and_above: str | None = None  # what it adds beyond what is paid for (PPN 06/20's "over and above")
    beneficiaries: list[str] = Field(default_factory=list)  # group ids from guidance, or own words
    equality_groups: list[str] = Field(default_factory=list)  # characteristic ids, or own words
    numbers: Numbers = Field(default_factory=Numbers)
    change: str | None = None
    evidence_kinds: list[str] = Field(default_factory=list)  # ids from guidance.evidence_kinds
    evidence_detail: str | None = None
    story: str | None = None
    commitment: Commitment = Field(default_factory=Commitment)


class StatementInput(BaseModel):
    org_name: str
    org_what: str | None = None
    org_where: str | None = None
    size_band: str | None = None
    framework_id: str
    period: str | None = None  # the financial year the statement was made in, e.g. "2026-27"
    # About the whole organisation, asked once (issue 14). Older statements have these per objective.
    who_benefits: list[str] = Field(default_factory=list)  # group ids from guidance, or own words
    equality_groups: list[str] = Field(default_factory=list)  # characteristic ids, or own words
    numbers: Numbers = Field(default_factory=Numbers)
    figures_from: date | None = None  # the period the organisation's figures cover
    figures_to: date | None = None
    objectives: list[ObjectiveEvidence]
    word_limit: int | None = None
    char_limit: int | None = None
    # Paragraphs the group rewrote in its own words ("reword 2"): "opening" or an objective id -> text.
    reworded: dict[str, str] = Field(default_factory=dict)

    def whole_numbers(self) -> Numbers:
        """The organisation's own figures; for a statement made before they were asked once, each
        figure's largest value over the objectives (the same people are often counted under several
        objectives, so the largest is an honest lower bound where a sum would over-claim)."""
        if self.numbers.given() or not self.objectives:
            return self.numbers
        merged: dict[str, object] = {}
        for name in COUNTED:
            values = [getattr(ev.numbers, name) for ev in self.objectives if getattr(ev.numbers, name) is not None]
            if values:
                merged[name] = max(values)
        return Numbers(**merged)  # type: ignore[arg-type]


# ---- output: the statement ----------------------------------------------------------------------
#
# Two parts, kept apart: the text to submit (an opening about the organisation, then one paragraph per
# objective under the funder's own wording), and svbot's notes to the charity (how well each part is
# evidenced, the figures and any working, the gaps). Word limits count the text to submit only.

PartKind = Literal[
    "what", "figures", "who", "equality", "own_value",  # the opening
    "activity", "reach", "over_and_above", "change", "evidence", "result", "story", "commitment",
    "commitment_detail",  # how it will be measured and by when, from the answers: never cut
]  # fmt: skip


class Part(BaseModel):
    """One piece of a paragraph: the charity's own words, or a sentence svbot writes from their answers."""

    kind: PartKind
    text: str
    own: bool  # the charity's own words, kept as given (trimmable); else svbot's sentence from their answers
    trimmed: bool = False  # shortened to fit a limit


class Gap(BaseModel):
    objective_id: str | None
    objective_title: str | None
    problem: str  # "No evidence yet of the difference for ..."
    suggestion: str


class Figure(BaseModel):
    """One figure as the person gave it (or worked out from theirs), for the notes' list."""

    objective_title: str | None  # None: the whole organisation
    measure: str  # e.g. "Volunteer hours"
    figure: str  # formatted exactly from the user's value: "1,200", "about £2,500"
    note: str | None = None  # e.g. the source of an own valuation


class ObjectiveSection(BaseModel):
    id: str
    number: int  # 1-based position in the statement
    title: str  # the funder's own wording
    theme: str | None = None
    parts: list[Part]
    strength: Strength  # the headline: how well the difference it makes is evidenced (else what it does)
    evidence_note: str  # why, in a sentence, for the notes
    trimmed: bool = False  # some of this section's text was cut to fit a limit
    own_text: str | None = None  # the group's own wording of the whole paragraph, used as typed

    @property
    def strength_label(self) -> str:
        return STRENGTH_LABELS[self.strength]

    @property
    def paragraph(self) -> str:
        return self.own_text or " ".join(part.text for part in self.parts)

    def part(self, kind: str) -> Part | None:
        return next((p for p in self.parts if p.kind == kind), None)


class Statement(BaseModel):
    org_name: str
    figures_period: str | None = None  # "April 2025 to March 2026", "the 12 months to November 2026"
    opening: list[Part]
    own_opening: str | None = None  # the group's own wording of the opening, used as typed
    sections: list[ObjectiveSection]
    framework_id: str
    framework_title: str
    framework_owner: str
    framework_status: Literal["official", "illustrative"]
    framework_source: str
    framework_url: str | None
    framework_licence: str
    notice: str | None  # the framework's warning: an illustrative starter set, or a replaced policy
    figures: list[Figure]
    working: list[str]  # how svbot worked out any number it computed: "28 ÷ 35 = 80%"
    notes: list[str]  # about the evidence: estimates, a survey smaller than the people reached, ...
    gaps: list[Gap]
    word_limit: int | None = None
    char_limit: int | None = None
    word_count: int | None = None  # words in the text to submit (set by compose)
    char_count: int | None = None
    within_limit: bool = True
    over_by: int = 0  # words (or characters) still over the limit, when nothing more may be cut
    trimmed: bool = False
    # A framework's own template: its folder and file name (format from the name's suffix).
    template_dir: str | None = None
    template_name: str | None = None

    @property
    def opening_paragraph(self) -> str:
        return self.own_opening or " ".join(part.text for part in self.opening)

    def paragraphs(self) -> list[tuple[str, str, str]]:
        """(key, heading, text) of each paragraph of the text to submit, in order: what "reword N" numbers."""
        return [("opening", "", self.opening_paragraph), *((s.id, s.title, s.paragraph) for s in self.sections)]

    @property
    def count_line(self) -> str:
        """The closing line about length, in the current locale."""
        by_characters = bool(self.char_limit and not self.word_limit)
        used = (self.char_count if by_characters else self.word_count) or 0
        limit = self.char_limit if by_characters else self.word_limit
        if by_characters:
            said = [text("statement.length.characters_limit", count=used, limit=limit) if limit
                    else text("statement.length.characters", count=used)]  # fmt: skip
        else:
            said = [text("statement.length.words_limit", count=used, limit=limit) if limit
                    else text("statement.length.words", count=used)]  # fmt: skip
        if self.trimmed:
            said.append(text("statement.length.trimmed"))
        if not self.within_limit:
            said.append(text("statement.length.over_characters" if by_characters else "statement.length.over_words",
                             count=self.over_by))  # fmt: skip
        return " ".join(said)
