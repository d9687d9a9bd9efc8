"""Limits on join-code guessing, and a word to the organisation's support admins when its codes keep failing.

Every attempt bumps four counters in `attempt_counts`: the person's and the chat's, for this minute
and for this hour. Over `PER_MINUTE` or `PER_HOUR` and the code is not even looked at: the person is
asked to wait until the full window ends. The counters live in the database (one upsert each, in
the turn's transaction) so the limit holds across web workers and restarts. 10 a minute and 30 an
hour leave a person who mistypes plenty of room and a guesser about 720 tries a day against
codes of about 50 bits.

Which failures are told to an organisation. A random guess belongs to no organisation: it is only
counted and logged. A failing code *belongs* to an organisation when it is one of its dead codes
(expired, revoked or used up: someone holds an old code, perhaps a leaked one) or a near miss of one
of its live codes (one character wrong or two swapped: almost always a genuine person mistyping,
since a random guess lands that close to a given code about once in 10^12 tries). When such
failures reach `TELL_AFTER` within an hour, the support admins of that organisation (its own
admins, if it has no support organisation) get one message, queued as an outbox row keyed by
organisation, admin and day: told at most once a day, and never twice for the same day.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from svbot.db import insert_for
from svbot.delivery.models import PENDING
from svbot.delivery.outbox import insert_outbox
from svbot.messages import Outbound, outbound_to_dict
from svbot.models import Identity, Membership, Organisation
from svbot.support.invites import ALPHABET, code_hash, looks_like_code, normalise
from svbot.support.models import ORG_ADMIN, SUPPORT_ADMIN, AttemptCount, Invite
from svbot.text import text

log = logging.getLogger(__name__)

PER_MINUTE = 10
PER_HOUR = 30
TELL_AFTER = 3  # failing codes of one organisation in an hour before its admins hear of it
KEEP = timedelta(days=2)  # counters older than this are deleted as new ones are written
MINUTE, HOUR = timedelta(minutes=1), timedelta(hours=1)
KIND = "join_failures"


@dataclass(frozen=True, slots=True)
class Limited:
    until: datetime  # UTC: when the person may try again


async def check(session: AsyncSession, person_id: int, platform: str, chat_id: str, now: datetime) -> Limited | None:
    """Count this attempt for the person and the chat; a `Limited` when either is over its limit."""
    now = now.astimezone(UTC)
    over: list[datetime] = []
    first = False  # the attempt that starts a pause is logged; the ones after it are only counted
    for subject in (f"person:{person_id}", f"chat:{platform}:{chat_id}"[:200]):
        for size, limit in ((MINUTE, PER_MINUTE), (HOUR, PER_HOUR)):
            window = _floor(now, size)
            # The window's length is part of the subject: at 10:00 a minute and an hour start together.
            count = await _bump(session, f"{subject}:{int(size.total_seconds())}", window)
            if count > limit:
                over.append(window + size)
                first = first or count == limit + 1
    if not over:
        return None
    until = max(over)
    if first:
        log.warning("join attempts over the limit: paused", extra={"person_id": person_id, "platform": platform,
                                                                  "until": until.isoformat()})  # fmt: skip
    return Limited(until)


async def failed(session: AsyncSession, code: str, person_id: int, now: datetime) -> None:
    """A code that did not work: log it (never the code), and count it against the organisation it
    belongs to, if any; at `TELL_AFTER` in an hour, queue a word to that organisation's admins."""
    now = now.astimezone(UTC)
    org_id, why = await owner_of_failing_code(session, code, now)
    log.info("join code refused", extra={"person_id": person_id, "reason": why, "organisation_id": org_id})
    if org_id is None:
        return
    if await _bump(session, f"org:{org_id}:3600", _floor(now, HOUR)) == TELL_AFTER:
        await _tell_admins(session, org_id, now)


async def owner_of_failing_code(session: AsyncSession, code: str, now: datetime) -> tuple[int | None, str]:
    """The organisation a refused code belongs to, and why: ("dead": one of its expired, revoked or
    used-up codes; "near miss": one slip from a live code of it; "unknown": nobody's)."""
    dead = await session.scalar(select(Invite.organisation_id).where(Invite.code_hash == code_hash(code)))
    if dead is not None:
        return dead, "dead"
    if not looks_like_code(code):
        return None, "unknown"
    near = await session.scalar(
        select(Invite.organisation_id)
        .where(Invite.code_hash.in_([code_hash(v) for v in near_misses(code)]))
        .where(Invite.expires_at > now, Invite.uses < Invite.max_uses)
        .limit(1)
    )
    return (near, "near miss") if near is not None else (None, "unknown")


def near_misses(code: str) -> set[str]:
    """Every code one slip away: one character changed (300) or two neighbours swapped (9). Only
    hashes are stored, so a near miss is found by hashing these and looking them up."""
    typed = normalise(code)
    found = {typed[:i] + c + typed[i + 1 :] for i in range(len(typed)) for c in ALPHABET if c != typed[i]}
    found |= {typed[:i] + typed[i + 1] + typed[i] + typed[i + 2 :] for i in range(len(typed) - 1)}
    found.discard(typed)
    return found


async def _tell_admins(session: AsyncSession, org_id: int, now: datetime) -> None:
    organisation = await session.get(Organisation, org_id)
    if organisation is None:
        return
    # The support organisation's admins watch over their members' codes; an organisation without
    # one (or a support organisation itself) looks after its own.
    watcher = organisation.support_org_id or organisation.id
    reach = (
        await session.execute(
            select(Identity.id, Identity.platform, Identity.chat_id)
            .join(Membership, Membership.person_id == Identity.person_id)
            .where(Membership.organisation_id == watcher, Membership.role.in_((SUPPORT_ADMIN, ORG_ADMIN)))
            .where(Identity.active.is_(True), Identity.chat_id.is_not(None))
            .distinct()
        )
    ).all()
    said = Outbound(text=text("support.join.failing_notice", organisation=organisation.name, count=TELL_AFTER),
                    kind="info", meta={"kind": KIND})  # fmt: skip
    day = now.date().isoformat()
    await insert_outbox(session, [{
        "dedupe_key": f"{KIND}:{org_id}:{identity_id}:{day}", "kind": KIND, "ref": f"organisation:{org_id}",
        "platform": platform, "chat_id": chat_id, "identity_id": identity_id,
        "payload": outbound_to_dict(said), "status": PENDING, "attempts": 0, "next_attempt_at": now, "created_at": now,
    } for identity_id, platform, chat_id in reach])  # fmt: skip
    log.warning("join codes keep failing: admins told", extra={"organisation_id": org_id, "admins": len(reach)})


async def _bump(session: AsyncSession, subject: str, window: datetime) -> int:
    """Add one to the subject's count for this window and return the new count: one atomic upsert,
    so two workers counting at once cannot both read the old value."""
    insert = insert_for(session.get_bind().dialect)
    table = AttemptCount.__table__
    statement = (
        insert(table)
        .values(subject=subject, window_start=window, count=1)
        .on_conflict_do_update(index_elements=["subject", "window_start"], set_={"count": table.c.count + 1})
        .returning(table.c.count)
    )
    count = int((await session.execute(statement)).scalar_one())
    if count == 1:  # a new window for this subject: its old ones (an hour is the longest) are no use now
        await session.execute(
            delete(AttemptCount).where(
                AttemptCount.subject == subject,
                AttemptCount.window_start < window - HOUR,
            )
        )
        # and anyone's from days ago (a subject that never came back): one range on the index
        await session.execute(delete(AttemptCount).where(AttemptCount.window_start < window - KEEP))
    return count


def _floor(moment: datetime, size: timedelta) -> datetime:
    epoch = datetime(2000, 1, 1, tzinfo=UTC)
    return moment - (moment - epoch) % size
