"""The monitoring-report feature: "Help me write it" (or `write report`) drafts the report that is due,
for that deadline's own period, against what its grant agreed, and closes the loop.

- Started by the reminder's "Help me write it" button (svbot/deadlines/chat.py hands it here), by
  `write report` / `report` in chat (the only open report, or buttons to choose when there are
  several), or by the `mr:write:ID` buttons of that list.
- The questions are a dialogue file: the programme's own form (`Programme.monitoring_form`, a dialogue
  id in the same folder) or svbot's default, `dialogues/monitoring_report.yaml`. The form sees
  `report` (the period as dates, the grant's outcomes to repeat over, its budget, the commitments of
  the latest social value statement). When the grant has no outcomes, `monitoring_outcomes.yaml` asks
  first what was agreed and stores the answers as proposed (`propose_outcomes`).
- One draft per deadline (`monitoring_reports`): someone who starts a report already begun by a
  colleague of the same organisation gets their answers and is asked only what is still open.
- After the draft (svbot/monitoring_report.py): "Mark as submitted" (the deadline's own submit, which
  stops its reminders) or "Keep as a draft".
- `share report` lets the organisation's support organisation read its latest report (anyone of the
  organisation may decide, svbot/support/access.py); `stop sharing report` takes every one of its
  reports back. Those words and the support admin's reading (from `members`) are in
  svbot/support/chat.py, which asks svbot/support/access.py; here, `latest_report` and
  `send_shared_report`.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, String, and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from svbot.deadlines.models import PROPOSED, UPCOMING, Deadline, Grant, GrantOutcome
from svbot.deadlines.outcomes import (
    OutcomeProblem,
    OutcomeSpec,
    agreed_outcomes,
    parse_amount,
    parse_outcome,
    propose_outcomes,
)
from svbot.deadlines.programmes import find_programme
from svbot.deadlines.service import DueItem, format_day, mark_submitted, open_items_for_person, read_press
from svbot.delivery.models import UTCDateTime
from svbot.dialogue.state import ANY_ITEM
from svbot.messages import Button, FileOut
from svbot.models import Answer, Base, Conversation, Membership, Organisation, utcnow
from svbot.monitoring_report import (
    MEDIA_TYPES,
    OUTCOMES_STEP,
    ReportInput,
    chat_chunks,
    compose,
    long_date,
    money,
    number,
    period_text,
    render,
    report_input,
)
from svbot.text import text
from svbot.turns import Bot, Turn

log = logging.getLogger(__name__)

DEFAULT_FORM = "monitoring_report"
OUTCOMES_DIALOGUE = "monitoring_outcomes"
MARK = "report_deadline"  # the answer (set by svbot, never asked) saying which deadline a form is for
DRAFT, SUBMITTED = "draft", "submitted"
WHICH_SHOWN = 6
# `write report` offers the reports due within this many days (and overdue ones): a quarter's report
# is written once the quarter is nearly over, not the next year's. With none that close, the next one.
WRITE_AHEAD_DAYS = 45
MAX_OUTCOMES = 20
_NOT_ASKED = (MARK, OUTCOMES_STEP)


class MonitoringReport(Base):
    """The answers given for one deadline's report: one draft per deadline, shared by its organisation."""

    __tablename__ = "monitoring_reports"

    id: Mapped[int] = mapped_column(primary_key=True)
    deadline_id: Mapped[int] = mapped_column(ForeignKey("deadlines.id"), unique=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    # {"answers": {...}, "skipped": [...]}: the form's flat answers, as the dialogue keeps them.
    answers: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    status: Mapped[str] = mapped_column(String(20), default=DRAFT)
    # The member lets its support organisation read the report (the same rule as statements).
    shared: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


def install(bot: Bot) -> None:
    bot.payload_handlers["mr"] = _button
    bot.context_providers.append(_context)
    bot.on_complete[OUTCOMES_DIALOGUE] = _outcomes_given
    bot.on_answers.append(_keep_answers)
    # A programme may name any dialogue in the folder as its form: each one not already someone's
    # finishes here when it carries a deadline (`MARK`), and does nothing otherwise.
    for dialogue_id in list(bot.dialogues):
        bot.on_complete.setdefault(dialogue_id, _finished)

    @bot.intent("write_report", "write report", "write my report", "report", "monitoring report",
                "write the report", "/report", menu=text("monitoring.menu"), private=True)  # fmt: skip
    async def write(turn: Turn) -> None:
        await _write_typed(turn)


# ---- starting ------------------------------------------------------------------------------------


async def _write_typed(turn: Turn) -> None:
    state = turn.state
    if state.under_way:
        deadline_id = state.answers.get(MARK)
        if isinstance(deadline_id, int):  # already writing one: carry on with the organisation's draft
            await start_report(turn, deadline_id)
        else:
            turn.say(text("monitoring.finish_first"))
        return
    items = await open_items(turn)
    if not items:
        turn.say(text("monitoring.none"))
        return
    soon = turn.now.date() + timedelta(days=WRITE_AHEAD_DAYS)
    ready = [i for i in items if i.due_date <= soon] or items[:1]
    if len(ready) == 1:
        await start_report(turn, ready[0].deadline_id)
        return
    shown = ready[:WHICH_SHOWN]
    buttons = tuple(
        Button(text("monitoring.which_button", report=_short(i.title), grant=_short(i.grant_title, 30),
                    due=format_day(i.due_date)), f"mr:write:{i.deadline_id}")
        for i in shown
    )  # fmt: skip
    said = text("monitoring.which")
    if len(items) > len(shown):
        said += "\n" + text("monitoring.which_more", count=len(items) - len(shown))
    turn.say(said, buttons=buttons)


async def start_report(turn: Turn, deadline_id: int) -> None:
    """Begin (or carry on with) the report for this deadline, for a member of its organisation."""
    item = next((i for i in await open_items(turn) if i.deadline_id == deadline_id), None)
    if item is None:
        _refused(turn, deadline_id, "write")
        return
    if turn.conversation.organisation_id is None:
        turn.conversation.organisation_id = item.organisation_id
    session = turn.session
    deadline = await session.get(Deadline, deadline_id)
    grant = await session.get(Grant, item.grant_id)
    assert deadline is not None and grant is not None
    outcomes = await agreed_outcomes(session, grant.id)
    answers, skipped = await shared_draft(session, deadline)
    intro = _intro(deadline, item)
    if not outcomes and OUTCOMES_DIALOGUE in turn.bot.dialogues:
        turn.start_dialogue(OUTCOMES_DIALOGUE, intro=intro + "\n\n" + text("monitoring.outcomes_first"),
                            answers={MARK: deadline.id})  # fmt: skip
        return
    await _begin_form(turn, deadline, grant, outcomes, answers, skipped, intro)


def _intro(deadline: Deadline, item: DueItem) -> str:
    period = period_text(deadline.period_start, deadline.period_end)
    if period is None:
        return text("monitoring.intro_undated", report=item.title.lower(), grant=item.grant_title)
    return text("monitoring.intro", report=item.title.lower(), grant=item.grant_title, period=period)


async def _begin_form(
    turn: Turn,
    deadline: Deadline,
    grant: Grant,
    outcomes: list[GrantOutcome],
    answers: dict[str, Any],
    skipped: list[str],
    intro: str,
) -> None:
    session = turn.session
    form = await form_for(session, grant, turn.bot.dialogues)
    if form is None:
        log.warning("deadline %s: no monitoring form (%s missing)", deadline.id, DEFAULT_FORM)
        turn.say(text("monitoring.no_form"), kind="error")
        return
    context = turn.context()
    context["report"] = await report_context(session, deadline, grant, outcomes)
    continuing = bool(skipped) or any(key not in _NOT_ASKED for key in answers)
    prefilled = {**answers, MARK: deadline.id, OUTCOMES_STEP: [_value(o) for o in outcomes]}
    suggestions: dict[str, Any] = {}
    if continuing:
        intro += "\n\n" + text("monitoring.continuing")
    else:  # what this organisation said in its last report, offered back question by question
        bank = await turn.bot.evidence_bank(turn, form)
        suggestions = {key: value for key, value in bank.items()
                       if not key.startswith(ANY_ITEM) and key not in _NOT_ASKED}  # fmt: skip
    turn.start_dialogue(form, intro=intro, answers=prefilled, skipped=skipped, suggestions=suggestions,
                        only_missing=continuing)  # fmt: skip


async def form_for(session: AsyncSession, grant: Grant, dialogues: dict[str, Any]) -> str | None:
    """The programme's own monitoring form when it names one that exists, else svbot's default."""
    programme = await find_programme(session, grant.support_org_id, grant.programme or "")
    if programme is not None and programme.monitoring_form:
        if programme.monitoring_form in dialogues:
            return programme.monitoring_form
        log.warning("programme %s: monitoring form %r not found; using %s",
                    programme.code, programme.monitoring_form, DEFAULT_FORM)  # fmt: skip
    return DEFAULT_FORM if DEFAULT_FORM in dialogues else None


def _value(outcome: GrantOutcome) -> str:
    return f"o{outcome.id}"


async def report_context(
    session: AsyncSession, deadline: Deadline, grant: Grant, outcomes: list[GrantOutcome]
) -> dict[str, Any]:
    """What the form's templates see as `report`."""
    unknown_end = text("monitoring.report.period_end_unknown")
    return {
        "title": deadline.title,
        "grant": grant.title or text("deadlines.your_grant"),
        "period": period_text(deadline.period_start, deadline.period_end) or text("monitoring.report.period_unknown"),
        "end": long_date(deadline.period_end) if deadline.period_end else unknown_end,
        "outcomes": [
            {
                "value": _value(o),
                "label": o.text,
                "target": float(o.target) if o.target is not None else None,
                "target_text": (number(o.target) + (f" {o.unit}" if o.unit else "")) if o.target is not None else None,
                "proposed": o.status == PROPOSED,
            }
            for o in outcomes
        ],
        "budget": money(grant.budget) if grant.budget is not None else None,
        "commitments": await _commitments(session, deadline.organisation_id),
        "small": await is_small(session, deadline.organisation_id),
        "last_plan": await last_plan(session, deadline),
    }


async def last_plan(session: AsyncSession, deadline: Deadline) -> str | None:
    """ "Your plan for the next period" as the organisation gave it in the grant's previous report (the
    latest earlier deadline with a report written), offered back with the activities question."""
    rows = await session.execute(
        select(MonitoringReport.answers)
        .join(Deadline, Deadline.id == MonitoringReport.deadline_id)
        .where(
            Deadline.grant_id == deadline.grant_id,
            Deadline.organisation_id == deadline.organisation_id,
            Deadline.id != deadline.id,
            Deadline.due_date < deadline.due_date,
        )
        .order_by(Deadline.due_date.desc(), Deadline.id.desc())
    )
    for (stored,) in rows.all():
        plan = ((stored or {}).get("answers") or {}).get("next_period")
        if isinstance(plan, str) and plan.strip():
            return plan.strip()
    return None


# Where the social value walk-through keeps the group's size (its nested organisation dialogue),
# and the organisation dialogue when asked on its own.
_SIZE_KEYS = (("social_value", "org.size"), ("organisation", "size"))
SMALL_SIZE = "under_10k"  # "Under £10,000" a year


async def is_small(session: AsyncSession, organisation_id: int) -> bool:
    """The group said (newest answer first) it spends under £10,000 a year: the short path."""
    newest = await session.scalar(
        select(Answer.value)
        .where(
            Answer.organisation_id == organisation_id,
            or_(*(and_(Answer.dialogue_id == d, Answer.key == k) for d, k in _SIZE_KEYS)),
            Answer.value.is_not(None),
        )
        .order_by(Answer.updated_at.desc(), Answer.id.desc())
        .limit(1)
    )
    return newest == SMALL_SIZE


async def _commitments(session: AsyncSession, organisation_id: int) -> list[str]:
    """The commitments in the organisation's latest social value statement ("You said you would ...")."""
    from svbot.evidence import latest_statement
    from svbot.statements.model import StatementInput

    record = await latest_statement(session, organisation_id)
    if record is None:
        return []
    try:
        data = StatementInput.model_validate(record.data)
    except ValueError:
        return []
    found = [o.commitment.text.strip() for o in data.objectives if o.commitment and o.commitment.text]
    return [c for c in dict.fromkeys(found) if c][:3]


async def _context(turn: Turn, context: dict[str, Any]) -> None:
    """Every turn of a report: the `report` its form's questions use."""
    context.setdefault("report", None)
    state = turn.state
    deadline_id = state.answers.get(MARK) if state.under_way else None
    if not isinstance(deadline_id, int) or state.dialogue == OUTCOMES_DIALOGUE:
        return
    deadline = await turn.session.get(Deadline, deadline_id)
    grant = await turn.session.get(Grant, deadline.grant_id) if deadline is not None else None
    if deadline is None or grant is None:
        return
    outcomes = await agreed_outcomes(turn.session, grant.id)
    context["report"] = await report_context(turn.session, deadline, grant, outcomes)


# ---- the draft, shared by the organisation ---------------------------------------------------------


async def draft_for(session: AsyncSession, deadline_id: int) -> MonitoringReport | None:
    return await session.scalar(select(MonitoringReport).where(MonitoringReport.deadline_id == deadline_id))


async def shared_draft(session: AsyncSession, deadline: Deadline) -> tuple[dict[str, Any], list[str]]:
    """The answers given so far for this deadline's report by anyone in its organisation: the stored
    draft, then (newer) the answers of reports still being written in their conversations."""
    row = await draft_for(session, deadline.id)
    stored = row.answers if row is not None else {}
    answers: dict[str, Any] = dict(stored.get("answers") or {})
    skipped: list[str] = list(stored.get("skipped") or [])
    since = row.updated_at if row is not None else None
    conversations = await session.execute(
        select(Conversation.state, Conversation.updated_at)
        .where(Conversation.organisation_id == deadline.organisation_id)
        .order_by(Conversation.updated_at, Conversation.id)
    )
    for state, updated_at in conversations.all():
        if not isinstance(state, dict) or state.get("mode") in (None, "idle", "done"):
            continue
        given = state.get("answers") or {}
        if given.get(MARK) != deadline.id or (since is not None and _aware(updated_at) <= since):
            continue
        answers.update(given)
        for key in state.get("skipped") or []:
            answers.pop(key, None)
            skipped.append(key)
    for key in _NOT_ASKED:
        answers.pop(key, None)
    return answers, [key for key in dict.fromkeys(skipped) if key not in answers]


def _aware(moment: datetime | None) -> datetime:
    if moment is None:
        return datetime.min.replace(tzinfo=UTC)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


async def _keep_answers(turn: Turn) -> None:
    """Each answer given in a report goes into its draft in the same turn, so a report left half-way
    ("cancel", or a closed chat) is a draft: its organisation carries on from it, its support admin
    counts it as started, and `svbot monitoring export` prints it."""
    state = turn.state
    deadline_id = state.answers.get(MARK)
    if not isinstance(deadline_id, int) or state.dialogue == OUTCOMES_DIALOGUE:
        return
    deadline = await turn.session.get(Deadline, deadline_id)
    if deadline is None or deadline.status != UPCOMING or not await _is_member(turn, deadline.organisation_id):
        return  # never into another organisation's draft, nor a report submitted (or waived) meanwhile
    given = {key: state.answers[key] for key in turn.changed if key in state.answers}
    skipped = [key for key in turn.changed if key in state.skipped]
    cleared = [key for key in turn.changed if key not in state.answers and key not in state.skipped]
    await save_draft(turn.session, deadline, given, skipped, turn.now, cleared=cleared)


async def save_draft(
    session: AsyncSession,
    deadline: Deadline,
    answers: dict[str, Any],
    skipped: list[str],
    now: datetime,
    cleared: Sequence[str] = (),
) -> MonitoringReport:
    """Keep the answers as the deadline's draft, over what the organisation gave before (what this
    person skipped, or cleared, is no longer answered)."""
    row = await draft_for(session, deadline.id)
    if row is None:
        row = MonitoringReport(deadline_id=deadline.id, organisation_id=deadline.organisation_id,
                               answers={}, status=DRAFT, shared=False, created_at=now)  # fmt: skip
        session.add(row)
    merged = dict((row.answers or {}).get("answers") or {})
    merged.update({key: value for key, value in answers.items() if key not in _NOT_ASKED})
    for key in (*skipped, *cleared):
        merged.pop(key, None)
    earlier_skipped = [key for key in (row.answers or {}).get("skipped") or [] if key not in merged]
    row.answers = json.loads(json.dumps(
        {"answers": merged, "skipped": list(dict.fromkeys([*earlier_skipped, *skipped]))}, default=str
    ))  # fmt: skip
    row.updated_at = now
    await session.flush()
    return row


# ---- finishing -------------------------------------------------------------------------------------


_OUTCOME_SPLIT = re.compile(r"[;\n]+")
_TARGET_AFTER = re.compile(r"^(?P<text>.+?)\s*[:=\-–]\s*(?P<number>\d[\d,]*(?:\.\d+)?)\s*(?P<unit>\D.*)?$")
_ONE_NUMBER = re.compile(r"(?<![\d/.])(\d[\d,]*(?:\.\d+)?)(?![\d/.])")
_UNIT_ENDS = re.compile(r"\s+(?:by|before|in|per|each|a|every|over|during)\b.*$", re.IGNORECASE)


def read_outcomes(typed: str) -> list[OutcomeSpec]:
    """What a grantee typed for "What did you agree to deliver?": "Train advisers: 4 advisers; Run 12
    drop-in sessions; Open a drop-in". A target is the one number given (a year is not one)."""
    specs: list[OutcomeSpec] = []
    for part in _OUTCOME_SPLIT.split(typed):
        part = part.strip(" .•-\t")
        if not part:
            continue
        try:
            specs.append(_read_outcome(part))
        except OutcomeProblem:
            continue
    return specs[:MAX_OUTCOMES]


def _read_outcome(part: str) -> OutcomeSpec:
    match = _TARGET_AFTER.match(part)
    if match:
        unit = _UNIT_ENDS.sub("", (match.group("unit") or "").strip())[:100]
        return OutcomeSpec(match.group("text").strip()[:1000], parse_amount(match.group("number")), unit)
    numbers = [n for n in _ONE_NUMBER.findall(part) if not re.fullmatch(r"(19|20)\d\d", n)]
    if len(numbers) == 1:
        after = part.split(numbers[0], 1)[1].strip()
        unit = _UNIT_ENDS.sub("", after)[:100]
        return OutcomeSpec(part[:1000], parse_amount(numbers[0]), unit)
    return parse_outcome(part.replace(":", " "))


async def _outcomes_given(turn: Turn) -> None:
    """ "What did you agree to deliver?" answered (or skipped): store it as proposed, then the form."""
    deadline_id = turn.state.answers.get(MARK)
    item = next((i for i in await open_items(turn) if i.deadline_id == deadline_id), None)
    if item is None:
        _refused(turn, str(deadline_id)[:20], "outcomes")
        return
    session = turn.session
    deadline = await session.get(Deadline, item.deadline_id)
    grant = await session.get(Grant, item.grant_id)
    assert deadline is not None and grant is not None
    typed = turn.state.answers.get("agreed")
    specs = read_outcomes(typed) if isinstance(typed, str) else []
    if specs:
        await propose_outcomes(session, grant.id, specs, turn.identity.person_id, turn.now)
        said = text("monitoring.proposed", count=len(specs))
    else:
        said = text("monitoring.proposed_none")
    outcomes = await agreed_outcomes(session, grant.id)
    answers, skipped = await shared_draft(session, deadline)
    await _begin_form(turn, deadline, grant, outcomes, answers, skipped, said)


async def _finished(turn: Turn) -> None:
    state = turn.state
    deadline_id = state.answers.get(MARK)
    if deadline_id is None:
        return  # not a monitoring report: a dialogue of another feature
    session = turn.session
    deadline = await session.get(Deadline, deadline_id) if isinstance(deadline_id, int) else None
    if deadline is None or not await _is_member(turn, deadline.organisation_id):
        _refused(turn, str(deadline_id)[:20], "finish")
        return
    row = await save_draft(session, deadline, state.answers, list(state.skipped), turn.now)
    await send_report(turn, deadline, row)


async def build_input(session: AsyncSession, deadline: Deadline, row: MonitoringReport | None) -> ReportInput:
    """The report's input: the deadline and its grant from the database, the answers from the draft."""
    grant = await session.get(Grant, deadline.grant_id)
    organisation = await session.get(Organisation, deadline.organisation_id)
    assert grant is not None
    outcomes = [
        {"value": _value(o), "text": o.text, "target": o.target, "unit": o.unit, "proposed": o.status == PROPOSED}
        for o in await agreed_outcomes(session, grant.id)
    ]
    stored = (row.answers or {}).get("answers") or {} if row is not None else {}
    return report_input(
        organisation=organisation.name if organisation is not None else "",
        grant=grant.title or text("deadlines.your_grant"),
        report=deadline.title,
        period_start=deadline.period_start,
        period_end=deadline.period_end,
        due=deadline.due_date,
        outcomes=outcomes,
        budget=Decimal(grant.budget) if grant.budget is not None else None,
        answers=stored,
        status=row.status if row is not None else DRAFT,
    )


async def export(session: AsyncSession, deadline_id: int, fmt: str) -> str | bytes | None:
    """The deadline's report in a format (md, html, txt, docx); None when nobody has started it."""
    deadline = await session.get(Deadline, deadline_id)
    row = await draft_for(session, deadline_id) if deadline is not None else None
    if deadline is None or row is None:
        return None
    return render(compose(await build_input(session, deadline, row)), fmt)


async def send_report(turn: Turn, deadline: Deadline, row: MonitoringReport) -> None:

    report = compose(await build_input(turn.session, deadline, row))
    turn.say(text("monitoring.ready"))
    _say_report(turn, report)
    if row.status == SUBMITTED:
        return
    turn.say(
        text("monitoring.what_next"),
        buttons=(
            Button(text("monitoring.submit_button"), f"mr:submit:{deadline.id}"),
            Button(text("monitoring.keep_button"), f"mr:keep:{deadline.id}"),
        ),
    )


# ---- sharing with the support organisation ---------------------------------------------------------


async def latest_report(session: AsyncSession, organisation_id: int) -> MonitoringReport | None:
    """The organisation's most recently worked-on monitoring report (draft or submitted)."""
    return await session.scalar(
        select(MonitoringReport)
        .where(MonitoringReport.organisation_id == organisation_id)
        .order_by(MonitoringReport.updated_at.desc(), MonitoringReport.id.desc())
        .limit(1)
    )


async def send_shared_report(turn: Turn, row: MonitoringReport) -> None:
    """A report someone may read (svbot/support/access.visible_report checked it): in chat and as Word,
    without the submit and keep buttons, which are its organisation's."""

    deadline = await turn.session.get(Deadline, row.deadline_id)
    if deadline is None:
        turn.say(text("monitoring.not_found"))
        return
    report = compose(await build_input(turn.session, deadline, row))
    turn.say(text("monitoring.share.heading", organisation=report.organisation))
    _say_report(turn, report)


def _say_report(turn: Turn, report: Any) -> None:
    """The draft in chat, in pieces that fit the platform, then as a Word file."""
    from svbot.documents import file_name

    for chunk in chat_chunks(report, turn.bot.message_size(turn.inbound.platform)):
        turn.say(chunk, markdown=True, private=True)
    docx = render(report, "docx")
    assert isinstance(docx, bytes)
    turn.say(
        text("monitoring.as_word"),
        private=True,
        file=FileOut(
            filename=file_name(report.organisation, "-monitoring-report.docx", default="monitoring-report"),
            content=docx,
            mime_type=MEDIA_TYPES["docx"],
            title=text("monitoring.file_title"),
        ),
    )


# ---- buttons ---------------------------------------------------------------------------------------


async def _button(turn: Turn) -> None:
    press = read_press(turn.inbound.payload)
    if isinstance(press, str):
        _refused(turn, press, "malformed button")
        return
    action, deadline_id, _more = press
    if action == "write":
        if turn.state.under_way and turn.state.answers.get(MARK) is None:
            turn.say(text("monitoring.finish_first"))
            return
        await start_report(turn, deadline_id)
    elif action == "submit":
        await _submit(turn, deadline_id)
    elif action == "keep":
        await _keep(turn, deadline_id)
    else:
        _refused(turn, deadline_id, f"unknown action {action[:20]!r}")


async def _submit(turn: Turn, deadline_id: int) -> None:
    item = await submit(turn.session, deadline_id, turn.identity.id, turn.now)
    if item is None:
        _refused(turn, deadline_id, "submit")
        return
    turn.say(text("monitoring.submitted", report=item.title.lower(), grant=item.grant_title))


async def submit(session: AsyncSession, deadline_id: int, identity_id: int, now: datetime) -> DueItem | None:
    """Mark the deadline submitted (its reminders stop) and its draft with it; None when this identity's
    organisations do not hold that deadline. The "Mark as submitted" button and `svbot demo` submit here."""
    item = await mark_submitted(session, deadline_id, identity_id, now)
    if item is None:
        return None
    row = await draft_for(session, deadline_id)
    if row is not None and row.status != SUBMITTED:
        row.status = SUBMITTED
        row.updated_at = now
    return item


async def _keep(turn: Turn, deadline_id: int) -> None:
    row = await draft_for(turn.session, deadline_id)
    if row is None or not await _is_member(turn, row.organisation_id):
        _refused(turn, deadline_id, "keep")
        return
    turn.say(text("monitoring.kept"))


# ---- helpers ---------------------------------------------------------------------------------------


async def open_items(turn: Turn) -> list[DueItem]:
    return await open_items_for_person(turn.session, turn.identity.person_id, turn.now.date())


async def _is_member(turn: Turn, organisation_id: int) -> bool:
    found = await turn.session.scalar(
        select(Membership.id).where(
            Membership.person_id == turn.identity.person_id, Membership.organisation_id == organisation_id
        )
    )
    return found is not None


def _refused(turn: Turn, deadline_id: int | str, action: str) -> None:
    log.warning("monitoring report %s refused for identity %s (%s): not found or not their organisation",
                deadline_id, turn.identity.id, action)  # fmt: skip
    turn.say(text("monitoring.not_found"))


def _short(value: str, limit: int = 40) -> str:
    return value if len(value) <= limit else value[: limit - 1] + "…"
