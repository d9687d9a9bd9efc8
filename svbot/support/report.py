"""The annual social value report of a support organisation, for a council committee.

One report year (April to March by default): each member's latest statement whose figures end within
the year (a statement without figure dates counts for the year it was made in), and the monitoring
reports due for periods ending within it. The report says:

- the headline figures (people reached, volunteers, volunteer hours), each organisation counted once:
  its organisation-wide figures, or for an older statement the largest figure it gave under any
  objective; an estimate anywhere makes the total "about";
- what members delivered per objective: an organisation working on several objectives is listed
  under each, so these rows are never added up into the headline;
- groups reached, by protected characteristic and low income (counts of organisations);
- commitments for next year, once each, with the objectives they serve;
- monitoring reports sent by their original due date, by an extended one, late, or not yet;
- how social value weighed in the support organisation's own grant programmes;
- gaps in the evidence, the method and sources, an optional foreword, and last year's figures.

Privacy (svbot/support/access.py): a member's words, stories, commitments and per-objective figures
appear only when it shared its statement; a member that did not is counted only in anonymous totals
("2 other members took part"). Naming who has and has not sent a statement or a monitoring report
is allowed: that is a matter of record for the funder.

Rendered as HTML (Jinja2 sandbox, autoescaped) and as Word (svbot/documents.py, the shared template),
each with three bar charts with alt text. The HTML's are SVG drawn here (no dependency: a terminal
install stays light); Word takes pictures, so its charts are PNGs drawn by matplotlib (Agg, no display
needed), the optional `svbot[charts]` extra: without it the Word file says how to add them, and its
tables carry the same figures. Its words come
from svbot/texts/<locale>.yaml (the `report.` group), in the current locale.
"""

from __future__ import annotations

import base64
import re
import textwrap
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from io import BytesIO
from pathlib import Path
from typing import Any

from jinja2 import FileSystemLoader, StrictUndefined, select_autoescape
from jinja2.sandbox import SandboxedEnvironment
from markupsafe import Markup, escape
from sqlalchemy import and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from svbot import text as texts
from svbot.clean import one_line
from svbot.deadlines.models import SUBMITTED, WAIVED, Deadline, Grant, Programme
from svbot.evidence import StatementRecord
from svbot.knowledge import Knowledge
from svbot.models import Organisation
from svbot.statements.compose import StatementError, compose
from svbot.statements.model import STRENGTH_LABELS, Numbers, StatementInput
from svbot.statements.text import format_count, format_money
from svbot.text import date_values, text

TEMPLATES = Path(__file__).resolve().parent / "templates"
FORMATS = ("html", "docx")
STORY_CHARS = 600
FIGURES = ("people_reached", "volunteers", "volunteer_hours")
# How a deadline of the year ended up: sent by its original due date, by an extended one, late, not
# sent and overdue, or not due yet (left out of the chart).
ON_TIME, EXTENDED, LATE, NOT_SENT, NOT_DUE = "on_time", "extended", "late", "not_sent", "not_due"
OUTCOMES = (ON_TIME, EXTENDED, LATE, NOT_SENT)
LOW_INCOME = "low_income"
# A member that did not share is counted only in anonymous totals, and only when at least this many
# did not share: one alone could be worked out by taking what the sharing members gave from a total.
FEWEST_UNSHARED = 2
_QUOTES = "\"'“”‘’«»„"


class ReportError(ValueError):
    """The report cannot be made as asked (unknown support organisation or framework, a year it cannot read)."""


@dataclass(frozen=True, slots=True)
class ReportYear:
    """The report year: `label` as people write it ("2026-27"), first and last day included."""

    label: str
    start: date
    end: date

    def previous(self) -> ReportYear:
        start = self.start.replace(year=self.start.year - 1)
        return ReportYear(_label(start), start, self.start - timedelta(days=1))

    def __contains__(self, day: object) -> bool:
        return isinstance(day, date) and self.start <= day <= self.end


def report_year(period: str, start_month: int = 4) -> ReportYear:
    """ "2026-27", "2026/27" or "2026" as the year starting on the first of `start_month` (April: the
    financial year) of 2026; with start_month 1, "2026" is the calendar year."""
    if not 1 <= start_month <= 12:
        raise ReportError(f"a year starts in month 1 to 12, not {start_month}")
    found = re.fullmatch(r"\s*(\d{4})(?:\s*[-/–]\s*(\d{2}|\d{4}))?\s*", period or "")
    if not found:
        raise ReportError(f"{period!r} is not a year; write it like 2026-27")
    first = int(found.group(1))
    if found.group(2):
        second = int(found.group(2))
        if second % 100 != (first + 1) % 100:
            raise ReportError(f"{period!r} is not a year; write it like 2026-27")
    start = date(first, start_month, 1)
    end = start.replace(year=first + 1) - timedelta(days=1)
    return ReportYear(_label(start), start, end)


def _label(start: date) -> str:
    return str(start.year) if start.month == 1 else f"{start.year}-{(start.year + 1) % 100:02d}"


@dataclass
class ObjectiveRow:
    """One objective's delivery, from the shared statements that work on it."""

    id: str
    title: str
    organisations: int = 0
    people_reached: int = 0
    volunteers: int = 0
    volunteer_hours: float = 0.0
    strength: Counter[str] = field(default_factory=Counter)
    names: list[str] = field(default_factory=list)  # the (sharing) organisations listed under it
    estimated: set[str] = field(default_factory=set)  # figures that include an estimate


@dataclass(frozen=True, slots=True)
class CommitmentRow:
    """One commitment of a sharing member, once however many objectives it serves."""

    organisation: str
    objectives: tuple[str, ...]
    text: str
    measure: str | None
    due: date | None

    @property
    def objective(self) -> str:
        return "; ".join(self.objectives)


@dataclass(frozen=True, slots=True)
class Story:
    organisation: str
    objective: str
    text: str


@dataclass(frozen=True, slots=True)
class EqualityRow:
    """A protected characteristic (or low income) and how many member organisations reach it."""

    id: str
    label: str
    organisations: int
    protected: bool


@dataclass(frozen=True, slots=True)
class DeadlineRow:
    """A monitoring report due for a period ending within the year."""

    organisation: str
    title: str
    due: date  # the due date now (extended or not)
    original_due: date
    submitted: date | None
    outcome: str  # one of OUTCOMES, or NOT_DUE


@dataclass(frozen=True, slots=True)
class MemberWords:
    """A sharing member's own words from a monitoring report of the year (its equality counts)."""

    organisation: str
    period_end: date | None
    text: str


@dataclass(frozen=True, slots=True)
class FollowUp:
    """A commitment from last year's shared statement, and what the member said of it since: the
    progress answer of its latest shared monitoring report of this year, or None (not yet followed up)."""

    organisation: str
    text: str
    due: date | None
    answer: str | None
    period_end: date | None = None  # of the monitoring report that answered


@dataclass(frozen=True, slots=True)
class ProgrammeRow:
    """One of the support organisation's own grant programmes: how social value weighed in it."""

    title: str
    weighting: Decimal | None  # percent of the decision; None: not recorded
    grants: int  # awarded within the year
    amount: Decimal  # GBP awarded within the year
    scored: bool | None = None  # was social value scored in its decisions? None: not recorded


@dataclass(frozen=True, slots=True)
class Totals:
    """Last year's headline figures, for the comparison."""

    label: str
    statements: int
    people_reached: int
    volunteers: int
    volunteer_hours: float
    estimated: frozenset[str] = frozenset()
    left_out: int = 0  # members that did not share, too few to count (FEWEST_UNSHARED)


@dataclass
class _Tally:
    """Anonymous counts over statements: headline figures, estimates, claims' strengths, groups reached."""

    people_reached: int = 0
    volunteers: int = 0
    volunteer_hours: float = 0.0
    estimated: set[str] = field(default_factory=set)
    strength: Counter[str] = field(default_factory=Counter)
    reached: Counter[str] = field(default_factory=Counter)
    no_figures: int = 0
    statements: int = 0

    def add(self, data: StatementInput) -> Numbers:
        """Add the statement's organisation-wide figures (each organisation once); return them."""
        whole, estimated = _whole(data)
        self.statements += 1
        if not any(getattr(whole, f) is not None for f in FIGURES):
            self.no_figures += 1
        self.people_reached += whole.people_reached or 0
        self.volunteers += whole.volunteers or 0
        self.volunteer_hours += whole.volunteer_hours or 0.0
        self.estimated |= estimated
        return whole

    def merge(self, other: _Tally) -> None:
        self.people_reached += other.people_reached
        self.volunteers += other.volunteers
        self.volunteer_hours += other.volunteer_hours
        self.estimated |= other.estimated
        self.strength.update(other.strength)
        self.reached.update(other.reached)
        self.no_figures += other.no_figures
        self.statements += other.statements


@dataclass
class AnnualReport:
    support_name: str
    period: str
    framework_id: str | None
    framework_title: str
    members: int
    organisations: list[str]  # whose statements are included (naming them is allowed)
    missing: list[str]  # members with no statement for this framework and year
    objectives: list[ObjectiveRow]
    people_reached: int = 0  # each organisation once, every included statement
    volunteers: int = 0
    volunteer_hours: float = 0.0
    estimated: set[str] = field(default_factory=set)  # headline figures that include an estimate
    strength: Counter[str] = field(default_factory=Counter)
    commitments: list[CommitmentRow] = field(default_factory=list)
    stories: list[Story] = field(default_factory=list)
    shared: int = 0  # statements their organisations agreed to share
    generated: date | None = None
    year: ReportYear | None = None
    framework_source: str | None = None
    equality: list[EqualityRow] = field(default_factory=list)
    deadlines: list[DeadlineRow] = field(default_factory=list)
    programmes: list[ProgrammeRow] = field(default_factory=list)
    previous: Totals | None = None
    foreword: list[str] = field(default_factory=list)  # the officer's paragraphs, as written
    follow_ups: list[FollowUp] = field(default_factory=list)  # last year's commitments
    equality_monitoring: int = 0  # members whose monitoring report of the year says they count by group
    monitoring_members: int = 0  # members that submitted a monitoring report of the year
    equality_counts: list[MemberWords] = field(default_factory=list)  # from shared monitoring reports only
    no_figures: int = 0  # included statements that gave no headline figure
    left_out: int = 0  # members that did not share, too few to count in the totals (FEWEST_UNSHARED)
    logo: bytes | None = None  # the support organisation's logo (PNG or JPEG), for the title page

    @property
    def statements(self) -> int:
        return len(self.organisations)

    @property
    def others(self) -> int:
        """Members that took part without sharing their statement: counted only in the totals."""
        return self.statements - self.shared

    @property
    def covered(self) -> list[ObjectiveRow]:
        return [o for o in self.objectives if o.organisations]

    @property
    def outcomes(self) -> Counter[str]:
        return Counter(d.outcome for d in self.deadlines if d.outcome != NOT_DUE)

    @property
    def sent(self) -> list[str]:
        """Members that sent every monitoring report due in the year (some perhaps late)."""
        late = set(self.not_sent)
        return sorted({d.organisation for d in self.deadlines if d.submitted} - late)

    @property
    def not_sent(self) -> list[str]:
        """Members with a monitoring report of the year overdue and not sent."""
        return sorted({d.organisation for d in self.deadlines if d.outcome == NOT_SENT})

    def figure(self, name: str, value: float | None = None) -> str:
        """A headline figure as words: "485", or "about 485" when a member's figure was an estimate."""
        number = format_count(getattr(self, name) if value is None else value)
        return text("report.about", number=number) if name in self.estimated else number


async def build_report(
    session: AsyncSession,
    support_org_id: int,
    period: str,
    knowledge: Knowledge,
    *,
    framework_id: str | None = None,
    today: date | None = None,
    max_stories: int = 3,
    start_month: int = 4,
    foreword: str | None = None,
    logo: bytes | None = None,
) -> AnnualReport:
    """The report for the year `period` ("2026-27"; the year starts in `start_month`, April by
    default). `foreword`: the officer's foreword and recommendations, paragraphs split by blank lines;
    `logo`: the support organisation's logo, PNG or JPEG bytes, for the title page."""
    if logo is not None and not logo.startswith((b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff")):
        raise ReportError("the logo must be a PNG or JPEG picture")
    support = await session.get(Organisation, support_org_id)
    if support is None or support.kind != "support":
        raise ReportError(f"there is no support organisation with id {support_org_id}")
    year = report_year(period, start_month)
    today = today or date.today()
    members = (
        await session.scalars(
            select(Organisation).where(Organisation.support_org_id == support_org_id).order_by(Organisation.name)
        )
    ).all()
    every = await _statements(session, [m.id for m in members])
    records = _of_year(every, year)
    framework_id = framework_id or support.framework_id or _most_used(records.values())
    framework = knowledge.frameworks.get(framework_id) if framework_id else None
    if framework_id and framework is None:
        raise ReportError(f"there is no framework with id {framework_id!r} (known: {', '.join(knowledge.frameworks)})")
    report = AnnualReport(
        support_name=one_line(support.name),  # names may come from imported files: one line each
        period=year.label,
        framework_id=framework_id,
        framework_title=framework.title if framework else text("report.no_framework"),
        members=len(members),
        organisations=[],
        missing=[],
        objectives=[ObjectiveRow(o.id, o.title) for o in framework.objectives] if framework else [],
        generated=today,
        year=year,
        framework_source=framework.source.citation if framework else None,
        foreword=_paragraphs(foreword),
        logo=logo,
    )
    rows = {row.id: row for row in report.objectives}
    counted, unshared = _Tally(), _Tally()
    for member in members:
        record = records.get(member.id)
        if record is None or record.framework_id != framework_id:
            report.missing.append(one_line(member.name))
            continue
        data = StatementInput.model_validate(record.data)
        tally = counted if record.shared else unshared
        _add_statement(report, rows, record, data, one_line(member.name), knowledge, tally)
        tally.reached.update(_characteristics(data, knowledge))
    if unshared.statements >= FEWEST_UNSHARED:
        counted.merge(unshared)
    else:
        report.left_out = unshared.statements
    report.people_reached, report.volunteers = counted.people_reached, counted.volunteers
    report.volunteer_hours, report.estimated = counted.volunteer_hours, counted.estimated
    report.strength, report.no_figures = counted.strength, counted.no_figures
    report.equality = [
        EqualityRow(c.id, c.label, counted.reached[c.id], c.protected)
        for c in knowledge.guidance.equality_characteristics
        if c.protected or c.id == LOW_INCOME
    ]
    names = {m.id: one_line(m.name) for m in members}
    report.stories = _pick_stories(report, records, names, framework_id, rows, max_stories)
    report.commitments.sort(key=lambda c: (c.due is None, c.due or date.max, c.organisation, c.text))
    report.previous = _previous(every, members, year.previous(), framework_id)
    report.deadlines = await _deadlines(session, support_org_id, year, today)
    monitoring = await _monitoring_reports(session, support_org_id, year)
    _add_monitoring(report, monitoring)
    report.follow_ups = _follow_ups(every, members, year.previous(), framework_id, monitoring)
    report.programmes = await _programmes(session, support_org_id, year)
    return report


def _add_statement(
    report: AnnualReport,
    rows: dict[str, ObjectiveRow],
    record: StatementRecord,
    data: StatementInput,
    name: str,
    knowledge: Knowledge,
    tally: _Tally,
) -> None:
    try:
        strengths = {s.id: s.strength for s in compose(data, knowledge).sections}
    except StatementError:
        strengths = {}
    shared = bool(record.shared)
    report.organisations.append(name)
    report.shared += shared
    # The headline counts each organisation once: its organisation-wide figures (the same people are
    # often counted under several objectives, so per-objective figures are never added up).
    whole = tally.add(data)
    estimated = _whole(data)[1]
    commitments: dict[str, tuple[list[str], Any]] = {}
    for evidence in data.objectives:
        row = rows.get(evidence.objective_id)
        if row is None:
            continue  # an objective the framework no longer has
        strength = strengths.get(evidence.objective_id)
        if strength:
            tally.strength[strength] += 1  # an anonymous count
        if not shared:
            continue  # what it did under each objective is its own unless it shared the statement
        numbers = evidence.numbers if evidence.numbers.given() else whole
        row.organisations += 1
        row.names.append(name)
        row.people_reached += numbers.people_reached or 0
        row.volunteers += numbers.volunteers or 0
        row.volunteer_hours += numbers.volunteer_hours or 0.0
        row.estimated |= {f for f in FIGURES if f in numbers.qualifiers} if numbers is not whole else estimated
        if strength:
            row.strength[strength] += 1
        commitment = evidence.commitment
        words = (commitment.text or "").strip()
        if words:
            key = " ".join(words.casefold().split())
            commitments.setdefault(key, ([], commitment))[0].append(row.title)
    for titles, commitment in commitments.values():
        report.commitments.append(
            CommitmentRow(
                name, tuple(dict.fromkeys(titles)), commitment.text.strip(), commitment.measure, commitment.due
            )
        )


def _whole(data: StatementInput) -> tuple[Numbers, set[str]]:
    """The organisation's own figures, and which of them are estimates ("about", "over", ...)."""
    whole = data.whole_numbers()
    if data.numbers.given():
        return whole, {f for f in FIGURES if f in data.numbers.qualifiers}
    estimated = {
        f
        for f in FIGURES
        for ev in data.objectives
        if f in ev.numbers.qualifiers and getattr(ev.numbers, f) == getattr(whole, f)
    }
    return whole, estimated


def _characteristics(data: StatementInput, knowledge: Knowledge) -> set[str]:
    """The equality characteristics (known ids only, never a member's own words) its statement names."""
    groups = [*data.who_benefits, *(g for ev in data.objectives for g in ev.beneficiaries)]
    named = {*data.equality_groups, *(g for ev in data.objectives for g in ev.equality_groups)}
    known = {c.id for c in knowledge.guidance.equality_characteristics}
    return (named & known) | set(knowledge.guidance.equality_of(groups))


def _pick_stories(
    report: AnnualReport,
    records: dict[int, StatementRecord],
    names: dict[int, str],
    framework_id: str | None,
    rows: dict[str, ObjectiveRow],
    limit: int,
) -> list[Story]:
    """A few stories, one per organisation, only from statements shared with the support organisation."""
    stories: list[Story] = []
    for org_id, record in sorted(records.items(), key=lambda item: names.get(item[0], "")):
        if len(stories) >= limit:
            break
        if not record.shared or record.framework_id != framework_id:
            continue
        data = StatementInput.model_validate(record.data)
        for evidence in data.objectives:
            words = unquoted(evidence.story)
            if words and evidence.objective_id in rows:
                if len(words) > STORY_CHARS:
                    words = words[: STORY_CHARS - 1].rsplit(" ", 1)[0] + "…"
                stories.append(Story(names[org_id], rows[evidence.objective_id].title, words))
                break
    return stories


def unquoted(words: str | None) -> str:
    """A member's quote without the quotation marks it was typed with (the report adds its own)."""
    words = (words or "").strip()
    while len(words) >= 2 and words[0] in _QUOTES and words[-1] in _QUOTES:
        words = words[1:-1].strip()
    return words


async def _statements(session: AsyncSession, org_ids: list[int]) -> list[StatementRecord]:
    """Every statement of these organisations, latest first."""
    if not org_ids:
        return []
    rows = await session.scalars(
        select(StatementRecord)
        .where(StatementRecord.organisation_id.in_(org_ids))
        .order_by(StatementRecord.created_at.desc(), StatementRecord.id.desc())
    )
    return list(rows.all())


def _of_year(records: Iterable[StatementRecord], year: ReportYear) -> dict[int, StatementRecord]:
    """Each organisation's latest statement of the year: its figures end within the year, or, with no
    figure dates, it was made for the year."""
    found: dict[int, StatementRecord] = {}
    for record in records:
        if record.organisation_id not in found and _ends_within(record, year):
            found[record.organisation_id] = record
    return found


def _ends_within(record: StatementRecord, year: ReportYear) -> bool:
    end = (record.data or {}).get("figures_to")
    if end:
        try:
            return date.fromisoformat(str(end)[:10]) in year
        except ValueError:
            pass
    return record.period is not None and record.period.strip() == year.label


def _previous(
    records: list[StatementRecord], members: Iterable[Organisation], year: ReportYear, framework_id: str | None
) -> Totals | None:
    """Last year's headline figures, counted the same way, when members made statements for it."""
    found = _of_year(records, year)
    counted, unshared = _Tally(), _Tally()
    for member in members:
        record = found.get(member.id)
        if record is None or record.framework_id != framework_id:
            continue
        (counted if record.shared else unshared).add(StatementInput.model_validate(record.data))
    statements = counted.statements + unshared.statements
    if not statements:
        return None
    left_out = 0
    if unshared.statements >= FEWEST_UNSHARED:
        counted.merge(unshared)
    else:
        left_out = unshared.statements
    return Totals(year.label, statements, counted.people_reached, counted.volunteers, counted.volunteer_hours,
                  frozenset(counted.estimated), left_out)  # fmt: skip


async def _deadlines(session: AsyncSession, support_org_id: int, year: ReportYear, today: date) -> list[DeadlineRow]:
    """The members' monitoring reports for periods ending within the year (by due date when a
    deadline has no period), and how each ended up. Waived ones are left out."""
    rows = await session.execute(
        select(Deadline, Organisation.name)
        .join(Organisation, Organisation.id == Deadline.organisation_id)
        .where(
            Organisation.support_org_id == support_org_id,
            Deadline.status != WAIVED,
            _within(year),
        )
        .order_by(Organisation.name, Deadline.due_date, Deadline.id)
    )
    found = []
    for deadline, name in rows.all():
        original = deadline.extended_from or deadline.due_date
        sent = deadline.status_at.date() if deadline.status == SUBMITTED and deadline.status_at else None
        if deadline.status == SUBMITTED:
            sent = sent or deadline.due_date
            if sent <= original:
                outcome = ON_TIME
            elif deadline.extended_from and sent <= deadline.due_date:
                outcome = EXTENDED
            else:
                outcome = LATE
        else:
            outcome = NOT_SENT if deadline.due_date < today else NOT_DUE
        found.append(DeadlineRow(one_line(name), deadline.title, deadline.due_date, original, sent, outcome))
    return found


@dataclass(frozen=True, slots=True)
class _Submitted:
    organisation_id: int
    organisation: str
    period_end: date | None
    shared: bool
    answers: dict[str, Any]


async def _monitoring_reports(session: AsyncSession, support_org_id: int, year: ReportYear) -> list[_Submitted]:
    """The members' submitted monitoring reports for periods ending within the year, latest period first."""
    from svbot.monitoring import SUBMITTED as REPORT_SUBMITTED
    from svbot.monitoring import MonitoringReport

    rows = await session.execute(
        select(MonitoringReport, Deadline.period_end, Deadline.due_date, Organisation.name)
        .join(Deadline, Deadline.id == MonitoringReport.deadline_id)
        .join(Organisation, Organisation.id == MonitoringReport.organisation_id)
        .where(
            Organisation.support_org_id == support_org_id,
            or_(MonitoringReport.status == REPORT_SUBMITTED, Deadline.status == SUBMITTED),
            _within(year),
        )
        .order_by(func.coalesce(Deadline.period_end, Deadline.due_date).desc(), MonitoringReport.id.desc())
    )
    found = []
    for row, period_end, due, name in rows.all():
        answers = (row.answers or {}).get("answers") or {}
        shared = bool(row.shared)
        found.append(_Submitted(row.organisation_id, one_line(name), period_end or due, shared, dict(answers)))
    return found


def _within(year: ReportYear) -> Any:
    """A deadline whose period ends within the year (its due date, when it has no period)."""
    return or_(
        and_(Deadline.period_end.is_not(None), Deadline.period_end.between(year.start, year.end)),
        and_(Deadline.period_end.is_(None), Deadline.due_date.between(year.start, year.end)),
    )


def _answer(answers: dict[str, Any], key: str) -> str | None:
    value = answers.get(key)
    return " ".join(value.split()) if isinstance(value, str) and value.strip() else None


def _add_monitoring(report: AnnualReport, monitoring: list[_Submitted]) -> None:
    """Equality monitoring, from the monitoring reports members shared: how many of them count the
    people they help by group, and their counts in their own words (from the latest report giving them)."""
    by_member: dict[int, list[_Submitted]] = {}
    for row in monitoring:
        if row.shared:
            by_member.setdefault(row.organisation_id, []).append(row)
    report.monitoring_members = len(by_member)
    report.equality_monitoring = sum(
        any(r.answers.get("equality") == "yes" for r in rows) for rows in by_member.values()
    )
    for rows in by_member.values():
        given = [r for r in rows if r.answers.get("equality") == "yes" and _answer(r.answers, "equality_counts")]
        if given:
            words = _answer(given[0].answers, "equality_counts") or ""
            report.equality_counts.append(MemberWords(given[0].organisation, given[0].period_end, words))
    report.equality_counts.sort(key=lambda w: w.organisation)


def _follow_ups(
    records: list[StatementRecord],
    members: Iterable[Organisation],
    last_year: ReportYear,
    framework_id: str | None,
    monitoring: list[_Submitted],
) -> list[FollowUp]:
    """Last year's commitments of members that shared that statement, each with the progress answer
    ("activities") of the member's latest shared monitoring report of this year, if any."""
    found = _of_year(records, last_year)
    answered: dict[int, _Submitted] = {}
    for row in monitoring:  # latest period first
        if row.shared and _answer(row.answers, "activities"):
            answered.setdefault(row.organisation_id, row)
    follow_ups = []
    for member in members:
        record = found.get(member.id)
        if record is None or not record.shared or record.framework_id != framework_id:
            continue
        data = StatementInput.model_validate(record.data)
        seen: set[str] = set()
        for evidence in data.objectives:
            words = (evidence.commitment.text or "").strip()
            key = " ".join(words.casefold().split())
            if not words or key in seen:
                continue
            seen.add(key)
            later = answered.get(member.id)
            follow_ups.append(
                FollowUp(one_line(member.name), words, evidence.commitment.due,
                         _answer(later.answers, "activities") if later else None,
                         later.period_end if later else None)
            )  # fmt: skip
    return follow_ups


async def _programmes(session: AsyncSession, support_org_id: int, year: ReportYear) -> list[ProgrammeRow]:
    """The support organisation's programmes with their social value weighting, and the grants it
    awarded under each within the year (matched by code or title, as imports do)."""
    programmes = (
        await session.scalars(
            select(Programme).where(Programme.support_org_id == support_org_id).order_by(Programme.code)
        )
    ).all()
    found = []
    for programme in programmes:
        names = {n.strip().lower() for n in (programme.code, programme.title) if n and n.strip()}
        count, amount = (
            await session.execute(
                select(func.count(Grant.id), func.coalesce(func.sum(Grant.amount_awarded), 0)).where(
                    Grant.support_org_id == support_org_id,
                    func.lower(Grant.programme).in_(names),
                    Grant.award_date.between(year.start, year.end),
                )
            )
        ).one()
        weighting = programme.social_value_weighting
        if weighting is None and programme.social_value_scored is None and not count:
            continue
        found.append(ProgrammeRow(programme.title or programme.code, weighting, count or 0, Decimal(amount or 0),
                                  programme.social_value_scored))  # fmt: skip
    return found


def _paragraphs(words: str | None) -> list[str]:
    return [" ".join(p.split()) for p in re.split(r"\n\s*\n", words or "") if p.strip()]


def _most_used(records: Any) -> str | None:
    counts = Counter(r.framework_id for r in records)
    return counts.most_common(1)[0][0] if counts else None


# ---- words shared by both formats ---------------------------------------------------------------------


def summary_lines(report: AnnualReport) -> list[str]:
    """The headline figures as sentences."""
    lines = [
        text("report.summary.statements", count=report.members, statements=report.statements,
             framework=report.framework_title, period=report.period),
        text("report.summary.reached", people=report.figure("people_reached"),
             volunteers=report.figure("volunteers"), hours=report.figure("volunteer_hours")),
    ]  # fmt: skip
    if report.left_out:
        lines.append(text("report.summary.left_out", count=report.left_out))
    elif report.others:
        lines.append(text("report.summary.others", count=report.others))
    if report.shared:
        lines.append(text("report.summary.covered", count=len(report.objectives), covered=len(report.covered),
                          shared=report.shared))  # fmt: skip
    total = sum(report.strength.values())
    if total:
        parts = [text(f"report.summary.strength.{k}", count=report.strength.get(k, 0)) for k in STRENGTH_LABELS]
        lines.append(text("report.summary.claims", count=total, strengths=", ".join(parts)))
    outcomes = report.outcomes
    if outcomes:
        lines.append(deadline_line(report))
    return lines


def deadline_line(report: AnnualReport) -> str:
    outcomes = report.outcomes
    if not outcomes:
        return text("report.deadlines.none", period=report.period)
    return text("report.deadlines.summary", count=sum(outcomes.values()), period=report.period,
                on_time=outcomes[ON_TIME], extended=outcomes[EXTENDED], late=outcomes[LATE],
                not_sent=outcomes[NOT_SENT])  # fmt: skip


def outcome_rows(report: AnnualReport) -> list[tuple[str, str, int]]:
    """(outcome, label, number) for the monitoring reports table and chart."""
    outcomes = report.outcomes
    return [(key, text(f"report.deadlines.outcome.{key}"), outcomes[key]) for key in OUTCOMES]


def objective_rows(report: AnnualReport) -> list[list[str]]:
    return [
        [row.title, str(row.organisations), _row_figure(row, "people_reached"), _row_figure(row, "volunteers"),
         _row_figure(row, "volunteer_hours")]
        for row in report.objectives
    ]  # fmt: skip


def _row_figure(row: ObjectiveRow, name: str) -> str:
    number = format_count(getattr(row, name))
    return text("report.about", number=number) if name in row.estimated else number


def total_row(report: AnnualReport) -> list[str]:
    return [text("report.table.total"), str(report.statements), report.figure("people_reached"),
            report.figure("volunteers"), report.figure("volunteer_hours")]  # fmt: skip


def previous_rows(report: AnnualReport) -> list[list[str]]:
    """This year's headline beside last year's (empty when there is nothing for last year)."""
    last = report.previous
    if last is None:
        return []

    def then(name: str) -> str:
        number = format_count(getattr(last, name))
        return text("report.about", number=number) if name in last.estimated else number

    return [
        [text("report.table.statements"), str(report.statements), str(last.statements)],
        [text("report.table.people_reached"), report.figure("people_reached"), then("people_reached")],
        [text("report.table.volunteers"), report.figure("volunteers"), then("volunteers")],
        [text("report.table.volunteer_hours"), report.figure("volunteer_hours"), then("volunteer_hours")],
    ]


def equality_rows(report: AnnualReport) -> list[list[str]]:
    return [[row.label, str(row.organisations)] for row in report.equality]


def commitment_line(c: CommitmentRow) -> str:
    """ "Allotment Friends: Hold two open days (by 15 September 2027). Measured by: ... Objectives: A; B."."""
    line = text("report.commitment.line", organisation=c.organisation, commitment=c.text.rstrip(" ."))
    if c.due:
        line += text("report.commitment.due", date=long_date(c.due))
    line += text("report.commitment.end")
    if c.measure and c.measure.strip():
        line += text("report.commitment.measured", measure=c.measure.strip().rstrip(" ."))
    return line + text("report.commitment.objectives", count=len(c.objectives), objectives=c.objective)


def equality_monitoring_line(report: AnnualReport) -> str | None:
    if not report.monitoring_members:
        return None
    return text("report.equality_monitoring", count=report.monitoring_members, counting=report.equality_monitoring)


def member_words_line(words: MemberWords) -> str:
    if words.period_end:
        return text("report.member_words", organisation=words.organisation, date=long_date(words.period_end))
    return text("report.member_words_undated", organisation=words.organisation)


def follow_up_line(f: FollowUp) -> str:
    """ "Bike Kitchen: Open a second site (by 1 June 2026)"."""
    if f.due:
        return text("report.follow_up.line_due", organisation=f.organisation, commitment=f.text,
                    date=long_date(f.due))  # fmt: skip
    return text("report.follow_up.line", organisation=f.organisation, commitment=f.text)


def follow_up_answer(f: FollowUp) -> str:
    if f.answer is None:
        return text("report.follow_up.not_yet")
    if f.period_end:
        return text("report.follow_up.answer", date=long_date(f.period_end), answer=f.answer)
    return text("report.follow_up.answer_undated", answer=f.answer)


def programme_rows(report: AnnualReport) -> list[list[str]]:
    return [
        [p.title, text("report.programmes.percent", number=format_count(float(p.weighting)))
         if p.weighting is not None else text("report.programmes.not_recorded"),
         text("report.programmes.not_recorded") if p.scored is None
         else text("report.programmes.yes") if p.scored else text("report.programmes.no"),
         str(p.grants), format_money(float(p.amount))]
        for p in report.programmes
    ]  # fmt: skip


def scored_note(report: AnnualReport) -> str:
    """Said when, for some programmes, no one has recorded whether social value was scored."""
    unrecorded = sum(1 for p in report.programmes if p.scored is None)
    return text("report.programmes.scored", count=unrecorded) if unrecorded else ""


def gap_lines(report: AnnualReport) -> list[str]:
    lines = []
    if report.missing:
        lines.append(text("report.gaps.missing", count=len(report.missing), period=report.period))
    uncovered = [o.title for o in report.objectives if not o.organisations]
    if uncovered and report.shared:
        lines.append(text("report.gaps.uncovered", count=len(uncovered), objectives="; ".join(uncovered)))
    if report.strength.get("not_yet"):
        lines.append(text("report.gaps.not_yet", count=report.strength["not_yet"]))
    if report.no_figures:
        lines.append(text("report.gaps.no_figures", count=report.no_figures))
    overdue = report.outcomes[NOT_SENT]
    if overdue:
        lines.append(text("report.gaps.overdue", count=overdue))
    lines.append(text("report.gaps.people_by_group"))
    return lines


def method_lines(report: AnnualReport) -> list[str]:
    year = report.year or report_year(report.period)
    lines = [
        text("report.method.year", start=long_date(year.start), end=long_date(year.end), period=report.period),
        text("report.method.counting"),
        text("report.method.privacy", support=report.support_name),
    ]
    if report.framework_source:
        lines.append(
            text(
                "report.method.framework", framework=report.framework_title, source=report.framework_source.rstrip(" .")
            )
        )
    lines.append(text("report.method.sources", support=report.support_name))
    return lines


def long_date(day: date) -> str:
    """5 March 2027, in the current locale."""
    return text("dates.long", **date_values(day))


# ---- charts -------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class BarChart:
    """What a chart shows: bars (label, number) in reading order, its title and axis, its colours."""

    labels: list[str]
    values: list[int]
    title: str
    axis: str
    colours: list[str]


def objectives_chart(report: AnnualReport) -> BarChart:
    """How many (sharing) organisations cover each objective."""
    rows = report.objectives
    return BarChart([r.title for r in rows] or [text("report.chart.none")], [r.organisations for r in rows] or [0],
                    text("report.chart.title", period=report.period), text("report.chart.axis"),
                    ["#2a7f62"])  # fmt: skip


def deadlines_chart(report: AnnualReport) -> BarChart:
    """The year's monitoring reports: on time, by an extended date, late, not sent."""
    rows = outcome_rows(report)
    return BarChart([label for _, label, _ in rows], [n for _, _, n in rows],
                    text("report.chart.deadlines_title", period=report.period), text("report.chart.deadlines_axis"),
                    ["#2a7f62", "#6a9fd4", "#d49a2a", "#b0413e"])  # fmt: skip


def equality_chart(report: AnnualReport) -> BarChart:
    """How many member organisations reach each protected characteristic, and low income."""
    return BarChart([r.label for r in report.equality] or [text("report.chart.none")],
                    [r.organisations for r in report.equality] or [0],
                    text("report.chart.equality_title", period=report.period), text("report.chart.axis"),
                    ["#6a5acd"])  # fmt: skip


def chart_png(report: AnnualReport) -> bytes:
    """The objectives chart as a PNG (needs matplotlib: `pip install 'svbot[charts]'`)."""
    return bar_png(objectives_chart(report))


def has_png_charts() -> bool:
    """Is matplotlib installed (the `charts` extra), so the Word file can carry its charts?"""
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return False
    return True


def bar_png(chart: BarChart) -> bytes:
    """A horizontal bar chart as a PNG, drawn by matplotlib (the `charts` extra)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    shown = [textwrap.fill(label, 38) for label in reversed(chart.labels)]  # matplotlib draws the first at the bottom
    numbers = list(reversed(chart.values))
    colours = _colours(chart)
    figure = Figure(figsize=(8, max(2.5, 0.6 * len(shown) + 1.2)), dpi=110)
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    bars = axes.barh(shown, numbers, color=list(reversed(colours)))
    axes.bar_label(bars, padding=3)
    axes.set_xlabel(chart.axis)
    axes.set_title(chart.title)
    axes.xaxis.get_major_locator().set_params(integer=True)
    axes.set_xlim(0, max(numbers + [1]) * 1.15)
    for side in ("top", "right"):
        axes.spines[side].set_visible(False)
    figure.tight_layout()
    buffer = BytesIO()
    figure.savefig(buffer, format="png", metadata={"Software": None})
    return buffer.getvalue()


# The SVG's layout, in its own units (it scales to the page): labels left, bars right.
_WIDTH, _LABEL_WIDTH, _LINE, _PAD, _WRAP = 800, 330, 16, 10, 40


def bar_svg(chart: BarChart) -> bytes:
    """A horizontal bar chart as SVG, drawn here: no dependency, sharp at any size, its words real text.
    Built with ElementTree, which escapes every word (labels come from knowledge files and settings)."""
    from xml.etree.ElementTree import Element, SubElement, tostring

    area = _WIDTH - _LABEL_WIDTH - 60  # room for the number after the longest bar
    top, most, colours = 44, max(chart.values + [1]), _colours(chart)
    svg = Element("svg", {"xmlns": "http://www.w3.org/2000/svg", "font-family": "Arial, sans-serif",
                          "font-size": "13", "fill": "#1b1b1b"})  # fmt: skip
    SubElement(svg, "rect", {"width": "100%", "height": "100%", "fill": "#fff"})
    heading = SubElement(svg, "text", {"x": str(_WIDTH / 2), "y": "24", "text-anchor": "middle", "font-size": "15"})
    heading.text = chart.title
    y = float(top)
    for label, value, colour in zip(chart.labels, chart.values, colours, strict=True):
        lines = textwrap.wrap(label, _WRAP) or [""]
        height = max(28, _LINE * len(lines) + _PAD)
        middle = y + height / 2
        first = middle - _LINE * (len(lines) - 1) / 2 + 5
        words = SubElement(svg, "text", {"text-anchor": "end"})
        for n, line in enumerate(lines):
            SubElement(words, "tspan", {"x": str(_LABEL_WIDTH - 10), "y": f"{first + _LINE * n:.1f}"}).text = line
        width = area * value / most
        SubElement(svg, "rect", {"x": str(_LABEL_WIDTH), "y": f"{middle - 10:.1f}", "width": f"{width:.1f}",
                                 "height": "20", "fill": colour})  # fmt: skip
        SubElement(svg, "text", {"x": f"{_LABEL_WIDTH + width + 6:.1f}", "y": f"{middle + 5:.1f}"}).text = str(value)
        y += height
    SubElement(svg, "line", {"x1": str(_LABEL_WIDTH), "y1": str(top - 4), "x2": str(_LABEL_WIDTH),
                             "y2": f"{y + 4:.1f}", "stroke": "#555"})  # fmt: skip
    axis = SubElement(svg, "text", {"x": f"{_LABEL_WIDTH + area / 2:.1f}", "y": f"{y + 24:.1f}",
                                    "text-anchor": "middle"})  # fmt: skip
    axis.text = chart.axis
    height = f"{y + 42:.0f}"
    svg.attrib.update({"viewBox": f"0 0 {_WIDTH} {height}", "width": str(_WIDTH), "height": height})
    return tostring(svg, encoding="utf-8", xml_declaration=False)


def _colours(chart: BarChart) -> list[str]:
    """One colour a bar: the chart's own list, or its one colour for every bar."""
    if len(chart.colours) == len(chart.values):
        return chart.colours
    return [chart.colours[0]] * len(chart.values)


def chart_alt_text(report: AnnualReport) -> str:
    """What the objectives chart shows, in words, for screen readers."""
    if not report.objectives:
        return text("report.chart.alt_none", period=report.period)
    bars = "; ".join(
        text("report.chart.alt_bar", objective=row.title, count=row.organisations) for row in report.objectives
    )
    return text("report.chart.alt_bars", period=report.period, bars=bars)


def deadlines_alt_text(report: AnnualReport) -> str:
    bars = "; ".join(text("report.chart.alt_count", label=label, count=n) for _, label, n in outcome_rows(report))
    return text("report.chart.deadlines_alt", period=report.period, bars=bars)


def equality_alt_text(report: AnnualReport) -> str:
    bars = "; ".join(
        text("report.chart.alt_bar", objective=row.label, count=row.organisations) for row in report.equality
    )
    return text("report.chart.equality_alt", period=report.period, bars=bars)


@dataclass(frozen=True, slots=True)
class Charts:
    """The report's pictures, drawn once: SVG for HTML, or PNG for Word (None: no such chart)."""

    objectives: bytes | None
    deadlines: bytes | None
    equality: bytes | None


def charts(report: AnnualReport, draw: Any = bar_svg) -> Charts:
    return Charts(
        draw(objectives_chart(report)),
        draw(deadlines_chart(report)) if report.outcomes else None,
        draw(equality_chart(report)),
    )


def _word_charts(report: AnnualReport) -> Charts | None:
    """PNGs for the Word file, or None when matplotlib (the `charts` extra) is not installed."""
    return charts(report, bar_png) if has_png_charts() else None


# ---- output -------------------------------------------------------------------------------------------


def render_report(report: AnnualReport, fmt: str, *, created: datetime | None = None) -> str | bytes:
    """The report as HTML (str) or Word (bytes; `created`: the file's creation time, default now)."""
    if fmt == "html":
        return render_html(report)
    if fmt == "docx":
        return render_docx(report, created=created)
    raise ReportError(f"unknown format {fmt!r}: use html or docx")


def render_html(report: AnnualReport) -> str:
    env = _environment()
    pictures = charts(report)

    def encoded(png: bytes | None) -> str:
        return base64.b64encode(png).decode("ascii") if png else ""

    return env.get_template("report.html.j2").render(
        r=report,
        logo=encoded(report.logo),
        logo_type="image/png" if (report.logo or b"").startswith(b"\x89PNG") else "image/jpeg",
        chart=encoded(pictures.objectives),
        chart_alt=chart_alt_text(report),
        deadlines_chart=encoded(pictures.deadlines),
        deadlines_alt=deadlines_alt_text(report),
        equality_chart=encoded(pictures.equality),
        equality_alt=equality_alt_text(report),
        labels=STRENGTH_LABELS,
        summary=summary_lines(report),
        objective_rows=objective_rows(report),
        total=total_row(report),
        previous=previous_rows(report),
        equality=equality_rows(report),
        commitments=[commitment_line(c) for c in report.commitments],
        deadline_line=deadline_line(report),
        outcomes=outcome_rows(report),
        programmes=programme_rows(report),
        scored_note=scored_note(report),
        gaps=gap_lines(report),
        method=method_lines(report),
        equality_monitoring=equality_monitoring_line(report),
        member_words=member_words_line,
        follow_up_line=follow_up_line,
        follow_up_answer=follow_up_answer,
    )


def _environment() -> SandboxedEnvironment:
    env = SandboxedEnvironment(
        loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html", "j2"]), undefined=StrictUndefined
    )
    env.globals["t"] = _t
    env.globals["long_date"] = long_date
    return env


def _t(key: str, **values: Any) -> Markup:
    """The template's `t(key, **values)`: svbot's text in the current locale, kept as written, its
    values HTML-escaped. (Its keys are written in the template, and checked by tests/test_texts.py.)"""
    return Markup(texts.text(key, **{name: escape(v) if isinstance(v, str) else v for name, v in values.items()}))


def render_docx(report: AnnualReport, *, created: datetime | None = None) -> bytes:
    """The report as a Word file from svbot's shared template (A4, en-GB, page numbers). Its charts need
    matplotlib (`svbot[charts]`); without it, one line says so and the tables carry the figures."""
    from svbot.documents import bullet, heading, new_document, paragraph, picture, table, to_bytes

    drawn = _word_charts(report)
    pictures = drawn or Charts(None, None, None)

    def chart(png: bytes | None, alt_text: str) -> None:
        if png is not None:
            picture(document, png, width_cm=15.24, alt_text=alt_text)

    title = text("report.title", support=report.support_name, period=report.period)
    document = new_document(title, author=report.support_name, subject=report.framework_title,
                            keywords=text("report.keywords"), created=created)  # fmt: skip
    # The title page: logo, title, what it is, the year, by whom; then a new page.
    if report.logo:
        picture(document, report.logo, width_cm=5, alt_text=text("report.logo", support=report.support_name))
    heading(document, title, level=0)
    paragraph(document, text("report.subtitle", framework=report.framework_title), style="Subtitle")
    year = report.year or report_year(report.period)
    paragraph(document, text("report.year", start=long_date(year.start), end=long_date(year.end)))
    paragraph(document, text("report.by", support=report.support_name))
    if report.generated:
        paragraph(document, long_date(report.generated))
    if drawn is None:
        paragraph(document, text("report.chart.no_charts"), italic=True)
    document.add_page_break()
    if report.foreword:
        heading(document, text("report.foreword"))
        for words in report.foreword:
            paragraph(document, words)
    heading(document, text("report.summary.heading"))
    for line in summary_lines(report):
        bullet(document, line)
    if report.previous:
        heading(document, text("report.previous"), level=2)
        table(document, ["", report.period, report.previous.label], previous_rows(report), numeric={1, 2})
        if report.previous.left_out:
            paragraph(document, text("report.previous_left_out", count=report.previous.left_out), italic=True)
    heading(document, text("report.objectives"))
    if report.left_out:
        paragraph(document, text("report.objectives_left_out", count=report.left_out))
    elif report.others:
        paragraph(document, text("report.objectives_others", count=report.others))
    chart(pictures.objectives, chart_alt_text(report))
    headings = [
        text("report.table.objective"),
        text("report.table.organisations"),
        text("report.table.people_reached"),
        text("report.table.volunteers"),
        text("report.table.volunteer_hours"),
    ]
    table(document, headings, [*objective_rows(report), total_row(report)], numeric={1, 2, 3, 4},
          widths_cm=[7.2, 2.2, 2.2, 2.2, 2.2])  # fmt: skip
    paragraph(document, text("report.double_count"), italic=True)
    heading(document, text("report.equality"))
    paragraph(document, text("report.equality_note"))
    chart(pictures.equality, equality_alt_text(report))
    table(document, [text("report.table.group"), text("report.table.organisations")], equality_rows(report),
          numeric={1}, widths_cm=[12.0, 4.0])  # fmt: skip
    monitoring_line = equality_monitoring_line(report)
    if monitoring_line:
        paragraph(document, monitoring_line)
    if report.equality_counts:
        heading(document, text("report.equality_counts"), level=2)
        for words in report.equality_counts:
            paragraph(document, words.text, label=member_words_line(words))
    heading(document, text("report.evidence"))
    for key, label in STRENGTH_LABELS.items():
        bullet(document, text("report.strength_line", label=label, number=report.strength.get(key, 0)))
    heading(document, text("report.commitments"))
    if not report.commitments:
        paragraph(document, text("report.no_commitments"))
    for line in (commitment_line(c) for c in report.commitments):
        bullet(document, line)
    if report.previous:
        heading(document, text("report.follow_up.heading"), level=2)
        if not report.follow_ups:
            paragraph(document, text("report.follow_up.none"))
        for f in report.follow_ups:
            bullet(document, follow_up_answer(f), label=follow_up_line(f))
    heading(document, text("report.deadlines.heading"))
    paragraph(document, deadline_line(report))
    if report.outcomes:
        chart(pictures.deadlines, deadlines_alt_text(report))
        counts = [[label, str(n)] for _, label, n in outcome_rows(report)]
        table(document, [text("report.table.reports"), text("report.table.number")], counts, numeric={1},
              widths_cm=[12.0, 4.0])  # fmt: skip
    if report.sent:
        paragraph(document, ", ".join(report.sent), label=text("report.deadlines.sent"))
    if report.not_sent:
        paragraph(document, ", ".join(report.not_sent), label=text("report.deadlines.not_sent"))
    heading(document, text("report.programmes.heading"))
    if report.programmes:
        table(document, [text("report.table.programme"), text("report.table.weighting"), text("report.table.scored"),
                         text("report.table.grants"), text("report.table.amount")], programme_rows(report),
              numeric={1, 3, 4})  # fmt: skip
    else:
        paragraph(document, text("report.programmes.none"))
    if scored_note(report):
        paragraph(document, scored_note(report), italic=True)
    heading(document, text("report.stories"))
    if not report.stories:
        paragraph(document, text("report.no_stories"))
    for story in report.stories:
        paragraph(document, text("report.story.quote", story=story.text), style="Quote")
        paragraph(document, text("report.story.by", organisation=story.organisation, objective=story.objective))
    heading(document, text("report.gaps.heading"))
    for line in gap_lines(report):
        bullet(document, line)
    if report.missing:
        paragraph(document, ", ".join(report.missing), label=text("report.missing"))
    heading(document, text("report.method.heading"))
    for line in method_lines(report):
        paragraph(document, line)
    if report.generated:
        paragraph(document, text("report.made_with_on", date=long_date(report.generated)), italic=True)
    else:
        paragraph(document, text("report.made_with"), italic=True)
    return to_bytes(document)
