"""The annual social value report of a support organisation, for a council committee.

Across its members' latest statements for one framework and period: which objectives are covered
by how many organisations, the totals of people reached, volunteers and volunteer hours, how well
the claims are evidenced, the commitments that fall due, and a few quoted stories, only from
statements whose organisations agreed to share them. Rendered as HTML (Jinja2 sandbox, autoescaped)
and as Word (python-docx), each with a bar chart of objectives covered drawn by matplotlib (Agg,
no display needed) as a PNG.

Its words come from svbot/texts/<locale>.yaml (the `report.` group), in the current locale
(`svbot.text.speaking`): Python says them with `text(key, **values)`, the template with
`{{ t("report.commitments") }}`, whose values are HTML-escaped like every other value.

Totals add up the figures each organisation gave under each objective, as given: one person helped
under two objectives is counted twice, and the report says so.
"""

from __future__ import annotations

import base64
import textwrap
from collections import Counter
from dataclasses import dataclass, field
from datetime import date
from io import BytesIO
from pathlib import Path
from typing import Any

from jinja2 import FileSystemLoader, StrictUndefined, select_autoescape
from jinja2.sandbox import SandboxedEnvironment
from markupsafe import Markup, escape
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from svbot import text as texts
from svbot.evidence import StatementRecord
from svbot.knowledge import Knowledge
from svbot.models import Organisation
from svbot.statements.compose import StatementError, compose
from svbot.statements.model import STRENGTH_LABELS, StatementInput
from svbot.statements.text import format_count
from svbot.text import date_values, text

TEMPLATES = Path(__file__).resolve().parent / "templates"
FORMATS = ("html", "docx")
STORY_CHARS = 600


class ReportError(ValueError):
    """The report cannot be made as asked (unknown support organisation or framework)."""


@dataclass
class ObjectiveRow:
    id: str
    title: str
    organisations: int = 0
    people_reached: int = 0
    volunteers: int = 0
    volunteer_hours: float = 0.0
    strength: Counter[str] = field(default_factory=Counter)


@dataclass(frozen=True, slots=True)
class CommitmentRow:
    organisation: str
    objective: str
    text: str
    measure: str | None
    due: date | None


@dataclass(frozen=True, slots=True)
class Story:
    organisation: str
    objective: str
    text: str


@dataclass
class AnnualReport:
    support_name: str
    period: str
    framework_id: str | None
    framework_title: str
    members: int
    organisations: list[str]  # whose statements are included
    missing: list[str]  # members with no statement for this framework and period
    objectives: list[ObjectiveRow]
    people_reached: int = 0
    volunteers: int = 0
    volunteer_hours: float = 0.0
    strength: Counter[str] = field(default_factory=Counter)
    commitments: list[CommitmentRow] = field(default_factory=list)
    stories: list[Story] = field(default_factory=list)
    shared: int = 0  # statements their organisations agreed to share
    generated: date | None = None

    @property
    def statements(self) -> int:
        return len(self.organisations)

    @property
    def covered(self) -> list[ObjectiveRow]:
        return [o for o in self.objectives if o.organisations]


async def build_report(
    session: AsyncSession,
    support_org_id: int,
    period: str,
    knowledge: Knowledge,
    *,
    framework_id: str | None = None,
    today: date | None = None,
    max_stories: int = 3,
) -> AnnualReport:
    support = await session.get(Organisation, support_org_id)
    if support is None or support.kind != "support":
        raise ReportError(f"there is no support organisation with id {support_org_id}")
    members = (
        await session.scalars(
            select(Organisation).where(Organisation.support_org_id == support_org_id).order_by(Organisation.name)
        )
    ).all()
    records = await _latest_records(session, [m.id for m in members], period)
    framework_id = framework_id or support.framework_id or _most_used(records.values())
    framework = knowledge.frameworks.get(framework_id) if framework_id else None
    if framework_id and framework is None:
        raise ReportError(f"there is no framework with id {framework_id!r} (known: {', '.join(knowledge.frameworks)})")
    report = AnnualReport(
        support_name=support.name,
        period=period,
        framework_id=framework_id,
        framework_title=framework.title if framework else text("report.no_framework"),
        members=len(members),
        organisations=[],
        missing=[],
        objectives=[ObjectiveRow(o.id, o.title) for o in framework.objectives] if framework else [],
        generated=today,
    )
    rows = {row.id: row for row in report.objectives}
    names = {m.id: m.name for m in members}
    for member in members:
        record = records.get(member.id)
        if record is None or record.framework_id != framework_id:
            report.missing.append(member.name)
            continue
        _add_statement(report, rows, record, names[member.id], knowledge)
    report.stories = _pick_stories(report, records, names, framework_id, rows, max_stories)
    report.commitments.sort(key=lambda c: (c.due is None, c.due or date.max, c.organisation))
    return report


def _add_statement(
    report: AnnualReport, rows: dict[str, ObjectiveRow], record: StatementRecord, name: str, knowledge: Knowledge
) -> None:
    data = StatementInput.model_validate(record.data)
    try:
        strengths = {s.id: s.strength for s in compose(data, knowledge).sections}
    except StatementError:
        strengths = {}
    report.organisations.append(name)
    report.shared += bool(record.shared)
    # Each organisation's figures count once in the totals (the same people are often counted under
    # several objectives); an objective's row shows the figures of the organisations working on it.
    whole = data.whole_numbers()
    report.people_reached += whole.people_reached or 0
    report.volunteers += whole.volunteers or 0
    report.volunteer_hours += whole.volunteer_hours or 0.0
    for evidence in data.objectives:
        row = rows.get(evidence.objective_id)
        if row is None:
            continue  # an objective the framework no longer has
        numbers = evidence.numbers if evidence.numbers.given() else whole
        row.organisations += 1
        row.people_reached += numbers.people_reached or 0
        row.volunteers += numbers.volunteers or 0
        row.volunteer_hours += numbers.volunteer_hours or 0.0
        strength = strengths.get(evidence.objective_id)
        if strength:
            row.strength[strength] += 1
            report.strength[strength] += 1
        commitment = evidence.commitment
        if commitment.text:
            report.commitments.append(
                CommitmentRow(name, row.title, commitment.text, commitment.measure, commitment.due)
            )


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
            if evidence.story and evidence.story.strip() and evidence.objective_id in rows:
                text = evidence.story.strip()
                if len(text) > STORY_CHARS:
                    text = text[: STORY_CHARS - 1].rsplit(" ", 1)[0] + "…"
                stories.append(Story(names[org_id], rows[evidence.objective_id].title, text))
                break
    return stories


async def _latest_records(session: AsyncSession, org_ids: list[int], period: str) -> dict[int, StatementRecord]:
    """Each organisation's latest statement for the period (any framework; filtered later)."""
    if not org_ids:
        return {}
    found: dict[int, StatementRecord] = {}
    rows = await session.scalars(
        select(StatementRecord)
        .where(StatementRecord.organisation_id.in_(org_ids), StatementRecord.period == period)
        .order_by(StatementRecord.created_at.desc(), StatementRecord.id.desc())
    )
    for record in rows.all():
        found.setdefault(record.organisation_id, record)
    return found


def _most_used(records: Any) -> str | None:
    counts = Counter(r.framework_id for r in records)
    return counts.most_common(1)[0][0] if counts else None


# ---- output ---------------------------------------------------------------------------------------------


def chart_png(report: AnnualReport) -> bytes:
    """A horizontal bar chart: how many organisations cover each objective."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    rows = list(reversed(report.objectives))  # matplotlib draws the first bar at the bottom
    labels = [textwrap.fill(r.title, 38) for r in rows] or [text("report.chart.none")]
    values = [r.organisations for r in rows] or [0]
    figure = Figure(figsize=(8, max(2.5, 0.6 * len(labels) + 1.2)), dpi=110)
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    bars = axes.barh(labels, values, color="#2a7f62")
    axes.bar_label(bars, padding=3)
    axes.set_xlabel(text("report.chart.axis"))
    axes.set_title(text("report.chart.title", period=report.period))
    axes.xaxis.get_major_locator().set_params(integer=True)
    axes.set_xlim(0, max(values + [1]) * 1.15)
    for side in ("top", "right"):
        axes.spines[side].set_visible(False)
    figure.tight_layout()
    buffer = BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()


def render_report(report: AnnualReport, fmt: str) -> str | bytes:
    if fmt == "html":
        return render_html(report)
    if fmt == "docx":
        return render_docx(report)
    raise ReportError(f"unknown format {fmt!r}: use html or docx")


def render_html(report: AnnualReport, chart: bytes | None = None) -> str:
    env = _environment()
    png = chart if chart is not None else chart_png(report)
    return env.get_template("report.html.j2").render(
        r=report,
        chart=base64.b64encode(png).decode("ascii"),
        labels=STRENGTH_LABELS,
        count=format_count,
        summary=summary_lines(report),
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


def long_date(day: date) -> str:
    """5 March 2027, in the current locale."""
    return text("dates.long", **date_values(day))


def summary_lines(report: AnnualReport) -> list[str]:
    """The headline figures as sentences, shared by both formats."""
    lines = [
        text("report.summary.statements", count=report.members, statements=report.statements,
             framework=report.framework_title, period=report.period),
        text("report.summary.covered", count=len(report.objectives), covered=len(report.covered)),
        text("report.summary.reached", count=report.people_reached, people=format_count(report.people_reached),
             volunteers=format_count(report.volunteers), hours=format_count(report.volunteer_hours)),
    ]  # fmt: skip
    total = sum(report.strength.values())
    if total:
        parts = [text(f"report.summary.strength.{k}", count=report.strength.get(k, 0)) for k in STRENGTH_LABELS]
        lines.append(text("report.summary.claims", count=total, strengths=", ".join(parts)))
    return lines


def render_docx(report: AnnualReport, chart: bytes | None = None) -> bytes:
    from svbot.documents import bullet, heading, new_document, paragraph, picture, table, to_bytes

    title = text("report.title", support=report.support_name, period=report.period)
    document = new_document(title, author=report.support_name, subject=report.framework_title,
                            keywords=text("report.keywords"))  # fmt: skip
    heading(document, title, level=0)
    for line in summary_lines(report):
        paragraph(document, line)
    heading(document, text("report.objectives"))
    picture(
        document, chart if chart is not None else chart_png(report), width_cm=15.24, alt_text=chart_alt_text(report)
    )
    headings = [
        text("report.table.objective"),
        text("report.table.organisations"),
        text("report.table.people_reached"),
        text("report.table.volunteers"),
        text("report.table.volunteer_hours"),
    ]
    rows = [
        [
            row.title,
            str(row.organisations),
            format_count(row.people_reached),
            format_count(row.volunteers),
            format_count(row.volunteer_hours),
        ]
        for row in report.objectives
    ]
    table(document, headings, rows, numeric={1, 2, 3, 4})
    paragraph(document, text("report.double_count"))
    heading(document, text("report.evidence"))
    for key, label in STRENGTH_LABELS.items():
        bullet(document, text("report.strength_line", label=label, number=report.strength.get(key, 0)))
    heading(document, text("report.commitments"))
    if not report.commitments:
        paragraph(document, text("report.no_commitments"))
    for c in report.commitments:
        line = text("report.commitment.line", organisation=c.organisation, objective=c.objective, commitment=c.text)
        due = text("report.commitment.due_word", date=long_date(c.due)) if c.due else ""
        bullet(document, line + due)
    heading(document, text("report.stories"))
    if not report.stories:
        paragraph(document, text("report.no_stories"))
    for story in report.stories:
        paragraph(document, text("report.story.quote", story=story.text), style="Quote")
        paragraph(document, text("report.story.by", organisation=story.organisation, objective=story.objective))
    if report.missing:
        heading(document, text("report.missing"))
        paragraph(document, ", ".join(report.missing))
    return to_bytes(document)


def chart_alt_text(report: AnnualReport) -> str:
    """What the objectives chart shows, in words, for screen readers (the Word file's alt text)."""
    if not report.objectives:
        return text("report.chart.alt_none", period=report.period)
    bars = "; ".join(
        text("report.chart.alt_bar", objective=row.title, count=row.organisations) for row in report.objectives
    )
    return text("report.chart.alt_bars", period=report.period, bars=bars)
