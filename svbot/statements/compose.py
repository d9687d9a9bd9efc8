"""Turn the walk-through's answers into a draft evidence statement that reads like a good bid answer.

The statement has two parts, kept apart. **The text to submit**: a short opening about the
organisation (what it does, its figures for a stated period, who benefits), then one paragraph per
objective under the funder's own wording (what we do, what is over and above our funding, the
difference it makes, how we know and what that showed, a story, our commitment). **svbot's notes**:
how well each paragraph is evidenced and why, the figures and any working, and the gaps to close.

Honest evidence (README, "How svbot judges evidence"; tests/test_statement_evidence.py, rule by rule):
1. Outputs (people, sessions, volunteers, hours) are evidenced by records: attendance records back
   the figures; without them the figures are the group's own count, and an estimate reads as one.
2. The difference work makes (an outcome) needs outcome evidence: an external evaluation, or a
   survey or feedback with a result in numbers. Attendance records show who came, not what changed.
3. A story (a quote or case study) illustrates a difference; it does not evidence it.
4. A result that covers fewer people than were reached says whom it covers ("80% of the 35 people
   who answered"), and the notes say that it is not everyone.
5. A figure about the whole organisation is said once, in the opening, not under every objective.
6. Every number is one the person gave, or worked out from theirs with the working in the notes.

The headline strength of a section is that of its difference claim: evidenced (rule 2 met), partly
(a survey without its result, or only stories), not yet (no evidence of the change, or records
only). With no difference described, it is that of what we do: evidenced when there are figures and
records, partly with one of them, not yet with neither.

Word limits count the text to submit. When it is over, svbot drops its own optional sentences
first, shrinks stories to one sentence, shortens the charity's longest answers a sentence at a time
(never below one sentence each), and removes stories last. If it still does not fit, it cuts
nothing more and says by how much it is over. Gaps are worked out on the final text.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable

from dateutil.relativedelta import relativedelta

from svbot.knowledge import Framework, Knowledge, Objective
from svbot.statements.model import (
    COUNTED,
    Figure,
    Gap,
    Numbers,
    ObjectiveEvidence,
    ObjectiveSection,
    Part,
    Statement,
    StatementInput,
    Strength,
)
from svbot.statements.text import (
    clean,
    count_words,
    drop_last_sentence,
    format_count,
    format_money,
    mentions_date,
    mentions_number,
    split_sentences,
    uk_date,
)
from svbot.text import TextError, date_values, text

OUTCOME_KINDS = {"survey", "quote", "external_evaluation"}  # can carry a result about the change
STORY_KINDS = {"quote", "case_study"}
_MONEY_FIELDS = {"local_spend"}
# "28 of 35", "28 out of 35 members": a result and the number of people it covers.
_OUT_OF = re.compile(r"\b(\d[\d,]*)\s+(?:out\s+)?of\s+(?:the\s+)?(\d[\d,]*)\b", re.IGNORECASE)
_NOTHING = {"none", "no", "nothing", "n/a", "na", "not really", "not sure", "don't know", "dont know",
            "i don't know", "i dont know", "no idea", "dunno", "i'm not sure", "none yet"}
# A date's numbers ("31 March 2028", "2028", "31/3/28"): not a target to measure a commitment by.
_DATE_NUMBERS = re.compile(r"\b\d{1,2}(?:st|nd|rd|th)?(?=\s+[A-Za-z]+\s+\d{4})|\b(?:19|20)\d\d\b"
                           r"|\b\d{1,2}[/.-]\d{1,2}(?:[/.-]\d{2,4})?\b")


class StatementError(ValueError):
    """The answers cannot be turned into a statement (e.g. an objective the framework does not have)."""


def compose(data: StatementInput, knowledge: Knowledge) -> Statement:
    """Build the statement; if a word or character limit is set, shorten it as the module says."""
    framework = _framework(data, knowledge)
    _check_ids(data, framework, knowledge)
    period = _period(data)
    working: list[str] = []
    opening = _opening(data, knowledge, period)
    sections = [
        _section(i, ev, framework.objective(ev.objective_id), data, working)
        for i, ev in enumerate(data.objectives, start=1)
    ]
    statement = Statement(
        org_name=clean(data.org_name) or text("evidence.our_organisation"),
        figures_period=period[0] if period else None,
        opening=opening,
        sections=sections,
        framework_id=framework.id,
        framework_title=framework.title,
        framework_owner=framework.owner,
        framework_status=framework.status,
        framework_source=framework.source.citation,
        framework_url=framework.source.url,
        framework_licence=framework.licence,
        notice=_notice(framework),
        figures=_figures(data, framework),
        working=working,
        notes=_notes(data, sections),
        gaps=[],
        word_limit=data.word_limit,
        char_limit=data.char_limit,
        template_dir=str(framework.directory) if framework.template and framework.directory else None,
        template_name=framework.template,
    )
    _use_own_words(statement, data)
    _fit(statement)
    statement.gaps = _gaps(data, statement)  # on the final text: what was cut is known
    return statement


def _use_own_words(statement: Statement, data: StatementInput) -> None:
    """Paragraphs the group rewrote replace svbot's, as typed; limits count them but never cut them."""
    own = {key: text for key, value in data.reworded.items() if (text := clean(value))}
    statement.own_opening = own.get("opening")
    if statement.own_opening:
        for part in statement.opening:
            part.own = False  # not trimmable: the paragraph shown is theirs
    for section in statement.sections:
        section.own_text = own.get(section.id)
        if section.own_text:
            for part in section.parts:
                part.own = False


def submit_text(statement: Statement) -> str:
    """The text to submit, as plain text: what word and character limits count."""
    blocks = [statement.opening_paragraph] if statement.opening else []
    blocks += [f"{s.title}\n{s.paragraph}" for s in statement.sections]
    return "\n\n".join(b for b in blocks if b.strip())


# ---- checks ------------------------------------------------------------------------------------


def _framework(data: StatementInput, knowledge: Knowledge) -> Framework:
    try:
        return knowledge.framework(data.framework_id)
    except KeyError:
        known = ", ".join(knowledge.frameworks) or "none"
        raise StatementError(f"Unknown framework {data.framework_id!r} (known: {known}).") from None


def _check_ids(data: StatementInput, framework: Framework, knowledge: Knowledge) -> None:
    known = framework.objective_ids()
    kinds = {k.id for k in knowledge.guidance.evidence_kinds}
    seen: set[str] = set()
    for evidence in data.objectives:
        if evidence.objective_id not in known:
            raise StatementError(
                f"Unknown objective {evidence.objective_id!r} for framework {framework.id!r} "
                f"(known: {', '.join(known)})."
            )
        if evidence.objective_id in seen:
            raise StatementError(f"Objective {evidence.objective_id!r} is given twice.")
        seen.add(evidence.objective_id)
        for kind in evidence.evidence_kinds:
            if kind not in kinds:
                raise StatementError(
                    f"Unknown evidence kind {kind!r} for objective {evidence.objective_id!r} "
                    f"(known: {', '.join(sorted(kinds))})."
                )
    for limit, name in ((data.word_limit, "word_limit"), (data.char_limit, "char_limit")):
        if limit is not None and limit < 1:
            raise StatementError(f"{name} must be at least 1, not {limit}.")


def _notice(framework: Framework) -> str | None:
    """What a reader must be told about the framework: a starter set, or a policy since replaced."""
    notice = getattr(framework, "notice", None)  # knowledge may say more than "illustrative"
    if isinstance(notice, str) and notice:
        return notice
    return framework.status_note if framework.is_illustrative else None


# ---- the period ----------------------------------------------------------------------------------


def _period(data: StatementInput) -> tuple[str, str] | None:
    """(the period in words, how a sentence starts with it), from the dates the figures cover:
    ("April 2025 to March 2026", "From April 2025 to March 2026") or ("the 12 months to 1 December
    2026", "In the 12 months to 1 December 2026"). None when the dates were not given."""
    start, end = data.figures_from, data.figures_to
    if start is None or end is None:
        return None
    if start.day == 1 and end == start + relativedelta(years=1, days=-1):
        if start.month == 4:  # a financial year, as charities and councils count it
            words = text("statement.period.financial_year", start_year=start.year, end_year=end.year)
        else:
            words = text("statement.period.months", start_month=date_values(start)["month_long"],
                         start_year=start.year, end_month=date_values(end)["month_long"], end_year=end.year)
        return words, text("statement.period.from", period=words)
    if start == end - relativedelta(years=1) + relativedelta(days=1):
        words = text("statement.period.twelve_months", end=uk_date(end))
        return words, text("statement.period.in", period=words)
    words = text("statement.period.dates", start=uk_date(start), end=uk_date(end))
    return words, text("statement.period.from", period=words)


# ---- the opening ---------------------------------------------------------------------------------


def _opening(data: StatementInput, knowledge: Knowledge, period: tuple[str, str] | None) -> list[Part]:
    guidance = knowledge.guidance
    parts: list[Part] = []
    what = _sentence(clean(data.org_what))
    if what:
        parts.append(Part(kind="what", text=what, own=True))
    where = clean(data.org_where)
    if where and (not what or where.lower() not in what.lower()):
        parts.append(Part(kind="what", text=text("statement.opening.where", where=_sentence(where)), own=True))
    figures = _figures_sentences(data.numbers, period[1] if period else None)
    if figures:
        parts.append(Part(kind="figures", text=figures, own=False))
    own = data.numbers.own_value
    if own is not None and clean(own.source):
        parts.append(Part(kind="own_value", own=False, text=text(
            "statement.opening.own_value", amount=format_money(own.amount), source=_sentence(clean(own.source)))))
    groups = _labels(guidance, data.who_benefits)
    if groups:
        parts.append(Part(kind="who", text=text("statement.opening.who", groups=_and_list(groups)), own=False))
    equality = _equality_sentence(knowledge, [*guidance.equality_of(data.who_benefits), *data.equality_groups])
    if equality:
        parts.append(Part(kind="equality", text=equality, own=False))
    return parts


def _figures_sentences(numbers: Numbers, lead: str | None, here: bool = False) -> str | None:
    """The figures in plain sentences, each exactly as given ("about 140 people"). `lead` starts the
    first sentence with the period ("From April 2025 to March 2026"); `here`: under an objective."""

    def we(did: list[str], here: bool) -> str:
        return text("statement.figures.here_we" if here else "statement.figures.we", did=_and_list(did))

    sentences = []
    did = []
    reached, sessions = _figure(numbers, "people_reached"), _figure(numbers, "sessions")
    if reached:
        did.append(text("statement.figures.reached", figure=reached, count=numbers.people_reached))
    if sessions:
        did.append(text("statement.figures.ran", figure=sessions, count=numbers.sessions))
    if did:
        sentences.append(text("statement.figures.period_we", period=lead, did=_and_list(did)) if lead
                         else we(did, here))  # fmt: skip
    volunteers, hours = _figure(numbers, "volunteers"), _figure(numbers, "volunteer_hours")
    # "About 60 volunteers ...", not "Our about 60 volunteers ..."
    estimated = "volunteers" in numbers.qualifiers
    if volunteers and hours:
        sentences.append(_capital(text(
            "statement.figures.estimated_volunteers_gave" if estimated else "statement.figures.volunteers_gave",
            figure=volunteers, hours=hours, count=numbers.volunteers)))
    elif volunteers:
        sentences.append(_capital(text(
            "statement.figures.estimated_volunteers_help" if estimated else "statement.figures.volunteers_help",
            figure=volunteers, count=numbers.volunteers)))
    elif hours:
        sentences.append(text("statement.figures.hours_given", hours=hours))
    together = []
    partners, spent = _figure(numbers, "partners"), _figure(numbers, "local_spend")
    if partners:
        together.append(text("statement.figures.worked_with", figure=partners, count=numbers.partners))
    if spent:
        together.append(text("statement.figures.spent", figure=spent))
    if together:
        sentences.append(we(together, here and not did))
    if sentences and lead and not did:
        first = sentences[0]
        sentences[0] = text("statement.figures.period_then", period=lead, sentence=first[0].lower() + first[1:])
    return " ".join(sentences) or None


def _figure(numbers: Numbers, name: str) -> str | None:
    """One figure exactly as given, with the word it was given with: "about 140", "£2,500"."""
    value = getattr(numbers, name)
    if value is None:
        return None
    shown = format_money(value) if name in _MONEY_FIELDS else format_count(value)
    qualifier = numbers.qualifiers.get(name)
    if not qualifier:
        return shown
    try:  # one of svbot's own words for an estimate (svbot.dialogue.answers.QUALIFIERS): "about {value}"
        return text(f"answers.qualified.{qualifier.replace(' ', '_')}", value=shown)
    except TextError:
        return f"{qualifier} {shown}"


def _equality_sentence(knowledge: Knowledge, ids: list[str]) -> str | None:
    chosen = _unique(v for v in (clean(x) for x in ids) if v)
    if not chosen:
        return None
    characteristics = {c.id: c for c in knowledge.guidance.equality_characteristics}
    is_protected = {i for i in chosen if i in characteristics and characteristics[i].protected}
    protected = [_lower(characteristics[i].label) for i in chosen if i in is_protected]
    others = [_lower(characteristics[i].label) if i in characteristics else i for i in chosen if i not in is_protected]
    sentences = []
    if protected:
        sentences.append(text("statement.opening.protected", groups=_and_list(protected)))
    if others:
        sentences.append(text("statement.opening.other_groups", groups=_and_list(others)))
    return " ".join(sentences)


# ---- one objective ---------------------------------------------------------------------------------


def _section(
    number: int, ev: ObjectiveEvidence, objective: Objective, data: StatementInput, working: list[str]
) -> ObjectiveSection:
    parts: list[Part] = []
    activity = _sentence(clean(ev.activity))
    if activity:
        parts.append(Part(kind="activity", text=activity, own=True))
    reach = _figures_sentences(ev.numbers, None, here=True)  # statements made before figures were asked once
    if reach:
        parts.append(Part(kind="reach", text=reach, own=False))
    extra = _sentence(_something(clean(ev.over_and_above)))
    if extra:
        parts.append(Part(kind="over_and_above", text=text("statement.section.over_and_above", answer=extra), own=True))
    change = _sentence(clean(ev.change))
    if change:
        parts.append(Part(kind="change", text=change, own=True))
    kinds = _kinds(ev)
    evidence = _evidence_sentence(kinds)
    if evidence:
        parts.append(Part(kind="evidence", text=evidence, own=False))
    result = _sentence(clean(ev.evidence_detail))
    if result:
        parts.append(Part(kind="result", text=result, own=True))
        coverage = _coverage(result, working)
        if coverage:
            parts.append(Part(kind="evidence", text=coverage, own=False))
    story = _sentence(clean(ev.story))
    if story:
        quoted = story[:1] in "\"'“‘"
        parts.append(Part(kind="story", own=True,
                          text=text("statement.section.quote" if quoted else "statement.section.example", story=story)))
    parts.extend(_commitment(ev))
    strength, note = _strength(ev, kinds, result, change, data)
    return ObjectiveSection(id=objective.id, number=number, title=objective.title, theme=objective.theme,
                            parts=parts, strength=strength, evidence_note=note)  # fmt: skip


def _kinds(ev: ObjectiveEvidence) -> set[str]:
    return set(ev.evidence_kinds) - {"none_yet"}


# The kinds of evidence a sentence names (statement.section.evidence), in the order they are named.
_EVIDENCE_NAMED = ("external_evaluation", "survey", "attendance_records", "case_study", "quote")


def _evidence_sentence(kinds: set[str]) -> str | None:
    if not kinds:
        return None
    if kinds == {"attendance_records"}:
        return text("statement.section.records_only")
    named = [text(f"statement.section.evidence.{kind}") for kind in _EVIDENCE_NAMED if kind in kinds]
    return text("statement.section.known_from", kinds=_and_list(named))


def _coverage(result: str, working: list[str]) -> str | None:
    """ "28 of 35 members said ..." -> "That is 80% of the 35 people who answered.", working noted."""
    match = _OUT_OF.search(result)
    if not match:
        return None
    part, whole = (int(g.replace(",", "")) for g in match.groups())
    if not 0 < part <= whole:
        return None
    percent = round(100 * part / whole)
    working.append(text("statement.working.percent", part=format_count(part), whole=format_count(whole),
                        percent=percent))  # fmt: skip
    return text("statement.section.coverage", percent=percent, whole=format_count(whole))


def _commitment(ev: ObjectiveEvidence) -> list[Part]:
    c = ev.commitment
    what = _sentence(_something(clean(c.text)))
    if not what:
        return []
    parts = [Part(kind="commitment", text=text("statement.section.commit", commitment=what), own=True)]
    detail = []
    measure = _sentence(clean(c.measure))
    if measure:
        detail.append(text("statement.section.measure", measure=measure))
    if c.due is not None and not mentions_date(what):
        detail.append(text("statement.section.by", date=uk_date(c.due)))
    if detail:
        parts.append(Part(kind="commitment_detail", text=" ".join(detail), own=False))
    return parts


def _strength(
    ev: ObjectiveEvidence, kinds: set[str], result: str | None, change: str | None, data: StatementInput
) -> tuple[Strength, str]:
    """The section's headline strength and, in a sentence, why (rules 1-3 of the module)."""
    with_result = bool(result and re.search(r"\d", result))
    if change:
        if "external_evaluation" in kinds:
            return "evidenced", text("statement.why.evaluation")
        if kinds & {"survey", "quote"} and with_result:
            return "evidenced", text("statement.why.result")
        if "survey" in kinds:
            return "partly", text("statement.why.survey_no_result")
        if kinds & STORY_KINDS:
            return "partly", text("statement.why.stories")
        if kinds:
            return "not_yet", text("statement.why.records")
        return "not_yet", text("statement.why.no_evidence")
    figures = ev.numbers.given() or data.numbers.given()
    if figures and "attendance_records" in kinds:
        return "evidenced", text("statement.why.figures_and_records")
    if figures or kinds:
        return "partly", text("statement.why.figures_or_records")
    return "not_yet", text("statement.why.nothing")


# ---- notes: figures, working, evidence -------------------------------------------------------------


def _figures(data: StatementInput, framework: Framework) -> list[Figure]:
    measures = {name: _measure(name) for name in COUNTED}  # the same words for every objective's figures
    measures["own_value"] = text("statement.figure.own_value")
    rows = _figure_rows(data.numbers, None, measures)
    for ev in data.objectives:
        rows += _figure_rows(ev.numbers, framework.objective(ev.objective_id).title, measures)
    return rows


def _figure_rows(numbers: Numbers, objective: str | None, measures: dict[str, str]) -> list[Figure]:
    rows = []
    for name in COUNTED:
        figure = _figure(numbers, name)
        if figure is not None:
            rows.append(Figure(objective_title=objective, measure=measures[name], figure=figure))
    own = numbers.own_value
    if own is not None:
        source = clean(own.source) or text("statement.figure.no_source")
        rows.append(Figure(objective_title=objective, measure=measures["own_value"], figure=format_money(own.amount),
                           note=text("statement.figure.own_value_note", source=source)))  # fmt: skip
    return rows


def _measure(name: str) -> str:
    """What one of the COUNTED figures is: "Volunteer hours"."""
    return text(f"statement.figure.{name}")


def _notes(data: StatementInput, sections: list[ObjectiveSection]) -> list[str]:
    notes = []
    numbers = [data.numbers, *(ev.numbers for ev in data.objectives)]
    kinds = set().union(*(_kinds(ev) for ev in data.objectives)) if data.objectives else set()
    if any(n.given() for n in numbers):
        if "attendance_records" in kinds:
            notes.append(text("statement.notes.records"))
        else:
            notes.append(text("statement.notes.own_count"))
    if any(n.qualifiers for n in numbers):
        notes.append(text("statement.notes.estimates"))
    reached = data.whole_numbers().people_reached  # for an older statement, its largest per objective
    for ev in data.objectives:
        match = _OUT_OF.search(ev.evidence_detail or "")
        if match and reached:
            whole = int(match.group(2).replace(",", ""))
            if whole < reached:
                notes.append(text("statement.notes.fewer", objective=_title(sections, ev.objective_id),
                                  covered=format_count(whole), reached=format_count(reached)))  # fmt: skip
    return notes


def _title(sections: list[ObjectiveSection], objective_id: str) -> str:
    return next((s.title for s in sections if s.id == objective_id), objective_id)


# ---- gaps, on the final text -----------------------------------------------------------------------


def _gap(problem: str, suggestion: str, section: ObjectiveSection | None = None) -> Gap:
    return Gap(objective_id=section.id if section else None, objective_title=section.title if section else None,
               problem=problem, suggestion=suggestion)  # fmt: skip


def _gaps(data: StatementInput, statement: Statement) -> list[Gap]:
    gaps = []
    if not data.objectives:
        gaps.append(_gap(text("statement.gap.no_objectives.problem"), text("statement.gap.no_objectives.suggestion")))
    if not any(p.kind == "what" for p in statement.opening):
        gaps.append(_gap(text("statement.gap.no_what.problem"), text("statement.gap.no_what.suggestion")))
    numbers = [data.numbers, *(ev.numbers for ev in data.objectives)]
    if not any(n.people_reached is not None for n in numbers):
        gaps.append(_gap(text("statement.gap.no_reach.problem"), text("statement.gap.no_reach.suggestion")))
    if any(n.given() for n in numbers) and statement.figures_period is None:
        gaps.append(_gap(text("statement.gap.no_period.problem"), text("statement.gap.no_period.suggestion")))
    if not data.who_benefits and not data.equality_groups and not any(ev.beneficiaries for ev in data.objectives):
        gaps.append(_gap(text("statement.gap.no_beneficiaries.problem"),
                         text("statement.gap.no_beneficiaries.suggestion")))  # fmt: skip
    for problem in _number_problems(numbers):
        gaps.append(_gap(problem, text("statement.gap.figure.suggestion")))
    for ev, s in zip(data.objectives, statement.sections, strict=True):
        gaps.extend(_section_gaps(ev, s))
    return gaps


def _section_gaps(ev: ObjectiveEvidence, s: ObjectiveSection) -> list[Gap]:
    t = s.title
    kinds = _kinds(ev)
    out = []
    if s.part("activity") is None:
        out.append(_gap(text("statement.gap.no_activity.problem", objective=t),
                        text("statement.gap.no_activity.suggestion"), s))
    if s.part("over_and_above") is None:
        out.append(_gap(text("statement.gap.no_over_and_above.problem", objective=t),
                        text("statement.gap.no_over_and_above.suggestion"), s))
    if s.part("change") is None:
        out.append(_gap(text("statement.gap.no_change.problem", objective=t),
                        text("statement.gap.no_change.suggestion"), s))
    if s.strength == "not_yet" and s.part("change") is not None:
        out.append(_gap(text("statement.gap.no_evidence.problem", objective=t),
                        text("statement.gap.no_evidence.suggestion"), s))
    elif "survey" in kinds and (s.part("result") is None or (s.strength == "partly" and s.part("change"))):
        out.append(_gap(text("statement.gap.survey_unsaid.problem", objective=t),
                        text("statement.gap.survey_unsaid.suggestion"), s))
    elif s.strength == "partly" and s.part("change") is not None:  # stories, with or without records
        out.append(_gap(text("statement.gap.stories_only.problem", objective=t),
                        text("statement.gap.stories_only.suggestion"), s))
    commitment = s.part("commitment")
    if commitment is None:
        out.append(_gap(text("statement.gap.no_commitment.problem", objective=t),
                        text("statement.gap.no_commitment.suggestion"), s))
    else:
        if not ev.commitment.measure and not mentions_number(_DATE_NUMBERS.sub(" ", ev.commitment.text or "")):
            out.append(_gap(text("statement.gap.no_target.problem", objective=t),
                            text("statement.gap.no_target.suggestion"), s))
        if ev.commitment.due is None and not mentions_date(ev.commitment.text):
            out.append(_gap(text("statement.gap.no_date.problem", objective=t),
                            text("statement.gap.no_date.suggestion"), s))
    if ev.story and s.part("story") is None:
        out.append(_gap(text("statement.gap.story_cut.problem", objective=t),
                        text("statement.gap.story_cut.suggestion"), s))
    return out


def _number_problems(numbers: list[Numbers]) -> list[str]:
    problems = []
    for n in numbers:
        for name in COUNTED:
            value = getattr(n, name)
            if value is None:
                continue
            if isinstance(value, float) and not math.isfinite(value):
                problems.append(text("statement.gap.figure.not_a_number", figure=_measure(name)))
            elif value < 0:
                problems.append(text("statement.gap.figure.below_zero", figure=_measure(name)))
        if n.own_value is not None and not clean(n.own_value.source):
            problems.append(text("statement.gap.figure.no_source"))
    return problems


# ---- word limits -----------------------------------------------------------------------------------


def _fit(statement: Statement) -> None:
    """Count the text to submit and, when over a limit, shorten it in the module's order."""
    _count(statement)
    if not _over(statement):
        return
    # 1. svbot's own optional sentences: the equality sentence, per-objective figures said above.
    # Per-objective figures go only when the opening states the group's figures (older statements
    # have their figures under each objective only, and keep them).
    said_above = any(p.kind == "figures" for p in statement.opening)
    for drop in ("equality", "reach") if said_above else ("equality",):
        for holder in [statement.opening, *(s.parts for s in statement.sections)]:
            holder[:] = [p for p in holder if p.kind != drop]
        statement.trimmed = True
        if not _count(statement):
            return
    # 2. Stories to one sentence. 3. The longest answers, a sentence at a time, never below one.
    for kinds in ({"story"}, None):
        while _over(statement):
            # Cut about as much as the excess before counting again: counting once per sentence
            # would be slow for long answers.
            by_words = bool(statement.word_limit and (statement.word_count or 0) > statement.word_limit)
            excess, removed = _excess(statement), 0
            while removed < excess:
                cut = _shorten_longest(statement, kinds, by_words)
                if not cut:
                    break
                removed += cut
            if not removed:
                break
            statement.trimmed = True
            _count(statement)
        if not _over(statement):
            return
    # 4. Stories go.
    for section in statement.sections:
        if section.part("story") is not None:
            section.parts = [p for p in section.parts if p.kind != "story"]
            section.trimmed = statement.trimmed = True
            if not _count(statement):
                return
    statement.within_limit = False
    statement.over_by = _excess(statement)


def _count(statement: Statement) -> bool:
    """Count the text to submit; True while it is over a limit."""
    text = submit_text(statement)
    statement.word_count, statement.char_count = count_words(text), len(text)
    return _over(statement)


def _over(statement: Statement) -> bool:
    return _excess(statement) > 0


def _excess(statement: Statement) -> int:
    words = (statement.word_count or 0) - statement.word_limit if statement.word_limit else 0
    chars = (statement.char_count or 0) - statement.char_limit if statement.char_limit else 0
    return max(words, chars, 0)


def _shorten_longest(statement: Statement, kinds: set[str] | None, by_words: bool = True) -> int:
    """Drop the last sentence of the longest of the charity's answers (of `kinds`) that has more than
    one; return how many words (or characters) went, 0 when no answer has more than one sentence."""
    candidates = [
        (count_words(part.text), part, section)
        for section, parts in [(None, statement.opening), *((s, s.parts) for s in statement.sections)]
        for part in parts
        if part.own and (kinds is None or part.kind in kinds) and len(split_sentences(part.text)) > 1
    ]
    if not candidates:
        return 0
    _size, part, section = max(candidates, key=lambda c: c[0])
    before = part.text
    part.text = drop_last_sentence(part.text) or part.text
    part.trimmed = True
    if section is not None:
        section.trimmed = True
    if by_words:
        return max(1, count_words(before) - count_words(part.text))
    return max(1, len(before) - len(part.text))


# ---- words -----------------------------------------------------------------------------------------


def _sentence(text: str | None) -> str | None:
    """An answer as a sentence: kept as given, with a full stop if it has no closing punctuation."""
    if not text:
        return None
    return text if text[-1] in ".!?…\"'”’)" else text + "."


def _something(text: str | None) -> str | None:
    """An answer that only says there is nothing ("none", "no", "n/a") is left out."""
    if text is None or text.strip(" .!").lower() in _NOTHING:
        return None
    return text


def _labels(guidance, values: list[str]) -> list[str]:  # type: ignore[no-untyped-def]
    """Known groups in svbot's words, lower-cased inside a sentence; the person's own words as given."""
    known = {g.id for g in guidance.beneficiary_groups}
    return [_lower(guidance.beneficiary_label(v)) if v in known else v
            for v in _unique(v for v in (clean(x) for x in values) if v)]  # fmt: skip


def _lower(label: str) -> str:
    """ "Older people" -> "older people"; "LGBTQ+ people" stays."""
    return label[0].lower() + label[1:] if len(label) > 1 and label[1].islower() else label


def _unique(values: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(values))


def _capital(sentence: str) -> str:
    """A sentence that starts with a figure: "About 60 volunteers ..."."""
    return sentence[:1].upper() + sentence[1:]


def _and_list(items: list[str]) -> str:
    """ "a, b and c", the last two joined in the current locale's words."""
    if len(items) <= 1:
        return "".join(items)
    return text("statement.and", before=", ".join(items[:-1]), after=items[-1])

