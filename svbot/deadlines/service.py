"""Deadline services for the chat side and the CLI: what is due, submitted, snooze, and the shared
rules lookups (reminder policy, monitoring schedule, the planner's cursor).

Functions that take a session do not commit: the caller owns the transaction, so a chat turn can
record the button press, the deadline change and its own state together.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from svbot.deadlines.models import (
    SUBMITTED,
    UPCOMING,
    WAIVED,
    Deadline,
    Grant,
    MonitoringSchedule,
    ReminderPolicy,
    Snooze,
)
from svbot.deadlines.schedules import (
    DEFAULT_SCHEDULE,
    ReminderRules,
    Schedule,
    grant_period,
    next_allowed,
    parse_hhmm,
    reminder_times,
)
from svbot.delivery.models import CANCELLED, CLAIMED, FAILED, PENDING, OutboxMessage
from svbot.models import Identity, Membership, Organisation
from svbot.text import date_values, text

DEFAULT_TIMEZONE = "Europe/London"
# A reminder whose time passed more than this long ago when its deadline was created is not sent:
# importing last year's grants must not send a burst of stale reminders.
CATCH_UP = timedelta(days=1)
DUE_SOON_DAYS = 14


@dataclass(frozen=True, slots=True)
class DueItem:
    """One deadline as people see it."""

    deadline_id: int
    organisation_id: int
    grant_id: int
    grant_title: str
    title: str  # what is due
    due_date: date
    status: str  # upcoming | submitted | waived (stored)

    def display_status(self, today: date) -> str:
        return display_status(self.status, self.due_date, today)


def display_status(status: str, due_date: date, today: date) -> str:
    """upcoming / due / overdue / submitted / waived, seen from `today`."""
    if status != UPCOMING:
        return status
    if due_date < today:
        return "overdue"
    if due_date <= today + timedelta(days=DUE_SOON_DAYS):
        return "due"
    return "upcoming"


# ---------------------------------------------------------------- for the chat


# Ids beyond a 32-bit integer cannot exist, and PostgreSQL refuses to compare them with an id column.
_LARGEST_ID = 2**31 - 1


def read_press(payload: str | None) -> tuple[str, int, list[str]] | str:
    """A deadline button's payload, "prefix:action:deadline_id[:more]", as (action, deadline id, the
    rest); or, when it is malformed, the piece to log (a forged or broken press)."""
    parts = (payload or "").split(":")
    if len(parts) < 3 or not parts[2].isdigit() or int(parts[2]) > _LARGEST_ID:
        return (parts[2] if len(parts) > 2 else "")[:20]
    return parts[1], int(parts[2]), parts[3:]


async def open_items_for_person(session: AsyncSession, person_id: int, today: date) -> list[DueItem]:
    """Open deadlines of every member organisation a person belongs to, oldest first (overdue ones lead)."""
    organisation_ids = (
        await session.scalars(
            select(Membership.organisation_id)
            .join(Organisation, Organisation.id == Membership.organisation_id)
            .where(Membership.person_id == person_id, Organisation.kind == "member")
        )
    ).all()
    items: list[DueItem] = []
    for organisation_id in organisation_ids:
        items.extend(await upcoming_for_org(session, organisation_id, today, limit=None))
    return sorted(items, key=lambda i: (i.due_date, i.deadline_id))


async def upcoming_for_org(session: AsyncSession, org_id: int, today: date, limit: int | None = 10) -> list[DueItem]:
    """The organisation's open deadlines, oldest first: every overdue one (however long ago: a report
    still owed does not go away), then the next ones. `limit` None: all of them."""
    query = (
        _item_query()
        .where(Deadline.organisation_id == org_id, Deadline.status == UPCOMING)
        .order_by(Deadline.due_date, Deadline.id)
    )
    if limit is not None:
        query = query.limit(limit)
    return [_item(row) for row in (await session.execute(query)).all()]


async def deadlines_for_org(session: AsyncSession, org_id: int | None = None) -> list[DueItem]:
    """Every deadline (any status) of one organisation, or of all, in due-date order."""
    query = _item_query().order_by(Deadline.due_date, Deadline.id)
    if org_id is not None:
        query = query.where(Deadline.organisation_id == org_id)
    return [_item(row) for row in (await session.execute(query)).all()]


@dataclass(frozen=True, slots=True)
class ListedDeadline:
    """A deadline as the support organisation's admin sees it: whose it is, and whether the grant's
    end date (and so its last report) is svbot's assumption."""

    item: DueItem
    organisation_name: str
    assumed_end: date | None  # the grant had no end date or duration: svbot assumed this end
    extended_from: date | None = None  # the due date before the funder agreed a later one


async def deadlines_for_admin(session: AsyncSession, org_id: int | None = None) -> list[ListedDeadline]:
    """Every deadline (any status) of one organisation, or of all, in due-date order, with names."""
    query = (
        _item_query()
        .add_columns(
            Organisation.name,
            Grant.award_date,
            Grant.planned_start,
            Grant.planned_end,
            Grant.duration_months,
            Deadline.extended_from,
        )
        .join(Organisation, Organisation.id == Deadline.organisation_id)
        .order_by(Deadline.due_date, Deadline.id)
    )
    if org_id is not None:
        query = query.where(Deadline.organisation_id == org_id)
    listed = []
    for row in (await session.execute(query)).all():
        name, award, start, end, months, extended_from = row[7:]
        period = grant_period(award, start, end, months)
        assumed = period.end if period is not None and period.assumed_end else None
        listed.append(ListedDeadline(_item(row[:7]), name or "", assumed, extended_from))
    return listed


async def get_item(session: AsyncSession, deadline_id: int) -> DueItem | None:
    row = (await session.execute(_item_query().where(Deadline.id == deadline_id))).first()
    return _item(row) if row else None


async def mark_submitted(session: AsyncSession, deadline_id: int, by_identity_id: int, now: datetime) -> DueItem | None:
    """Record that the report went in. Stops every reminder for it, to everyone.

    Returns None when there is no such deadline or the identity is not a member of its organisation
    (ids from buttons are untrusted). Pressing Submitted twice keeps the first record.
    """
    return await _close(session, deadline_id, by_identity_id, now, SUBMITTED)


async def waive(session: AsyncSession, deadline_id: int, by_identity_id: int, now: datetime) -> DueItem | None:
    """The funder no longer needs this report. Same rules as `mark_submitted`."""
    return await _close(session, deadline_id, by_identity_id, now, WAIVED)


async def waive_by_operator(session: AsyncSession, deadline_id: int, now: datetime) -> DueItem | None:
    """The funder no longer needs this report, said by whoever runs svbot (`svbot deadlines waive`)."""
    return await _close(session, deadline_id, None, now, WAIVED)


async def extend(
    session: AsyncSession, deadline_id: int, due: date, now: datetime, default_timezone: str = DEFAULT_TIMEZONE
) -> Deadline | None:
    """The funder agreed a later date (`svbot deadlines extend`): move the deadline, keep the date it
    had first (`extended_from`), and plan its reminders again from the new date (reminders queued
    for the old one are cancelled). A re-import leaves it as it is. None unless it is upcoming."""
    deadline = await session.get(Deadline, deadline_id)
    if deadline is None or deadline.status != UPCOMING:
        return None
    if due != deadline.due_date:
        if deadline.extended_from is None:
            deadline.extended_from = deadline.due_date
        deadline.due_date = due
        deadline.status_at = now
        deadline.updated_at = now
        await session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.ref == deadline_ref(deadline_id), OutboxMessage.status == PENDING)
            .values(status=CANCELLED, error="given another date")
        )
        grant = await session.get(Grant, deadline.grant_id)
        set_cursor(deadline, await rules_for(session, grant.support_org_id if grant else None, default_timezone), now)
    await session.flush()
    return deadline


async def _close(
    session: AsyncSession, deadline_id: int, by_identity_id: int | None, now: datetime, status: str
) -> DueItem | None:
    """Close a deadline as `status`, for a member of its organisation (None: the operator, from the CLI)."""
    if by_identity_id is None:
        deadline = await session.get(Deadline, deadline_id)
    else:
        deadline = await _deadline_for_member(session, deadline_id, by_identity_id)
    if deadline is None:
        return None
    if deadline.status == UPCOMING:
        deadline.status = status
        deadline.status_by_identity_id = by_identity_id
        deadline.status_at = now
        deadline.next_reminder_at = None
        deadline.updated_at = now
        await _stop_follow_ups(session, deadline.id)
    await session.flush()
    return await get_item(session, deadline.id)


async def snooze(
    session: AsyncSession,
    deadline_id: int,
    identity_id: int,
    until: datetime,
    default_timezone: str = DEFAULT_TIMEZONE,
) -> DueItem | None:
    """Hold this person's reminders for the deadline until `until`, then remind them once.

    Others in the organisation keep their reminders. A time in quiet hours moves to the morning.
    Returns None for an unknown deadline, a non-member, or a deadline no longer upcoming.
    """
    deadline = await _deadline_for_member(session, deadline_id, identity_id)
    if deadline is None or deadline.status != UPCOMING:
        return None
    grant = await session.get(Grant, deadline.grant_id)
    rules = await rules_for(session, grant.support_org_id if grant else None, default_timezone)
    remind_at = next_allowed(until, rules)
    existing = await session.scalar(
        select(Snooze).where(Snooze.deadline_id == deadline_id, Snooze.identity_id == identity_id)
    )
    if existing is None:
        session.add(Snooze(deadline_id=deadline_id, identity_id=identity_id, until=remind_at, remind_at=remind_at))
    else:
        existing.until = remind_at
        existing.remind_at = remind_at
    # A reminder already queued for them but not yet sent would arrive straight after "snooze".
    await session.execute(
        update(OutboxMessage)
        .where(
            OutboxMessage.ref == deadline_ref(deadline_id),
            OutboxMessage.identity_id == identity_id,
            OutboxMessage.status == PENDING,
        )
        .values(status=CANCELLED, error="snoozed")
    )
    await session.flush()
    return await get_item(session, deadline_id)


def format_due_list(deadlines: Sequence[DueItem], today: date) -> str:
    """Plain text for chat: one line per deadline, e.g.
    "Quarterly monitoring report for Youth Club — due Fri 31 Jan 2027 (in 3 days)"."""
    if not deadlines:
        return text("deadlines.due_list.nothing")
    lines = []
    for item in deadlines:
        said = {"report": item.title, "grant": item.grant_title, "due": format_day(item.due_date)}
        status = item.display_status(today)
        if status == SUBMITTED:
            lines.append(text("deadlines.due_list.submitted", **said))
        elif status == WAIVED:
            lines.append(text("deadlines.due_list.waived", **said))
        elif status == "overdue":
            lines.append(text("deadlines.due_list.overdue", **said, relative=relative_day(item.due_date, today)))
        else:
            lines.append(text("deadlines.due_list.upcoming", **said, relative=relative_day(item.due_date, today)))
    return "\n".join(lines)


def format_day(day: date) -> str:
    """A day as people read it: "Fri 31 Jan 2027"."""
    return text("dates.day", **date_values(day))


def relative_day(day: date, today: date) -> str:
    """A day seen from `today`: "today", "tomorrow", "in 3 days", "2 days ago"."""
    delta = (day - today).days
    if delta == 0:
        return text("dates.today")
    if delta == 1:
        return text("dates.tomorrow")
    if delta == -1:
        return text("dates.yesterday")
    return text("dates.in_days", count=delta) if delta > 0 else text("dates.days_ago", count=-delta)


def deadline_ref(deadline_id: int) -> str:
    """The outbox `ref` of a deadline's reminders, used to cancel them."""
    return f"deadline:{deadline_id}"


@dataclass(frozen=True, slots=True)
class DeliveryFailure:
    when: datetime
    platform: str
    chat_id: str
    identity_id: int | None
    organisation_id: int | None
    ref: str | None
    error: str


async def delivery_failures(
    session: AsyncSession, support_org_id: int | None = None, limit: int = 200
) -> list[DeliveryFailure]:
    """Messages that could not be delivered, newest first, for the support organisation to follow up."""
    query = (
        select(OutboxMessage, Membership.organisation_id)
        .outerjoin(Identity, Identity.id == OutboxMessage.identity_id)
        .outerjoin(Membership, Membership.person_id == Identity.person_id)
        .where(OutboxMessage.status == FAILED)
        .order_by(OutboxMessage.id.desc())
        .limit(limit)
    )
    if support_org_id is not None:
        query = query.join(Organisation, Organisation.id == Membership.organisation_id).where(
            (Organisation.support_org_id == support_org_id) | (Organisation.id == support_org_id)
        )
    seen: set[int] = set()
    failures = []
    for row, org_id in (await session.execute(query)).all():
        if row.id in seen:
            continue  # one line per message even if the person is in several organisations
        seen.add(row.id)
        failures.append(
            DeliveryFailure(
                row.claimed_at or row.created_at,
                row.platform,
                row.chat_id,
                row.identity_id,
                org_id,
                row.ref,
                row.error or "",
            )
        )
    return failures


async def waiting_messages(session: AsyncSession, now: datetime, support_org_id: int | None = None) -> dict[str, int]:
    """Messages whose time has come but which are still in the outbox, by platform. Console rows
    cannot be sent at all (nobody is at the terminal later): they wait until the person next opens
    `svbot chat`. Others wait for a process with that platform's sender (`svbot clock`)."""
    query = (
        select(OutboxMessage.platform, func.count(func.distinct(OutboxMessage.id)))
        .outerjoin(Identity, Identity.id == OutboxMessage.identity_id)
        .outerjoin(Membership, Membership.person_id == Identity.person_id)
        .where(OutboxMessage.status.in_((PENDING, CLAIMED)), OutboxMessage.next_attempt_at <= now)
        .group_by(OutboxMessage.platform)
    )
    if support_org_id is not None:
        query = query.join(Organisation, Organisation.id == Membership.organisation_id).where(
            (Organisation.support_org_id == support_org_id) | (Organisation.id == support_org_id)
        )
    return {platform: count for platform, count in (await session.execute(query)).all()}


# ---------------------------------------------------------------- rules lookups


async def rules_for(
    session: AsyncSession, support_org_id: int | None, default_timezone: str = DEFAULT_TIMEZONE
) -> ReminderRules:
    """The support organisation's reminder policy, else the default policy row, else built-in defaults."""
    policies = await session.scalars(
        select(ReminderPolicy).where(
            (ReminderPolicy.support_org_id == support_org_id) | ReminderPolicy.support_org_id.is_(None)
        )
    )
    chosen = sorted(policies, key=lambda p: p.support_org_id is None)
    if not chosen:
        return ReminderRules(timezone=default_timezone)
    return rules_from_policy(chosen[0], default_timezone)


def rules_from_policy(policy: ReminderPolicy, default_timezone: str = DEFAULT_TIMEZONE) -> ReminderRules:
    return ReminderRules(
        offsets=tuple(int(o) for o in policy.offsets),
        send_time=parse_hhmm(policy.send_time),
        quiet_start=parse_hhmm(policy.quiet_start),
        quiet_end=parse_hhmm(policy.quiet_end),
        weekends=bool(policy.weekends),
        timezone=policy.timezone or default_timezone,
    )


class RulesCache:
    """Reminder rules per support organisation, read once per pass."""

    def __init__(self, session: AsyncSession, default_timezone: str) -> None:
        self._session = session
        self._default_timezone = default_timezone
        self._rules: dict[int | None, ReminderRules] = {}

    async def get(self, support_org_id: int | None) -> ReminderRules:
        if support_org_id not in self._rules:
            self._rules[support_org_id] = await rules_for(self._session, support_org_id, self._default_timezone)
        return self._rules[support_org_id]


@dataclass(frozen=True, slots=True)
class ScheduleBook:
    """The schedules a support organisation set, by programme, with its default."""

    by_programme: dict[str, Schedule]
    default: Schedule

    def lookup(self, programme: str) -> Schedule:
        return self.by_programme.get(programme.strip().lower(), self.default)


async def load_schedules(
    session: AsyncSession, support_org_id: int | None, fallback: Schedule | None = None
) -> ScheduleBook:
    """Schedules of `support_org_id` by programme, with its default (else the global one, else `fallback`)."""
    rows = (
        await session.scalars(
            select(MonitoringSchedule).where(
                (MonitoringSchedule.support_org_id == support_org_id) | MonitoringSchedule.support_org_id.is_(None)
            )
        )
    ).all()
    own = [r for r in rows if r.support_org_id == support_org_id and support_org_id is not None]
    shared = [r for r in rows if r.support_org_id is None]
    by_programme = {r.programme.strip().lower(): schedule_from_row(r) for r in shared + own if r.programme}
    default_row = next((r for r in own + shared if not r.programme), None)
    default = fallback or (schedule_from_row(default_row) if default_row else DEFAULT_SCHEDULE)
    return ScheduleBook(by_programme, default)


def schedule_from_row(row: MonitoringSchedule) -> Schedule:
    return Schedule(
        frequency=row.frequency,
        days_after=row.days_after,
        months_after_start=row.months_after_start,
        dates=tuple(date.fromisoformat(d) for d in row.dates or ()),
    )


def set_cursor(deadline: Deadline, rules: ReminderRules, now: datetime) -> None:
    """Point the planner at the deadline's first reminder still worth sending."""
    if deadline.status != UPCOMING:
        deadline.next_reminder_at = None
        return
    offsets = rules.ordered_offsets
    last_useful = deadline.due_date - timedelta(days=min(offsets, default=0) - 2)
    if last_useful < (now - CATCH_UP).date():
        # Long past (history in an import): no reminder left, without working out each time.
        deadline.next_offset_index = len(offsets)
        deadline.next_reminder_at = None
        return
    times = reminder_times(deadline.due_date, rules)
    index = next((i for i, moment in enumerate(times) if moment > now - CATCH_UP), len(times))
    deadline.next_offset_index = index
    deadline.next_reminder_at = times[index] if index < len(times) else None


# ---------------------------------------------------------------- helpers


def _item_query():  # type: ignore[no-untyped-def]
    return select(
        Deadline.id,
        Deadline.organisation_id,
        Deadline.grant_id,
        Grant.title,
        Deadline.title,
        Deadline.due_date,
        Deadline.status,
    ).join(Grant, Grant.id == Deadline.grant_id)


def _item(row: Iterable) -> DueItem:  # type: ignore[type-arg]
    deadline_id, org_id, grant_id, grant_title, title, due, status = row
    return DueItem(deadline_id, org_id, grant_id, grant_title or text("deadlines.your_grant"), title, due, status)


async def _deadline_for_member(session: AsyncSession, deadline_id: int, identity_id: int) -> Deadline | None:
    deadline = await session.get(Deadline, deadline_id)
    if deadline is None:
        return None
    member = await session.scalar(
        select(Membership.id)
        .join(Identity, Identity.person_id == Membership.person_id)
        .where(Identity.id == identity_id, Membership.organisation_id == deadline.organisation_id)
    )
    return deadline if member is not None else None


async def _stop_follow_ups(session: AsyncSession, deadline_id: int) -> None:
    await session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.ref == deadline_ref(deadline_id), OutboxMessage.status == PENDING)
        .values(status=CANCELLED, error="no longer due")
    )
    await session.execute(update(Snooze).where(Snooze.deadline_id == deadline_id).values(remind_at=None))
