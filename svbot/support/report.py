"""The annual social value report of a support organisation, for a council committee.

Across its members' latest statements for one framework and period: which objectives are covered
by how many organisations, the totals of people reached, volunteers and volunteer hours, how well
the claims are evidenced, the commitments that fall due, and a few quoted stories, only from
statements whose organisations agreed to share them. Rendered as HTML (Jinja2 sandbox, autoescaped)
and as Word (python-docx), each with a bar chart of objectives covered drawn by matplotlib (Agg,
no display needed) as a PNG.

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
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from svbot.evidence import StatementRecord
from svbot.knowledge import Knowledge
from svbot.models import Organisation
from svbot.statements.compose import StatementError, compose
from svbot.statements.model import STRENGTH_LABELS, StatementInput
from svbot.statements.text import format_count

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
        framework_title=framework.title if framework else "no framework chosen",
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
    labels = [textwrap.fill(r.title, 38) for r in rows] or ["(no objectives)"]
    values = [r.organisations for r in rows] or [0]
    figure = Figure(figsize=(8, max(2.5, 0.6 * len(labels) + 1.2)), dpi=110)
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    bars = axes.barh(labels, values, color="#2a7f62")
    axes.bar_label(bars, padding=3)
    axes.set_xlabel("Organisations")
    axes.set_title(f"Objectives covered, {report.period}")
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
    env = SandboxedEnvironment(
        loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html", "j2"]), undefined=StrictUndefined
    )
    png = chart if chart is not None else chart_png(report)
    return env.get_template("report.html.j2").render(
        r=report,
        chart=base64.b64encode(png).decode("ascii"),
        labels=STRENGTH_LABELS,
        count=format_count,
        summary=summary_lines(report),
    )


def summary_lines(report: AnnualReport) -> list[str]:
    """The headline figures as sentences, shared by both formats."""
    covered = len(report.covered)
    lines = [
        f"{report.statements} of {report.members} member organisations described their social value "
        f"against {report.framework_title} for {report.period}.",
        f"Together they cover {covered} of the framework's {len(report.objectives)} objectives.",
        f"They reached {format_count(report.people_reached)} people, with "
        f"{format_count(report.volunteers)} volunteers giving {format_count(report.volunteer_hours)} hours.",
    ]
    total = sum(report.strength.values())
    if total:
        parts = [f"{report.strength.get(k, 0)} {STRENGTH_LABELS[k].lower()}" for k in STRENGTH_LABELS]
        lines.append(f"Of their {total} claims, " + ", ".join(parts) + ".")
    return lines


def render_docx(report: AnnualReport, chart: bytes | None = None) -> bytes:
    from svbot.documents import bullet, heading, new_document, paragraph, picture, table, to_bytes

    title = f"{report.support_name}: social value report {report.period}"
    document = new_document(title, author=report.support_name, subject=report.framework_title,
                            keywords="social value; annual report")  # fmt: skip
    heading(document, title, level=0)
    for line in summary_lines(report):
        paragraph(document, line)
    heading(document, "Objectives covered")
    picture(
        document, chart if chart is not None else chart_png(report), width_cm=15.24, alt_text=chart_alt_text(report)
    )
    headings = ["Objective", "Organisations", "People reached", "Volunteers", "Volunteer hours"]
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
    paragraph(document, _double_count_note())
    heading(document, "How well it is evidenced")
    for key, label in STRENGTH_LABELS.items():
        bullet(document, f"{label}: {report.strength.get(key, 0)}")
    heading(document, "Commitments")
    if not report.commitments:
        paragraph(document, "No commitments were recorded.")
    for c in report.commitments:
        due = f" (by {c.due:%-d %B %Y})" if c.due else ""
        bullet(document, f"{c.organisation}, {c.objective}: {c.text}{due}")
    heading(document, "In their own words")
    if not report.stories:
        paragraph(document, "No organisation has shared a story for this report yet.")
    for story in report.stories:
        paragraph(document, f"\u201c{story.text}\u201d", style="Quote")
        paragraph(document, f"{story.organisation}, on {story.objective}")
    if report.missing:
        heading(document, "Not yet included")
        paragraph(document, ", ".join(report.missing))
    return to_bytes(document)


def chart_alt_text(report: AnnualReport) -> str:
    """What the objectives chart shows, in words, for screen readers (the Word file's alt text)."""
    if not report.objectives:
        return f"Bar chart of objectives covered, {report.period}: there are no objectives to show."
    bars = "; ".join(
        f"{row.title}: {row.organisations} organisation{'' if row.organisations == 1 else 's'}"
        for row in report.objectives
    )
    return f"Bar chart of how many member organisations cover each objective, {report.period}. {bars}."


def _double_count_note() -> str:
    return (
        "Figures are as each organisation gave them under each objective; someone helped under two "
        "objectives is counted twice."
    )
