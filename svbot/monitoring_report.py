"""The draft monitoring report: from a deadline, what its grant agreed and the answers given, to
Markdown for chat (lists, never tables), HTML, plain text and Word (svbot's shared template).

Honest evidence, as for the statement (svbot/statements/compose.py):
- the period is exactly the deadline's own (`period_start` to `period_end`), never worked out again;
- progress is "achieved of target" with its percentage and the working beside it ("3 ÷ 4 = 75%");
- every number is one the person gave (with their "about"), or worked out from theirs;
- a figure not given, an outcome without a target, a budget without spending: listed as gaps, never
  filled in.

Nothing here reads the database: `svbot.monitoring` gathers a `ReportInput` and this module composes
and renders it. Every word is in svbot/texts (`monitoring.report.*`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from jinja2 import StrictUndefined, Template
from jinja2.sandbox import SandboxedEnvironment
from markupsafe import Markup, escape

from svbot.statements.text import format_count, format_money, md_escape, split_text
from svbot.text import date_values, text

Format = Literal["md", "html", "txt", "docx"]
HTML_TEMPLATE = Path(__file__).resolve().parent / "templates" / "monitoring_report.html.j2"
MEDIA_TYPES = {
    "md": "text/markdown; charset=utf-8",
    "html": "text/html; charset=utf-8",
    "txt": "text/plain; charset=utf-8",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
}
# The default form's answers (dialogues/monitoring_report.yaml); a programme's form may use other ids.
OUTCOMES_STEP = "outcomes"
PROGRESS_GROUP = "progress"
QUALIFIER = "~qualifier"
TEXT_ANSWERS = ("activities", "went_well", "hard", "case_study", "equality_counts", "next_period")
ASKED_FOR = ("activities", "went_well", "hard", "next_period")  # a gap when not given (a case study is optional)


@dataclass(frozen=True)
class OutcomeInput:
    """One outcome the grant agreed (or its grantee proposed), and what was said about it."""

    value: str  # its item value in the form ("o12")
    text: str
    target: Decimal | None = None
    unit: str = ""
    proposed: bool = False
    achieved: Decimal | None = None
    achieved_qualifier: str | None = None  # "about", as the person said it
    change: str | None = None


@dataclass(frozen=True)
class ReportInput:
    organisation: str
    grant: str
    report: str  # the deadline's title: "Quarterly monitoring report (2 of 4)"
    period_start: date | None
    period_end: date | None
    due: date
    outcomes: list[OutcomeInput] = field(default_factory=list)
    budget: Decimal | None = None
    spent: Decimal | None = None
    spent_qualifier: str | None = None
    reached: Decimal | None = None  # different people who took part in the period
    reached_qualifier: str | None = None
    equality: str | None = None  # "yes" or "no": does the group collect equality monitoring?
    answers: dict[str, str] = field(default_factory=dict)  # TEXT_ANSWERS that were given
    status: str = "draft"


@dataclass(frozen=True)
class Section:
    heading: str
    bullets: tuple[str, ...] = ()
    paragraphs: tuple[str, ...] = ()


@dataclass(frozen=True)
class Report:
    title: str
    note: str
    facts: tuple[tuple[str, str], ...]  # (label, value): grant, period, due
    sections: tuple[Section, ...]
    gaps: tuple[str, ...]
    period: str | None
    organisation: str = ""


# ---- from answers ---------------------------------------------------------------------------------


def report_input(
    *,
    organisation: str,
    grant: str,
    report: str,
    period_start: date | None,
    period_end: date | None,
    due: date,
    outcomes: list[dict[str, Any]],
    budget: Decimal | None,
    answers: dict[str, Any],
    status: str = "draft",
) -> ReportInput:
    """The report's input from the form's flat answers. `outcomes`: the grant's outcomes as the form
    saw them ({value, text, target, unit, proposed})."""
    gathered = []
    for outcome in outcomes:
        prefix = f"{PROGRESS_GROUP}.{outcome['value']}."
        gathered.append(
            OutcomeInput(
                value=outcome["value"],
                text=outcome["text"],
                target=_decimal(outcome.get("target")),
                unit=outcome.get("unit") or "",
                proposed=bool(outcome.get("proposed")),
                achieved=_decimal(answers.get(prefix + "achieved")),
                achieved_qualifier=_word(answers.get(prefix + "achieved" + QUALIFIER)),
                change=_words(answers.get(prefix + "change")),
            )
        )
    return ReportInput(
        organisation=organisation,
        grant=grant,
        report=report,
        period_start=period_start,
        period_end=period_end,
        due=due,
        outcomes=gathered,
        budget=budget,
        spent=_decimal(answers.get("spent")) if budget is not None else None,
        spent_qualifier=_word(answers.get("spent" + QUALIFIER)),
        reached=_decimal(answers.get("reached")),
        reached_qualifier=_word(answers.get("reached" + QUALIFIER)),
        equality=answers.get("equality") if answers.get("equality") in ("yes", "no") else None,
        answers={key: value for key in TEXT_ANSWERS if (value := _words(answers.get(key)))},
        status=status,
    )


def _decimal(value: Any) -> Decimal | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        return None
    return number if number.is_finite() else None


def _word(value: Any) -> str | None:
    return value.strip() if isinstance(value, str) and value.strip() else None


_NOTHING = {"i don't know", "i dont know", "don't know", "dont know", "no idea", "dunno", "not sure", "n/a"}


def _words(value: Any) -> str | None:
    """A typed answer, or None when it says nothing ("I don't know" typed into a text box)."""
    if not isinstance(value, str):
        return None
    cleaned = value.strip()
    return cleaned if cleaned and cleaned.lower().rstrip(".!") not in _NOTHING else None


# ---- composing -------------------------------------------------------------------------------------


def period_text(start: date | None, end: date | None) -> str | None:
    """ "1 January to 31 March 2027"; across years "1 October 2026 to 31 March 2027"."""
    if start is None or end is None:
        return None
    first, last = date_values(start), date_values(end)
    values = {"start_day": first["day"], "start_month": first["month_long"], "end_day": last["day"],
              "end_month": last["month_long"], "end_year": last["year"]}  # fmt: skip
    if start.year == end.year:
        return text("monitoring.period.same_year", **values)
    return text("monitoring.period.years", start_year=first["year"], **values)


def long_date(day: date) -> str:
    return text("dates.long", **date_values(day))


def number(value: Decimal, qualifier: str | None = None) -> str:
    """A number as given: "3", "about 1,200", "2.5"."""
    shown = format_count(int(value)) if value == value.to_integral_value() else format_count(float(value))
    return f"{qualifier} {shown}" if qualifier else shown


def money(value: Decimal, qualifier: str | None = None) -> str:
    shown = format_money(int(value)) if value == value.to_integral_value() else format_money(float(value))
    return f"{qualifier} {shown}" if qualifier else shown


def percent(part: Decimal, whole: Decimal) -> int | None:
    """part as a whole percentage of whole, rounded half up; None when whole is 0."""
    if whole <= 0:
        return None
    return int((part * 100 / whole).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def compose(data: ReportInput) -> Report:
    period = period_text(data.period_start, data.period_end)
    end = long_date(data.period_end) if data.period_end else None
    gaps: list[str] = []
    if period is None:
        gaps.append(text("monitoring.report.gap.period"))
    facts = (
        (text("monitoring.report.grant_label"), data.grant),
        (text("monitoring.report.period_label"), period or text("monitoring.report.period_unknown")),
        (text("monitoring.report.due_label"), long_date(data.due)),
    )
    sections: list[Section] = []

    progress: list[str] = []
    for outcome in data.outcomes:
        progress.append(_progress_line(outcome))
        if outcome.achieved is None:
            gaps.append(text("monitoring.report.gap.achieved", outcome=outcome.text,
                             end=end or text("monitoring.report.period_end_unknown")))  # fmt: skip
        elif outcome.target is None:
            gaps.append(text("monitoring.report.gap.target", outcome=outcome.text))
    if not data.outcomes:
        gaps.append(text("monitoring.report.gap.no_outcomes"))
    heading = text("monitoring.report.progress", end=end) if end else text("monitoring.report.progress_undated")
    sections.append(Section(heading, tuple(progress) or (text("monitoring.report.no_outcomes"),)))

    said = data.answers
    if "activities" in said:
        sections.append(Section(text("monitoring.report.activities"), paragraphs=(said["activities"],)))
    if data.budget is not None:
        if data.spent is not None:
            share = percent(data.spent, data.budget)
            working = (text("monitoring.report.working", part=number(data.spent), whole=number(data.budget),
                            percent=share) if share is not None else None)  # fmt: skip
            line = text("monitoring.report.spent", spent=money(data.spent, data.spent_qualifier),
                        budget=money(data.budget))  # fmt: skip
            if working:
                line = text("monitoring.report.with_working", line=line, working=working)
        else:
            line = text("monitoring.report.spent_missing", budget=money(data.budget))
            gaps.append(text("monitoring.report.gap.spent", budget=money(data.budget),
                             end=end or text("monitoring.report.period_end_unknown")))  # fmt: skip
        sections.append(Section(text("monitoring.report.money"), bullets=(line,)))
    for key in ("went_well", "hard", "case_study"):
        if key in said:
            sections.append(Section(text(f"monitoring.report.{key}"), paragraphs=(said[key],)))
    reached = _reached(data, period)
    if reached.bullets:
        sections.append(reached)
    if data.reached is None:
        gaps.append(text("monitoring.report.gap.reached", period=period or text("monitoring.report.period_this")))
    if data.equality == "yes" and "equality_counts" not in said:
        gaps.append(text("monitoring.report.gap.equality_counts"))
    if "next_period" in said:
        sections.append(Section(text("monitoring.report.next_period"), paragraphs=(said["next_period"],)))
    for key in ASKED_FOR:
        if key not in said:
            gaps.append(text(f"monitoring.report.gap.{key}"))
    title = text("monitoring.report.title", report=data.report, organisation=data.organisation)
    note = text("monitoring.report.submitted_note" if data.status == "submitted" else "monitoring.report.draft_note")
    return Report(title, note, facts, tuple(sections), tuple(gaps), period, data.organisation)


def _reached(data: ReportInput, period: str | None) -> Section:
    """Who was reached: the number of people, and the equality monitoring counts where the group
    collects them (in its own words: svbot does not add them up or check them against the number)."""
    lines = []
    if data.reached is not None:
        people = number(data.reached, data.reached_qualifier)
        count = int(data.reached)
        line = (text("monitoring.report.reached", count=count, people=people, period=period) if period
                else text("monitoring.report.reached_undated", count=count, people=people))  # fmt: skip
        lines.append(line[:1].upper() + line[1:])  # "About 45 different people took part ..."
    if data.equality == "yes" and "equality_counts" in data.answers:
        lines.append(text("monitoring.report.equality_counts", counts=data.answers["equality_counts"]))
    elif data.equality == "no":
        lines.append(text("monitoring.report.equality_none"))
    return Section(text("monitoring.report.who_reached"), bullets=tuple(lines))


def _progress_line(outcome: OutcomeInput) -> str:
    name = outcome.text + (text("monitoring.report.proposed") if outcome.proposed else "")
    unit = f" {outcome.unit}" if outcome.unit else ""
    target = number(outcome.target) + unit if outcome.target is not None else None
    if outcome.achieved is None:
        line = (text("monitoring.report.outcome_missing", outcome=name, target=target) if target
                else text("monitoring.report.outcome_missing_no_target", outcome=name))  # fmt: skip
    elif outcome.target is None:
        line = text("monitoring.report.outcome_no_target", outcome=name,
                    achieved=number(outcome.achieved, outcome.achieved_qualifier) + unit)  # fmt: skip
    else:
        line = text("monitoring.report.outcome", outcome=name,
                    achieved=number(outcome.achieved, outcome.achieved_qualifier), target=target)  # fmt: skip
        share = percent(outcome.achieved, outcome.target)
        if share is not None:
            working = text("monitoring.report.working", part=number(outcome.achieved), whole=number(outcome.target),
                           percent=share)  # fmt: skip
            line = text("monitoring.report.with_working", line=line, working=working)
    if outcome.change:
        line += "\n" + text("monitoring.report.changed", change=outcome.change)
    return line


# ---- rendering -------------------------------------------------------------------------------------


def render(report: Report, fmt: str) -> str | bytes:
    if fmt == "md":
        return _markdown(report)
    if fmt == "txt":
        return _plain(report)
    if fmt == "html":
        return _html(report)
    if fmt == "docx":
        return _docx(report)
    raise ValueError(f"unknown format {fmt!r}")


def chat_chunks(report: Report, max_chars: int) -> list[str]:
    markdown = render(report, "md")
    assert isinstance(markdown, str)
    return split_text(markdown, max_chars)


def _md_bullet(line: str) -> str:
    first, *rest = md_escape(line).split("\n")
    return "\n".join([f"- {first}", *(f"  {more}" for more in rest)])


def _markdown(r: Report) -> str:
    out = [f"# {md_escape(r.title)}", f"_{md_escape(r.note)}_", "  \n".join(
        f"**{md_escape(label)}** {md_escape(value)}" for label, value in r.facts)]  # fmt: skip
    for section in r.sections:
        out.append(f"## {md_escape(section.heading)}")
        out.extend(md_escape(p) for p in section.paragraphs)
        if section.bullets:
            out.append("\n".join(_md_bullet(b) for b in section.bullets))
    out.append(f"## {md_escape(text('monitoring.report.gaps'))}")
    out.append("\n".join(_md_bullet(g) for g in r.gaps) if r.gaps else md_escape(text("monitoring.report.no_gaps")))
    return "\n\n".join(out) + "\n"


def _plain(r: Report) -> str:
    out = [r.title, r.note, "\n".join(f"{label} {value}" for label, value in r.facts)]
    for section in r.sections:
        out.append(section.heading)
        out.extend(section.paragraphs)
        if section.bullets:
            out.append("\n".join("- " + b.replace("\n", "\n  ") for b in section.bullets))
    out.append(text("monitoring.report.gaps"))
    out.append("\n".join("- " + g for g in r.gaps) if r.gaps else text("monitoring.report.no_gaps"))
    return "\n\n".join(out) + "\n"


def _html(r: Report) -> str:
    page = _html_template().render(
        r=r,
        language=text("monitoring.report.language"),
        gaps_heading=text("monitoring.report.gaps"),
        no_gaps=text("monitoring.report.no_gaps"),
    )
    return page.strip() + "\n"


@lru_cache(maxsize=1)
def _html_template() -> Template:
    env = SandboxedEnvironment(autoescape=True, trim_blocks=True, lstrip_blocks=True, undefined=StrictUndefined)
    env.filters["lines"] = lambda value: Markup("<br>").join(escape(value).split("\n"))
    return env.from_string(HTML_TEMPLATE.read_text(encoding="utf-8"))


def _docx(r: Report) -> bytes:
    from svbot.documents import bullet, heading, new_document, paragraph, to_bytes

    doc = new_document(r.title, author=r.organisation, subject=r.period, keywords=text("monitoring.report.keywords"))
    heading(doc, r.title, level=0)
    paragraph(doc, r.note, italic=True)
    for label, value in r.facts:
        paragraph(doc, value, label=label)
    for section in r.sections:
        heading(doc, section.heading)
        for p in section.paragraphs:
            paragraph(doc, p)
        for b in section.bullets:
            bullet(doc, b)
    heading(doc, text("monitoring.report.gaps"))
    for gap in r.gaps:
        bullet(doc, gap)
    if not r.gaps:
        paragraph(doc, text("monitoring.report.no_gaps"))
    return to_bytes(doc)
