"""Broadcasts: a support organisation's message to all, or some, of its members.

A broadcast is drafted (audience and text), previewed, then queued: queueing writes one outbox row
per recipient identity, keyed "broadcast:ID:IDENTITY", in the caller's transaction, and flips the
broadcast from draft to queued with a conditional UPDATE, so a second press of "Send" or a retried
command adds nothing. The dispatcher then delivers the rows at the platforms' limits
(`svbot.support.sending`), and `follow_up` tells the admin who asked how it is going and, at the
end, what was delivered, what failed and why.

Audiences: `all` members, `programme:CODE` (members with a grant in that programme), `overdue`
(members with a monitoring report past its due date) and `org:ID` (one member organisation).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from svbot.deadlines.models import UPCOMING, Deadline, Grant
from svbot.delivery.models import CLAIMED, FAILED, PENDING, SENT, OutboxMessage
from svbot.delivery.outbox import insert_outbox
from svbot.delivery.recipients import Recipient, marked, organisation_locales, reachable_members
from svbot.dialogue.spec import slug
from svbot.messages import Outbound, outbound_to_dict
from svbot.models import Identity, Membership, Organisation, Person, utcnow
from svbot.support.models import DONE, DRAFT, QUEUED, Broadcast
from svbot.text import speaking, text

KIND = "broadcast"
ADMIN_KIND = "broadcast_report"
MAX_CHARS = 3500  # room under Telegram's 4,096 and Slack's 3,000-a-block once the heading is added
PROGRESS_STEPS = (25, 50, 75)
PROGRESS_MIN = 20  # smaller broadcasts only get the final report


class BroadcastError(ValueError):
    """Something the person asking can fix: an unknown audience, a non-member, an empty message."""


@dataclass(frozen=True, slots=True)
class Audience:
    kind: str  # all | overdue | programme | org
    value: str | None = None

    def __str__(self) -> str:
        return self.kind if self.value is None else f"{self.kind}:{self.value}"


@dataclass
class DeliveryReport:
    broadcast_id: int
    total: int = 0
    sent: int = 0
    pending: int = 0  # waiting, being sent, or waiting to retry
    failed: list[tuple[str, str]] = field(default_factory=list)  # (who, reason)

    @property
    def finished(self) -> bool:
        return self.pending == 0

    @property
    def percent(self) -> int:
        return 100 if not self.total else (self.sent + len(self.failed)) * 100 // self.total


def parse_audience(given: str) -> Audience:
    """`all`, `overdue`, `programme:CODE` or `org:ID`."""
    kind, _, value = given.strip().partition(":")
    kind = kind.strip().lower()
    value = value.strip()
    if kind in ("all", "overdue") and not value:
        return Audience(kind)
    if kind == "programme" and value:
        return Audience(kind, slug(value))
    if kind in ("org", "organisation") and value.isdigit():
        return Audience("org", value)
    raise BroadcastError(f"{given!r} is not an audience: use all, overdue, programme:CODE or org:ID")


async def describe(session: AsyncSession, support_org_id: int, audience: Audience) -> str:
    """In words, for previews and reports: "all members", "members in the Youth Fund programme"."""
    if audience.kind == "all":
        return text("support.audience.all")
    if audience.kind == "overdue":
        return text("support.audience.overdue")
    if audience.kind == "programme":
        titles = dict(await programmes(session, support_org_id))
        return text("support.audience.programme", programme=titles.get(audience.value or "", audience.value))
    organisation = await session.get(Organisation, int(audience.value or 0))
    return organisation.name if organisation is not None else text("support.audience.one_organisation")


async def programmes(session: AsyncSession, support_org_id: int) -> list[tuple[str, str]]:
    """(code, title) of the programmes the support organisation's members have grants in."""
    rows = await session.scalars(
        select(Grant.programme)
        .distinct()
        .join(Organisation, Organisation.id == Grant.organisation_id)
        .where(
            or_(Grant.support_org_id == support_org_id, Organisation.support_org_id == support_org_id),
            Grant.programme != "",
        )
    )
    found = {slug(title): title for title in rows.all()}
    return sorted(found.items(), key=lambda item: item[1].lower())


async def audience_orgs(session: AsyncSession, support_org_id: int, audience: Audience, today: date) -> list[int]:
    """The member organisations in the audience. Raises BroadcastError for an organisation that is
    not one of this support organisation's members (a forged or mistyped id)."""
    members = select(Organisation.id).where(Organisation.support_org_id == support_org_id)
    if audience.kind == "all":
        return list((await session.scalars(members.order_by(Organisation.id))).all())
    if audience.kind == "org":
        org_id = int(audience.value or 0)
        if org_id not in set((await session.scalars(members.where(Organisation.id == org_id))).all()):
            raise BroadcastError(f"organisation {org_id} is not one of your members")
        return [org_id]
    if audience.kind == "overdue":
        query = (
            select(Deadline.organisation_id)
            .distinct()
            .where(Deadline.organisation_id.in_(members), Deadline.status == UPCOMING, Deadline.due_date < today)
        )
        return sorted((await session.scalars(query)).all())
    if audience.kind == "programme":
        titles = [t for code, t in await programmes(session, support_org_id) if code == audience.value]
        if not titles:
            raise BroadcastError(f"none of your members has a grant in a programme called {audience.value!r}")
        query = (
            select(Grant.organisation_id)
            .distinct()
            .where(Grant.organisation_id.in_(members), Grant.programme.in_(titles))
        )
        return sorted((await session.scalars(query)).all())
    raise BroadcastError(f"unknown audience {audience}")


async def recipients(session: AsyncSession, support_org_id: int, audience: Audience, today: date) -> list[Recipient]:
    """One per chat identity we can reach (active, with a chat), each once even if in several orgs."""
    org_ids = await audience_orgs(session, support_org_id, audience, today)
    if not org_ids:
        return []
    found: dict[int, Recipient] = {}
    for recipient in await reachable_members(session, org_ids):
        found.setdefault(recipient.identity_id, recipient)  # once, even if in several organisations
    return list(found.values())


async def draft(
    session: AsyncSession,
    support_org_id: int,
    audience: Audience,
    message: str = "",
    *,
    by_identity_id: int | None = None,
    now: datetime | None = None,
) -> Broadcast:
    """A broadcast not yet sent. The caller has checked the person is a support admin."""
    row = Broadcast(
        support_org_id=support_org_id,
        audience=str(audience),
        message=message,
        status=DRAFT,
        created_by_identity_id=by_identity_id,
        created_at=now or utcnow(),
    )
    session.add(row)
    await session.flush()
    return row


def check_message(message: str) -> str:
    """The message as it will be sent; BroadcastError (in words for the admin) if it is empty or too long."""
    message = (message or "").strip()
    if not message:
        raise BroadcastError(text("support.broadcast.empty"))
    if len(message) > MAX_CHARS:
        raise BroadcastError(text("support.broadcast.too_long", length=len(message), limit=MAX_CHARS))
    return message


async def queue(session: AsyncSession, broadcast: Broadcast, now: datetime, today: date) -> int:
    """Write the outbox rows and mark it queued, in the caller's transaction. Returns the number of
    recipients, or -1 if it was not a draft any more (already sent or cancelled)."""
    message = check_message(broadcast.message)
    claimed = await session.execute(
        update(Broadcast)
        .where(Broadcast.id == broadcast.id, Broadcast.status == DRAFT)
        .values(status=QUEUED, queued_at=now)
        .execution_options(synchronize_session=False)
    )
    if claimed.rowcount != 1:
        return -1
    people = await recipients(session, broadcast.support_org_id, parse_audience(broadcast.audience), today)
    support = await session.get(Organisation, broadcast.support_org_id)
    # svbot's words around the admin's message in each member organisation's language (theirs as written).
    locales = await organisation_locales(session, {person.organisation_id for person in people})
    payloads: dict[str | None, dict] = {}

    def payload(locale: str | None) -> dict:
        if locale not in payloads:
            with speaking(locale):
                sender = support.name if support else text("support.broadcast.your_support_organisation")
                payloads[locale] = outbound_to_dict(marked(broadcast_message(sender, message), locale))
        return payloads[locale]

    rows = [
        {
            "dedupe_key": f"broadcast:{broadcast.id}:{person.identity_id}",
            "kind": KIND,
            "ref": ref(broadcast.id),
            "platform": person.platform,
            "chat_id": person.chat_id,
            "identity_id": person.identity_id,
            "payload": payload(locales.get(person.organisation_id)),
            "status": PENDING,
            "attempts": 0,
            "next_attempt_at": now,
            "created_at": now,
        }
        for person in people
    ]
    await insert_outbox(session, rows)
    await session.execute(
        update(Broadcast)
        .where(Broadcast.id == broadcast.id)
        .values(recipients=len(rows), status=QUEUED if rows else DONE, finished_at=None if rows else now)
        .execution_options(synchronize_session=False)
    )
    await session.refresh(broadcast)
    return len(rows)


def broadcast_message(support_name: str, message: str) -> Outbound:
    """The broadcast as members get it: who it is from, then the admin's words (a value, never a template)."""
    said = text("support.broadcast.message", support=support_name, message=message)
    return Outbound(text=said, kind="info", meta={"kind": KIND})


def ref(broadcast_id: int) -> str:
    return f"broadcast:{broadcast_id}"


async def delivery_report(session: AsyncSession, broadcast_id: int) -> DeliveryReport:
    report = DeliveryReport(broadcast_id)
    counts = await session.execute(
        select(OutboxMessage.status, func.count())
        .where(OutboxMessage.ref == ref(broadcast_id), OutboxMessage.kind == KIND)
        .group_by(OutboxMessage.status)
    )
    for status, count in counts.all():
        report.total += count
        if status == SENT:
            report.sent += count
        elif status in (PENDING, CLAIMED):
            report.pending += count
    failed = await session.execute(
        select(
            OutboxMessage.platform, OutboxMessage.chat_id, OutboxMessage.error, Identity.person_id, Person.display_name
        )
        .outerjoin(Identity, Identity.id == OutboxMessage.identity_id)
        .outerjoin(Person, Person.id == Identity.person_id)
        .where(OutboxMessage.ref == ref(broadcast_id), OutboxMessage.kind == KIND, OutboxMessage.status == FAILED)
        .order_by(OutboxMessage.id)
    )
    rows = failed.all()
    orgs = await _organisation_names(session, {row.person_id for row in rows if row.person_id is not None})
    for platform, chat_id, error, person_id, name in rows:
        who = ", ".join(part for part in (name, orgs.get(person_id)) if part) or chat_id
        report.failed.append((text("support.broadcast_report.who", who=who, platform=platform), _reason(error)))
    # Cancelled rows (none today) count in total only: they are neither delivered nor waiting.
    return report


async def _organisation_names(session: AsyncSession, person_ids: set[int]) -> dict[int, str]:
    """One organisation name per person (the first by name), to say who a failure was."""
    if not person_ids:
        return {}
    rows = await session.execute(
        select(Membership.person_id, Organisation.name)
        .join(Organisation, Organisation.id == Membership.organisation_id)
        .where(Membership.person_id.in_(person_ids), Organisation.kind == "member")
        .order_by(Organisation.name)
    )
    names: dict[int, str] = {}
    for person_id, name in rows.all():
        names.setdefault(person_id, name)
    return names


def format_report(report: DeliveryReport, what: str, *, final: bool, limit: int = 10) -> str:
    """The admin's progress or final message, plain text."""
    failed = len(report.failed)
    counts = {"audience": what, "sent": report.sent, "failed": failed, "pending": report.pending}
    if final:
        said = text("support.broadcast_report.finished", **counts, total=report.total)
    else:
        said = text("support.broadcast_report.progress", **counts, percent=report.percent)
    if report.pending and final:
        said += " " + text("support.broadcast_report.still_pending", pending=report.pending)
    if report.failed:
        reasons = Counter(reason for _, reason in report.failed)
        counted = "; ".join(
            text("support.broadcast_report.reason_count", reason=reason, count=n) for reason, n in reasons.most_common()
        )
        said += "\n" + text("support.broadcast_report.why_failed", reasons=counted)
        if final:
            lines = [text("support.broadcast_report.failed_line", who=who, reason=reason)
                     for who, reason in report.failed[:limit]]  # fmt: skip
            if failed > limit:
                lines.append(text("support.broadcast_report.more", count=failed - limit, broadcast=report.broadcast_id))
            said += "\n" + "\n".join(lines)
    return said


async def follow_up(sessionmaker: async_sessionmaker[AsyncSession], now: datetime | None = None) -> int:
    """Tell admins how their queued broadcasts are going; close finished ones. Returns messages queued.

    Run after each dispatch pass. Progress at 25/50/75% for larger broadcasts, then one final report.
    Each is an outbox row under a unique key, so running this twice (or in two processes) is harmless.
    """
    now = now or utcnow()
    queued = 0
    async with sessionmaker() as session, session.begin():
        open_ = (await session.scalars(select(Broadcast).where(Broadcast.status == QUEUED))).all()
        for broadcast in open_:
            # The admin hears it in their support organisation's language.
            support = await session.get(Organisation, broadcast.support_org_id)
            with speaking(support.locale if support else None):
                queued += await _follow_up_one(session, broadcast, now)
    return queued


async def _follow_up_one(session: AsyncSession, broadcast: Broadcast, now: datetime) -> int:
    report = await delivery_report(session, broadcast.id)
    what = await describe(session, broadcast.support_org_id, parse_audience(broadcast.audience))
    if report.finished:
        broadcast.status, broadcast.finished_at = DONE, now
        said, key = format_report(report, what, final=True), f"broadcast:{broadcast.id}:report"
    else:
        step = max((s for s in PROGRESS_STEPS if report.percent >= s), default=0)
        if report.total < PROGRESS_MIN or step <= broadcast.progress_reported:
            return 0
        broadcast.progress_reported = step
        said, key = format_report(report, what, final=False), f"broadcast:{broadcast.id}:progress:{step}"
    return await _tell_admin(session, broadcast, said, key, now)


async def _tell_admin(session: AsyncSession, broadcast: Broadcast, said: str, key: str, now: datetime) -> int:
    if broadcast.created_by_identity_id is None:
        return 0  # queued from the command line: `svbot broadcasts status` shows it
    identity = await session.get(Identity, broadcast.created_by_identity_id)
    if identity is None or not identity.active or not identity.chat_id:
        return 0
    row = {
        "dedupe_key": key,
        "kind": ADMIN_KIND,
        "ref": f"broadcast-admin:{broadcast.id}",
        "platform": identity.platform,
        "chat_id": identity.chat_id,
        "identity_id": identity.id,
        "payload": outbound_to_dict(Outbound(text=said, kind="info")),
        "status": PENDING,
        "attempts": 0,
        "next_attempt_at": now,
        "created_at": now,
    }
    return await insert_outbox(session, [row])


def _reason(error: str | None) -> str:
    """Failure reasons as an admin can act on them."""
    said = (error or text("support.broadcast_report.reason.unknown")).strip()
    lowered = said.lower()
    if lowered.startswith("blocked"):
        return text("support.broadcast_report.reason.blocked")
    if "channel_not_found" in lowered or "chat not found" in lowered:
        return text("support.broadcast_report.reason.chat_gone")
    if lowered.startswith("gave up"):
        return text("support.broadcast_report.reason.gave_up")
    return said[:120]
