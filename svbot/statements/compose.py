"""Turn the walk-through's answers into a draft evidence statement.

Evidence strength (so nothing is over-claimed). For each objective, with "numbers" meaning at least
one of the figures was given and "kinds" the evidence kinds chosen, ignoring `none_yet`:

The difference it makes (the outcome claim):
  - evidenced: an external evaluation; or a survey or attendance records together with numbers
  - partly:    a survey or attendance records without numbers; or only quotes and/or case studies
  - not yet:   no evidence, or "none yet"
What we do (the activity claim):
  - evidenced: numbers and at least one kind of evidence
  - partly:    numbers or evidence, not both
  - not yet:   neither
The section's headline strength is that of its difference claim, or of its activity claim when no
difference was described.

Numbers are shown exactly as given: never rounded, summed or changed, only formatted with thousands
separators (and £ for money). Totals across objectives are deliberately not shown: the same people
often count under several objectives, and adding them up would over-claim.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable

from svbot.knowledge import Framework, Knowledge, Objective
from svbot.statements.model import (
    STRENGTH_LABELS,
    Claim,
    CommitmentOut,
    Gap,
    NumberRow,
    Numbers,
    ObjectiveEvidence,
    ObjectiveSection,
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
    uk_date,
)

STRONG_KINDS = {"survey", "attendance_records"}
STORY_KINDS = {"quote", "case_study"}

# (field, table label, singular phrase, plural phrase) for the figures sentence and table.
_NUMBER_FIELDS: tuple[tuple[str, str, str, str], ...] = (
    ("people_reached", "People reached", "{} person reached", "{} people reached"),
    ("sessions", "Sessions", "{} session", "{} sessions"),
    ("volunteers", "Volunteers", "{} volunteer", "{} volunteers"),
    ("volunteer_hours", "Volunteer hours", "{} volunteer hour", "{} volunteer hours"),
    ("local_spend", "Spent locally", "{} spent locally", "{} spent locally"),
    ("partners", "Partner organisations", "{} partner organisation", "{} partner organisations"),
)
_MONEY_FIELDS = {"local_spend"}


class StatementError(ValueError):
    """The answers cannot be turned into a statement (e.g. an objective the framework does not have)."""


def compose(data: StatementInput, knowledge: Knowledge) -> Statement:
    """Build the statement; if a word or character limit is set, trim free text until it fits."""
    framework = _framework(data, knowledge)
    _check_ids(data, framework, knowledge)
    whole = data.numbers.given()
    sections = [_section(i, ev, framework.objective(ev.objective_id), knowledge, whole)
                for i, ev in enumerate(data.objectives, start=1)]
    gaps = _statement_gaps(data) + [g for ev, s in zip(data.objectives, sections, strict=True)
                                    for g in _objective_gaps(ev, s, data)]
    statement = Statement(
        org_name=clean(data.org_name) or "Our organisation",
        org_what=clean(data.org_what),
        org_where=clean(data.org_where),
        size_band=clean(data.size_band),
        period=clean(data.period),
        figures_period=_period_text(data),
        numbers_text=_numbers_text(data.numbers),
        who_benefits=[knowledge.guidance.beneficiary_label(v) for v in _cleaned_list(data.who_benefits)],
        equality_groups=[knowledge.guidance.beneficiary_label(v) for v in _equality(data, knowledge)],
        framework_id=framework.id,
        framework_title=framework.title,
        framework_owner=framework.owner,
        framework_status=framework.status,
        framework_source=framework.source.citation,
        framework_url=framework.source.url,
        framework_licence=framework.licence,
        illustrative_note=framework.status_note if framework.is_illustrative else None,
        summary="",
        sections=sections,
        numbers=_whole_rows(data) + [row for ev, s in zip(data.objectives, sections, strict=True)
                                     for row in _number_rows(ev.numbers, s.id, s.title)],
        gaps=gaps,
        word_limit=data.word_limit,
        char_limit=data.char_limit,
        template_dir=str(framework.directory) if framework.template and framework.directory else None,
        template_name=framework.template,
    )
    statement.summary = _summary(statement, framework)
    _fit_and_count(statement)
    return statement


# ---- checks ------------------------------------------------------------------------------------


def _framework(data: StatementInput, knowledge: Knowledge) -> Framework:
    try:
        return knowledge.framework(data.framework_id)
    except KeyError:
        known = ", ".join(knowledge.frameworks) or "none"
        raise StatementError(f"Unknown framework {data.framework_id!r} (known: {known}).") from None


def _check_ids(data: StatementInput, framework: Framework, knowledge: Knowledge) -> None:
    known = framework.objective_ids()
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
        kinds = {k.id for k in knowledge.guidance.evidence_kinds}
        for kind in evidence.evidence_kinds:
            if kind not in kinds:
                raise StatementError(
                    f"Unknown evidence kind {kind!r} for objective {evidence.objective_id!r} "
                    f"(known: {', '.join(sorted(kinds))})."
                )
    for limit, name in ((data.word_limit, "word_limit"), (data.char_limit, "char_limit")):
        if limit is not None and limit < 1:
            raise StatementError(f"{name} must be at least 1, not {limit}.")


# ---- sections ----------------------------------------------------------------------------------


def _section(
    number: int, ev: ObjectiveEvidence, objective: Objective, knowledge: Knowledge, whole_numbers: bool
) -> ObjectiveSection:
    guidance = knowledge.guidance
    kinds = _kinds(ev)
    # The organisation's own figures back up what it does under each objective it works on.
    has_numbers = ev.numbers.given() or whole_numbers
    activity = clean(ev.activity)
    change = clean(ev.change)
    difference_strength = _difference_strength(kinds, has_numbers)
    activity_strength = _activity_strength(kinds, has_numbers)
    commitment = ev.commitment
    return ObjectiveSection(
        id=objective.id,
        number=number,
        title=objective.title,
        theme=objective.theme,
        activity=Claim(text=activity, strength=activity_strength) if activity else None,
        over_and_above=_not_none(clean(ev.over_and_above)),
        who_benefits=[guidance.beneficiary_label(v) for v in _cleaned_list(ev.beneficiaries)],
        equality_groups=[guidance.beneficiary_label(v) for v in _cleaned_list(ev.equality_groups)],
        numbers_text=_numbers_text(ev.numbers),
        difference=Claim(text=change, strength=difference_strength) if change else None,
        evidence=[guidance.evidence_kind(k).label for k in _unique(ev.evidence_kinds) if k != "none_yet"],
        evidence_detail=clean(ev.evidence_detail),
        story=clean(ev.story),
        commitment=CommitmentOut(
            text=clean(commitment.text),
            measure=clean(commitment.measure),
            due=commitment.due,
            due_text=uk_date(commitment.due) if commitment.due else None,
        ),
        strength=difference_strength if change else activity_strength,
    )


def _kinds(ev: ObjectiveEvidence) -> set[str]:
    return set(ev.evidence_kinds) - {"none_yet"}


def _not_none(value: str | None) -> str | None:
    """An answer that only says there is nothing ("none", "no", "n/a") is left out."""
    if value is None or value.strip(" .!").lower() in {"none", "no", "nothing", "n/a", "na", "not really"}:
        return None
    return value


def _period_text(data: StatementInput) -> str | None:
    if data.figures_from and data.figures_to:
        return f"{uk_date(data.figures_from)} to {uk_date(data.figures_to)}"
    return None


def _equality(data: StatementInput, knowledge: Knowledge) -> list[str]:
    """Equality groups reached: those the chosen beneficiary groups belong to, and any named directly."""
    return _cleaned_list([*knowledge.guidance.equality_of(data.who_benefits), *data.equality_groups])


def _difference_strength(kinds: set[str], has_numbers: bool) -> Strength:
    if "external_evaluation" in kinds or (kinds & STRONG_KINDS and has_numbers):
        return "evidenced"
    return "partly" if kinds else "not_yet"


def _activity_strength(kinds: set[str], has_numbers: bool) -> Strength:
    if kinds and has_numbers:
        return "evidenced"
    return "partly" if kinds or has_numbers else "not_yet"


def _figure(numbers: Numbers, field: str, value: float | int) -> str:
    """A figure exactly as given, with the person's own qualifier: "about 140", "over £2,000"."""
    shown = format_money(value) if field in _MONEY_FIELDS else format_count(value)
    qualifier = numbers.qualifiers.get(field)
    return f"{qualifier} {shown}" if qualifier else shown


def _numbers_text(numbers: Numbers) -> str | None:
    phrases = []
    for field, _label, one, many in _NUMBER_FIELDS:
        value = getattr(numbers, field)
        if value is None:
            continue
        phrases.append((one if value == 1 else many).format(_figure(numbers, field, value)))
    text = ", ".join(phrases)
    return text[:1].upper() + text[1:] if text else None


_WHOLE_ORGANISATION = "All our work"


def _whole_rows(data: StatementInput) -> list[NumberRow]:
    return _number_rows(data.numbers, "", _WHOLE_ORGANISATION)


def _number_rows(numbers: Numbers, objective_id: str, objective_title: str) -> list[NumberRow]:
    rows = []
    for field, label, _one, _many in _NUMBER_FIELDS:
        value = getattr(numbers, field)
        if value is not None:
            rows.append(NumberRow(objective_id=objective_id, objective_title=objective_title,
                                  measure=label, figure=_figure(numbers, field, value)))
    own = numbers.own_value
    if own is not None:
        source = clean(own.source)
        rows.append(NumberRow(
            objective_id=objective_id,
            objective_title=objective_title,
            measure=f"Our own valuation: {clean(own.description) or 'not described'}",
            figure=format_money(own.amount),
            note=f"Our own estimate, not a standard value. Source: {source or 'not given'}.",
        ))
    return rows


def _cleaned_list(values: list[str]) -> list[str]:
    return _unique(v for v in (clean(x) for x in values) if v)


def _unique(values: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(values))


# ---- gaps --------------------------------------------------------------------------------------


def _statement_gaps(data: StatementInput) -> list[Gap]:
    def gap(problem: str, suggestion: str) -> Gap:
        return Gap(objective_id=None, objective_title=None, problem=problem, suggestion=suggestion)

    gaps = []
    if not clean(data.period):
        gaps.append(gap("No period given for the figures.",
                        "Say which months or year the figures cover, e.g. April 2025 to March 2026."))
    if not data.objectives:
        gaps.append(gap("No objectives chosen.", "Pick at least one objective your work supports."))
    if _asked_once(data):
        # Asked once for the whole organisation, so said once, not under every objective.
        if not data.who_benefits and not data.equality_groups:
            gaps.append(gap("Who benefits is not stated.",
                            "Name the groups who benefit, e.g. older people living alone, young carers."))
        if not data.numbers.given() and not any(ev.numbers.given() for ev in data.objectives):
            gaps.append(gap("No figures for your group.",
                            "Even rough counts help: how many people took part and how many volunteers "
                            "helped. Say \"about\" where it is an estimate."))
        elif data.numbers.given() and not (data.figures_from and data.figures_to):
            gaps.append(gap("Your figures do not say which 12 months they cover.",
                            "Say which year they are for, e.g. April 2025 to March 2026."))
        gaps.extend(gap(problem, suggestion) for problem, suggestion in _number_problems(data.numbers, None))
    return gaps


def _asked_once(data: StatementInput) -> bool:
    """Whether the statement comes from the walk-through that asks about the whole group once (a
    statement made before that has who benefits and the figures under each objective)."""
    return bool(data.who_benefits or data.equality_groups or data.numbers.given() or data.figures_from
                or not any(ev.beneficiaries or ev.equality_groups or ev.numbers.given() for ev in data.objectives))


def _objective_gaps(ev: ObjectiveEvidence, s: ObjectiveSection, data: StatementInput) -> list[Gap]:
    def gap(problem: str, suggestion: str) -> Gap:
        return Gap(objective_id=s.id, objective_title=s.title, problem=problem, suggestion=suggestion)

    gaps: list[Gap] = []
    kinds = _kinds(ev)
    has_numbers = ev.numbers.given() or data.numbers.given()
    per_objective = not _asked_once(data)
    t = s.title
    if s.activity is None:
        gaps.append(gap(f"No description of what you do for {t}.",
                        "Say in a sentence or two what you do, for whom, and how often."))
    if per_objective and not s.who_benefits and not s.equality_groups:
        gaps.append(gap(f"Who benefits is not stated for {t}.",
                        "Name the groups who benefit, e.g. older people living alone, young carers."))
    if per_objective and not has_numbers:
        gaps.append(gap(f"No numbers for {t}.",
                        "Even rough counts help: how many people took part, how many sessions, "
                        "how many volunteers."))
    gaps.extend(gap(problem, suggestion) for problem, suggestion in _number_problems(ev.numbers, t))
    if s.difference is None:
        gaps.append(gap(f"No difference described for {t}.",
                        "Say what is different for people because of this work, "
                        "e.g. members say they feel less lonely."))
    if not kinds:
        gaps.append(gap(f"No evidence given for {t}.",
                        "Start simply: a sign-in sheet at each session, and ask a few people in their "
                        "own words what difference it makes."))
    elif kinds <= STORY_KINDS:
        gaps.append(gap(f"The evidence for {t} is quotes or case studies only, so it is partly evidenced.",
                        "Add a count from your attendance records or a short survey that asks everyone "
                        "the same questions."))
    elif "external_evaluation" not in kinds and not has_numbers:
        gaps.append(gap(f"Your records or survey for {t} have no figures with them.",
                        "Add the figures from your records, e.g. how many people took part or how many "
                        "said things improved."))
    commitment = s.commitment
    if not commitment.text:
        gaps.append(gap(f"No commitment for the next period for {t}.",
                        "Add one specific thing you will do, how you will measure it and by when."))
    else:
        # The walk-through asks for the number, the measure and the date in one answer.
        if not commitment.measure and not mentions_number(commitment.text):
            gaps.append(gap(f"The commitment for {t} has no number to measure it by.",
                            "Say how you will know it happened, e.g. a number to reach or a survey result."))
        if commitment.due is None and not mentions_date(commitment.text):
            gaps.append(gap(f"The commitment for {t} has no date.",
                            "Add a date, e.g. the end of your next funding year."))
    return gaps


def _number_problems(numbers: Numbers, title: str | None) -> list[tuple[str, str]]:
    """Figures that cannot be right, for an objective (`title`) or the whole organisation (None)."""
    problems = []
    of = f" for {title}" if title else ""
    values: list[tuple[str, float | int]] = [
        (label, getattr(numbers, field)) for field, label, _o, _m in _NUMBER_FIELDS
        if getattr(numbers, field) is not None
    ]
    own = numbers.own_value
    if own is not None:
        values.append(("Our own valuation", own.amount))
        if not clean(own.source):
            problems.append((f"Your own £ value{of} has no source.",
                             "Say how you worked it out and where the figures came from."))
    for label, value in values:
        if isinstance(value, float) and not math.isfinite(value):
            problems.append((f"{label}{of} is not a number.", "Enter the figure again as digits."))
        elif value < 0:
            problems.append((f"{label}{of} is below zero.", "Check the figure: counts start at 0."))
    return problems


# ---- summary -----------------------------------------------------------------------------------


def _summary(statement: Statement, framework: Framework) -> str:
    sections = statement.sections
    where = f" in {statement.org_where}" if statement.org_where else ""
    when = f" during {statement.period}" if statement.period else ""
    if not sections:
        return f"{statement.org_name}{where} has not yet chosen objectives from {framework.title}."
    titles = _join([s.title for s in sections])
    noun = "objective" if len(sections) == 1 else "objectives"
    first = (f"{statement.org_name}{where} supports {len(sections)} {noun} of {framework.title}{when}: "
             f"{titles}.")
    counts = {key: sum(1 for s in sections if s.strength == key) for key in STRENGTH_LABELS}
    parts = [f"{counts[key]} {'is' if counts[key] == 1 else 'are'} {STRENGTH_LABELS[key].lower()}"
             for key in STRENGTH_LABELS if counts[key]]
    second = f"Of these, {_join(parts)}."
    third = "The gaps list at the end says what would make the evidence stronger." if statement.gaps else ""
    return " ".join(p for p in (first, second, third) if p)


def _join(items: list[str]) -> str:
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


# ---- limits ------------------------------------------------------------------------------------


def _fit_and_count(statement: Statement) -> None:
    """Count the plain-text draft; if over a limit, drop sentences from the longest free text first.

    Numbers, gaps, titles and the summary are never cut. Pass 1 keeps at least one sentence of every
    answer; pass 2 may remove stories, details and descriptions entirely; pass 3 touches commitments.
    """
    from svbot.statements.render import render  # render imports the model only; no cycle at import

    def measure() -> tuple[int, int]:
        _set_counts(statement, render)
        return statement.word_count or 0, statement.char_count or 0

    words, chars = measure()
    if statement.word_limit is None and statement.char_limit is None:
        return
    for keep_one, include_commitments in ((True, False), (False, False), (False, True)):
        while _over(statement, words, chars):
            # Cut about as much as the excess before measuring again: rendering once per sentence
            # would be slow for long answers.
            by_chars = _chars_bind(statement, words)
            excess = chars - (statement.char_limit or 0) if by_chars else words - (statement.word_limit or 0)
            removed = 0
            while removed < excess:
                cut = _trim_once(statement, keep_one, include_commitments, by_chars=by_chars)
                if cut is None:
                    break
                removed += cut
            if not removed:
                break
            statement.trimmed = True
            words, chars = measure()
    if _over(statement, words, chars):
        statement.within_limit = False
        measure()  # the closing line now says so, which changes the count


def _over(statement: Statement, words: int, chars: int) -> bool:
    return bool((statement.word_limit and words > statement.word_limit)
                or (statement.char_limit and chars > statement.char_limit))


def _chars_bind(statement: Statement, words: int) -> bool:
    """Trim by characters when the word limit is met (or absent) and the character limit is not."""
    return not (statement.word_limit and words > statement.word_limit)


def _set_counts(statement: Statement, render: Callable[[Statement, str], str | bytes]) -> None:
    from svbot.statements.render import body_text

    text = body_text(statement)
    statement.word_count, statement.char_count = count_words(text), len(text)


_SECTION_FIELDS = ("story", "evidence_detail")
_CLAIM_FIELDS = ("activity", "difference")


def _trim_once(statement: Statement, keep_one: bool, include_commitments: bool, by_chars: bool) -> int | None:
    """Drop one sentence from the longest trimmable text; return how many words (or characters)
    went. None when nothing can be trimmed."""
    candidates: list[tuple[int, Callable[[str | None], None], str]] = []

    def offer(text: str | None, setter: Callable[[str | None], None]) -> None:
        if text and (not keep_one or drop_last_sentence(text) is not None):
            size = len(text) if by_chars else count_words(text)
            candidates.append((size, setter, text))

    offer(statement.org_what, lambda v: setattr(statement, "org_what", v))
    for section in statement.sections:
        for name in _SECTION_FIELDS:
            offer(getattr(section, name), _setter(section, name))
        for name in _CLAIM_FIELDS:
            claim = getattr(section, name)
            if claim is not None:
                offer(claim.text, _claim_setter(section, name))
        if include_commitments:
            offer(section.commitment.text, _commitment_setter(section))
    if not candidates:
        return None
    _size, setter, text = max(candidates, key=lambda c: c[0])
    shorter = drop_last_sentence(text)
    setter(shorter)
    if by_chars:
        return max(1, len(text) - len(shorter or ""))
    return max(1, count_words(text) - count_words(shorter or ""))


def _setter(section: ObjectiveSection, name: str) -> Callable[[str | None], None]:
    def set_value(value: str | None) -> None:
        setattr(section, name, value)
        section.trimmed = True

    return set_value


def _commitment_setter(section: ObjectiveSection) -> Callable[[str | None], None]:
    def set_value(value: str | None) -> None:
        section.commitment.text = value
        section.trimmed = True

    return set_value


def _claim_setter(section: ObjectiveSection, name: str) -> Callable[[str | None], None]:
    def set_value(value: str | None) -> None:
        claim = getattr(section, name)
        setattr(section, name, None if value is None else Claim(text=value, strength=claim.strength))
        section.trimmed = True

    return set_value
