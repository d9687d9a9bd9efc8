"""The draft evidence statement: what goes in (answers) and what comes out (the statement).

`StatementInput` is built from the walk-through's answers; `compose()` turns it into a
`Statement`, which the templates render. Both are plain pydantic models with attribute access.
"""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import BaseModel, Field

Strength = Literal["evidenced", "partly", "not_yet"]

STRENGTH_LABELS: dict[str, str] = {
    "evidenced": "Evidenced",
    "partly": "Partly evidenced",
    "not_yet": "Not yet evidenced",
}


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


class Claim(BaseModel):
    """One thing the statement asserts, with how well it is backed up."""

    text: str
    strength: Strength

    @property
    def strength_label(self) -> str:
        return STRENGTH_LABELS[self.strength]


class NumberRow(BaseModel):
    objective_id: str
    objective_title: str
    measure: str  # e.g. "Volunteer hours"
    figure: str  # formatted exactly from the user's value: "1,200", "£2,500.50"
    note: str | None = None  # e.g. the source of an own valuation


class Gap(BaseModel):
    objective_id: str | None
    objective_title: str | None
    problem: str  # "No evidence given for ..."
    suggestion: str


class CommitmentOut(BaseModel):
    text: str | None
    measure: str | None
    due: date | None
    due_text: str | None  # "31 March 2027"


class ObjectiveSection(BaseModel):
    id: str
    number: int  # 1-based position in the statement
    title: str
    theme: str | None = None
    activity: Claim | None  # what we do
    over_and_above: str | None = None
    who_benefits: list[str]
    equality_groups: list[str]
    numbers_text: str | None  # the figures as one sentence, exactly as given
    difference: Claim | None  # the difference it makes
    evidence: list[str]  # evidence kind labels
    evidence_detail: str | None
    story: str | None
    commitment: CommitmentOut
    strength: Strength  # the section's headline strength (that of its difference claim)
    trimmed: bool = False  # some of this section's text was cut to fit a limit

    @property
    def strength_label(self) -> str:
        return STRENGTH_LABELS[self.strength]


class Statement(BaseModel):
    org_name: str
    org_what: str | None
    org_where: str | None
    size_band: str | None
    period: str | None
    figures_period: str | None = None  # "1 April 2025 to 31 March 2026"
    numbers_text: str | None = None  # the organisation's figures as one sentence, exactly as given
    who_benefits: list[str] = Field(default_factory=list)
    equality_groups: list[str] = Field(default_factory=list)
    framework_id: str
    framework_title: str
    framework_owner: str
    framework_status: Literal["official", "illustrative"]
    framework_source: str
    framework_url: str | None
    framework_licence: str
    illustrative_note: str | None  # shown when the framework is an illustrative starter set
    summary: str
    sections: list[ObjectiveSection]
    numbers: list[NumberRow]
    gaps: list[Gap]
    word_limit: int | None = None
    char_limit: int | None = None
    word_count: int | None = None  # words in the plain-text draft (set by compose)
    char_count: int | None = None
    within_limit: bool = True
    trimmed: bool = False
    # True while compose measures the draft: the count covers what would be submitted (summary,
    # objectives, numbers), not svbot's notes to the user (the gaps list, sources and this line).
    counting: bool = False
    # A framework's own template: its folder and file name (format from the name's suffix).
    template_dir: str | None = None
    template_name: str | None = None

    @property
    def count_line(self) -> str:
        """The closing line about length. Its number of words does not depend on the counts."""
        text = f"This draft uses {self.word_count} words"
        if self.word_limit:
            text += f" (limit {self.word_limit})"
        if self.char_limit:
            text += f" and {self.char_count} characters (limit {self.char_limit})"
        text += ", counted on the plain-text statement without the gaps list and these notes."
        if self.trimmed:
            text += " Some answers were shortened to fit."
        if not self.within_limit:
            text += " It is still over the limit: the numbers are never cut, so please shorten by hand."
        return text
