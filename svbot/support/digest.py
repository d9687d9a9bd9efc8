"""The weekly digest: each support admin hears, once a week, which members' monitoring reports are
overdue.

Planned by the clock like reminders: from Monday 09:00 (local time) each week, one outbox row per
admin under the key "digest:SUPPORT:YEAR-Www:IDENTITY". Running the planner again that week, or in
a second process, finds the key taken and adds nothing. A clock that was down on Monday catches up
when it comes back, once, but only on a weekday between 08:00 and 20:00: nobody wants Monday's
digest on Sunday night.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from svbot.deadlines.models import UPCOMING, Deadline, Grant
from svbot.deadlines.service import format_day, relative_day
from svbot.delivery.models import PENDING, OutboxMessage
from svbot.delivery.outbox import insert_outbox
from svbot.delivery.recipients import marked
from svbot.messages import Button, Outbound, outbound_to_dict
from svbot.models import Identity, Membership, Organisation
from svbot.support.models import SUPPORT_ADMIN
from svbot.text import speaking, text

KIND = "digest"
SEND_WEEKDAY = 0  # Monday
SEND_TIME = time(9, 0)
CATCH_UP_FROM, CATCH_UP_UNTIL = time(8, 0), time(20, 0)
MAX_LINES = 25


@dataclass(frozen=True, slots=True)
class Overdue:
    organisation_id: int
    organisation: str
    title: str
    grant_title: str
    due_date: date


async def plan_digests(
    sessionmaker: async_sessionmaker[AsyncSession], now: datetime, timezone: str = "Europe/London"
) -> int:
    """Queue this week's digests that are due and not yet queued; returns how many were queued."""
    local = now.astimezone(ZoneInfo(timezone))
    monday = local.date() - timedelta(days=(local.weekday() - SEND_WEEKDAY) % 7)
    if local < datetime.combine(monday, SEND_TIME, tzinfo=local.tzinfo):
        return 0
    if local.weekday() >= 5 or not CATCH_UP_FROM <= local.time() < CATCH_UP_UNTIL:
        return 0
    week = week_key(local.date())
    async with sessionmaker() as session, session.begin():
        admins = await _admins(session)
        done = set(
            (
                await session.scalars(
                    select(OutboxMessage.dedupe_key).where(
                        OutboxMessage.kind == KIND, OutboxMessage.dedupe_key.like(f"digest:%:{week}:%")
                    )
                )
            ).all()
        )
        rows = []
        for support_id, (support_name, locale, people) in admins.items():
            waiting = [p for p in people if _key(support_id, week, p[0]) not in done]
            if not waiting:
                continue
            overdue = await overdue_reports(session, support_id, local.date())
            with speaking(locale):  # in the support organisation's language
                message = digest_message(support_name, overdue, local.date(), support_id)
            payload = outbound_to_dict(marked(message, locale))
            rows.extend(
                {
                    "dedupe_key": _key(support_id, week, identity_id),
                    "kind": KIND,
                    "ref": f"digest:{support_id}:{week}",
                    "platform": platform,
                    "chat_id": chat_id,
                    "identity_id": identity_id,
                    "payload": payload,
                    "status": PENDING,
                    "attempts": 0,
                    "next_attempt_at": now,
                    "created_at": now,
                }
                for identity_id, platform, chat_id in waiting
            )
        return await insert_outbox(session, rows)


async def overdue_reports(session: AsyncSession, support_org_id: int, today: date) -> list[Overdue]:
    """Members' reports past their due date and not submitted, oldest first."""
    rows = await session.execute(
        select(Organisation.id, Organisation.name, Deadline.title, Grant.title, Deadline.due_date)
        .join(Deadline, Deadline.organisation_id == Organisation.id)
        .join(Grant, Grant.id == Deadline.grant_id)
        .where(
            Organisation.support_org_id == support_org_id,
            Deadline.status == UPCOMING,
            Deadline.due_date < today,
        )
        .order_by(Deadline.due_date, Organisation.name, Deadline.id)
    )
    return [Overdue(*row) for row in rows.all()]


def digest_message(
    support_name: str, overdue: list[Overdue], today: date, support_org_id: int | None = None
) -> Outbound:
    if not overdue:
        return Outbound(text=text("support.digest.none", support=support_name), kind="info", meta={"kind": KIND})
    orgs = len({o.organisation_id for o in overdue})
    lines = [
        text(
            "support.digest.line",
            organisation=o.organisation,
            report=o.title,
            grant=o.grant_title or text("support.digest.their_grant"),
            due=format_day(o.due_date),
            relative=relative_day(o.due_date, today),
        )
        for o in overdue[:MAX_LINES]
    ]
    if len(overdue) > MAX_LINES:
        lines.append(text("support.digest.more", count=len(overdue) - MAX_LINES))
    said = text(
        "support.digest.overdue",
        support=support_name,
        reports=text("support.digest.reports", count=len(overdue)),
        members=text("support.digest.members", count=orgs),
        lines="\n".join(lines),
    )
    buttons: tuple[Button, ...] = ()
    if support_org_id:
        buttons = (Button(text("support.digest.message_button"), f"bc:to:{support_org_id}:overdue"),)
    return Outbound(text=said, buttons=buttons, kind="info", meta={"kind": KIND})


def week_key(day: date) -> str:
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


def _key(support_id: int, week: str, identity_id: int) -> str:
    return f"digest:{support_id}:{week}:{identity_id}"


async def _admins(session: AsyncSession) -> dict[int, tuple[str, str | None, list[tuple[int, str, str]]]]:
    """Support organisations (name, locale) with the chat identities of their admins that we can reach."""
    rows = await session.execute(
        select(
            Organisation.id, Organisation.name, Organisation.locale, Identity.id, Identity.platform, Identity.chat_id
        )
        .join(Membership, Membership.organisation_id == Organisation.id)
        .join(Identity, Identity.person_id == Membership.person_id)
        .where(
            Organisation.kind == "support",
            Membership.role == SUPPORT_ADMIN,
            Identity.active.is_(True),
            Identity.chat_id.is_not(None),
        )
        .order_by(Organisation.id, Identity.id)
    )
    found: dict[int, tuple[str, str | None, list[tuple[int, str, str]]]] = {}
    for support_id, name, locale, identity_id, platform, chat_id in rows.all():
        found.setdefault(support_id, (name, locale, []))[2].append((identity_id, platform, chat_id))
    return found
