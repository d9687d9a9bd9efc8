"""Turn due reminders into outbox rows.

Each deadline carries a cursor (`next_reminder_at`, `next_offset_index`). One pass reads only the
deadlines whose cursor has passed (an index range scan: the cost follows the number of due
reminders, not of grants), writes one outbox row per recipient under a unique key
(deadline, due date, offset, identity) and moves the cursor on, all in one transaction. A second
planner, at the same time or later, finds the cursor moved or the key taken and adds nothing.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import bindparam, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from svbot.deadlines.models import UPCOMING, Deadline, Grant, Snooze
from svbot.deadlines.schedules import ReminderRules, next_allowed, reminder_times
from svbot.deadlines.service import DEFAULT_TIMEZONE, RulesCache, deadline_ref, format_day, relative_day
from svbot.delivery.models import PENDING
from svbot.delivery.outbox import insert_outbox
from svbot.delivery.recipients import Recipient, marked, organisation_locales, reachable_members
from svbot.messages import Button, Outbound, outbound_to_dict
from svbot.models import utcnow
from svbot.text import speaking, text

BATCH = 2000  # deadlines per pass; the clock runs again straight away if there were more


@dataclass(frozen=True, slots=True)
class PlanResult:
    deadlines: int  # deadlines whose cursor moved
    queued: int  # outbox rows written (existing keys not counted)
    snoozes: int  # snoozed reminders that fell due


async def plan_reminders(
    sessionmaker: async_sessionmaker[AsyncSession],
    now: datetime,
    default_timezone: str = DEFAULT_TIMEZONE,
    limit: int = BATCH,
) -> PlanResult:
    """One planning pass in its own transaction."""
    async with sessionmaker() as session, session.begin():
        return await plan_in_session(session, now, default_timezone, limit)


async def plan_in_session(
    session: AsyncSession, now: datetime, default_timezone: str = DEFAULT_TIMEZONE, limit: int = BATCH
) -> PlanResult:
    """Plan inside the caller's transaction (the caller commits)."""
    # SKIP LOCKED: a second planner on PostgreSQL takes other deadlines instead of waiting.
    # On SQLite, BEGIN IMMEDIATE (svbot.db) already lets one writer in at a time.
    # Plain rows and executemany, not ORM objects: this is the hot path of the clock.
    found = await session.execute(
        select(*_COLUMNS)
        .where(Deadline.next_reminder_at <= now)
        .order_by(Deadline.next_reminder_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    deadlines = [_Due(*row) for row in found]
    snoozes = (
        await session.scalars(
            select(Snooze).where(Snooze.remind_at <= now).limit(limit).with_for_update(skip_locked=True)
        )
    ).all()
    if not deadlines and not snoozes:
        return PlanResult(0, 0, 0)
    by_id = {d.id: d for d in deadlines}
    missing = {s.deadline_id for s in snoozes} - set(by_id)
    if missing:
        extra = await session.execute(select(*_COLUMNS).where(Deadline.id.in_(missing)))
        by_id.update((row[0], _Due(*row)) for row in extra)
    grants = await _grants(session, {d.grant_id for d in by_id.values()})
    recipients = await _recipients(session, {d.organisation_id for d in by_id.values()})
    locales = await organisation_locales(session, recipients)  # each reminder in its organisation's language
    holds = await _active_snoozes(session, [d.id for d in deadlines], now)
    pass_ = _Pass(RulesCache(session, default_timezone), now)
    rows: list[dict[str, Any]] = []
    for deadline in deadlines:
        title, support_org_id = grants[deadline.grant_id]
        rules = await pass_.rules.get(support_org_id)
        offset = pass_.advance(deadline, rules)
        if offset is None or deadline.status != UPCOMING:
            continue
        message = pass_.message(deadline, title, rules, locales.get(deadline.organisation_id))
        for person in recipients.get(deadline.organisation_id, []):
            if person.identity_id in holds.get(deadline.id, ()):
                continue  # they asked to be reminded later; their snooze brings it back
            key = f"reminder:{deadline.id}:{deadline.due_date.isoformat()}:{offset}:{person.identity_id}"
            rows.append(_row(key, deadline.id, person, message, pass_.not_before(rules)))
    if deadlines:
        await session.execute(
            update(Deadline.__table__)
            .where(Deadline.__table__.c.id == bindparam("b_id"))
            .values(next_offset_index=bindparam("b_index"), next_reminder_at=bindparam("b_next")),
            [{"b_id": d.id, "b_index": d.next_offset_index, "b_next": d.next_reminder_at} for d in deadlines],
        )
    reminded = {(row["ref"], row["identity_id"]) for row in rows}
    for held in snoozes:
        deadline = by_id[held.deadline_id]
        held.remind_at = None
        if deadline.status != UPCOMING or (deadline_ref(deadline.id), held.identity_id) in reminded:
            continue  # submitted meanwhile, or a regular reminder goes to them in this very pass
        title, support_org_id = grants[deadline.grant_id]
        rules = await pass_.rules.get(support_org_id)
        message = pass_.message(deadline, title, rules, locales.get(deadline.organisation_id))
        for person in recipients.get(deadline.organisation_id, []):
            if person.identity_id == held.identity_id:
                key = f"snooze:{deadline.id}:{held.id}:{held.until.isoformat()}:{person.identity_id}"
                rows.append(_row(key, deadline.id, person, message, pass_.not_before(rules)))
    queued = await insert_outbox(session, rows)
    return PlanResult(len(deadlines), queued, len(snoozes))


_COLUMNS = (
    Deadline.id,
    Deadline.grant_id,
    Deadline.organisation_id,
    Deadline.title,
    Deadline.due_date,
    Deadline.status,
    Deadline.next_offset_index,
)


@dataclass(slots=True)
class _Due:
    id: int
    grant_id: int
    organisation_id: int
    title: str
    due_date: date
    status: str
    next_offset_index: int
    next_reminder_at: datetime | None = None


class _Pass:
    """What one planning pass works out once and reuses: reminder times per due date, messages."""

    def __init__(self, rules: RulesCache, now: datetime) -> None:
        self.rules = rules
        self.now = now
        self._times: dict[tuple[date, ReminderRules], list[datetime]] = {}
        self._not_before: dict[ReminderRules, datetime] = {}

    def advance(self, deadline: _Due, rules: ReminderRules) -> int | None:
        """Move the cursor past every reminder now due; return the offset of the latest one (older
        missed ones are stale and not sent), or None if none was due."""
        key = (deadline.due_date, rules)
        if key not in self._times:
            self._times[key] = reminder_times(deadline.due_date, rules)
        times = self._times[key]
        index, due_index = deadline.next_offset_index, None
        while index < len(times) and times[index] <= self.now:
            due_index, index = index, index + 1
        deadline.next_offset_index = index
        deadline.next_reminder_at = times[index] if index < len(times) else None
        return None if due_index is None else rules.ordered_offsets[due_index]

    def message(self, deadline: _Due, grant_title: str, rules: ReminderRules, locale: str | None) -> dict[str, Any]:
        today = self.now.astimezone(rules.zone).date()
        with speaking(locale):
            message = reminder_message(deadline.id, deadline.title, grant_title, deadline.due_date, today)
        return outbound_to_dict(marked(message, locale))

    def not_before(self, rules: ReminderRules) -> datetime:
        # Planned in the night after an outage? It waits for the morning.
        if rules not in self._not_before:
            self._not_before[rules] = next_allowed(self.now, rules)
        return self._not_before[rules]


def _row(
    key: str, deadline_id: int, person: Recipient, payload: dict[str, Any], not_before: datetime
) -> dict:
    return {
        "dedupe_key": key,
        "kind": "reminder",
        "ref": deadline_ref(deadline_id),
        "platform": person.platform,
        "chat_id": person.chat_id,
        "identity_id": person.identity_id,
        "payload": payload,
        "status": PENDING,
        "attempts": 0,
        "next_attempt_at": not_before,
        "created_at": utcnow(),
    }


def reminder_message(deadline_id: int, title: str, grant_title: str, due: date, today: date) -> Outbound:
    """The reminder with its three buttons (payloads are part of the chat contract)."""
    what = text("deadlines.reminder.what", report=title, grant=grant_title or text("deadlines.your_grant"))
    when = text("deadlines.reminder.when", due=format_day(due), relative=relative_day(due, today))
    said = text("deadlines.reminder.overdue" if due < today else "deadlines.reminder.due", what=what, when=when)
    buttons = (
        Button(text("deadlines.reminder.submitted_button"), f"dl:submitted:{deadline_id}", style="primary"),
        Button(text("deadlines.reminder.snooze_button"), f"dl:snooze:{deadline_id}:3"),
        Button(text("deadlines.reminder.help_button"), f"dl:help:{deadline_id}"),
    )
    return Outbound(text=said, buttons=buttons, kind="reminder", meta={"deadline_id": str(deadline_id)})


async def _grants(session: AsyncSession, ids: set[int]) -> dict[int, tuple[str, int | None]]:
    rows = await session.execute(select(Grant.id, Grant.title, Grant.support_org_id).where(Grant.id.in_(ids)))
    return {grant_id: (title, support_org_id) for grant_id, title, support_org_id in rows}


async def _recipients(session: AsyncSession, org_ids: set[int]) -> dict[int, list[Recipient]]:
    found: dict[int, list[Recipient]] = defaultdict(list)
    for recipient in await reachable_members(session, org_ids):
        found[recipient.organisation_id].append(recipient)
    return found


async def _active_snoozes(
    session: AsyncSession, deadline_ids: list[int], now: datetime
) -> dict[int, set[int]]:
    held: dict[int, set[int]] = defaultdict(set)
    if deadline_ids:
        rows = await session.execute(
            select(Snooze.deadline_id, Snooze.identity_id).where(
                Snooze.deadline_id.in_(deadline_ids), Snooze.until > now
            )
        )
        for deadline_id, identity_id in rows:
            held[deadline_id].add(identity_id)
    return held
