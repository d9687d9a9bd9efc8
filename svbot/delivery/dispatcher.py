"""Drain the outbox: claim rows, send each through its platform, mark it.

Claim, send and mark are separate transactions. A claim sets `next_attempt_at` to the claim's
expiry, so a row whose dispatcher died after claiming is found again by the same query once the
claim expires (at-least-once: it may reach the platform twice only if the crash came after the
platform accepted it and before the mark). Marks check the claim token, so a dispatcher that lost
its claim cannot overwrite the row's newer state.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from svbot.db import database_away
from svbot.delivery.models import CLAIMED, FAILED, PENDING, SENT, OutboxMessage
from svbot.delivery.ratelimit import RateLimiter
from svbot.messages import PermanentFailure, RetryLater, Sender, outbound_from_dict
from svbot.models import Identity, utcnow

log = logging.getLogger(__name__)

MARK_RETRY_WAITS = (0.5, 1.0, 2.0, 4.0, 8.0, 15.0, 30.0)  # about a minute in all


@dataclass(frozen=True, slots=True)
class Claimed:
    id: int
    token: str
    platform: str
    chat_id: str
    identity_id: int | None
    payload: dict[str, Any]
    attempts: int


@dataclass
class DispatchResult:
    sent: int = 0
    retried: int = 0
    failed: int = 0

    @property
    def claimed(self) -> int:
        return self.sent + self.retried + self.failed


class Dispatcher:
    """Sends outbox rows for the platforms it has senders for; others wait for a process that has."""

    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        senders: Mapping[str, Sender],
        limiter: RateLimiter,
        *,
        claim_timeout: timedelta = timedelta(minutes=5),
        batch_size: int = 100,
        max_attempts: int = 8,
        base_backoff: timedelta = timedelta(seconds=30),
    ) -> None:
        self.sessionmaker = sessionmaker
        self.engine: AsyncEngine = sessionmaker.kw["bind"]
        self.senders = dict(senders)
        self.limiter = limiter
        self.claim_timeout = claim_timeout
        self.batch_size = batch_size
        self.max_attempts = max_attempts
        self.base_backoff = base_backoff

    async def run_once(self, now: datetime | None = None) -> DispatchResult:
        """Claim one batch and send it. `now` is for tests and `reminders run --now`."""
        result = DispatchResult()
        for row in await self.claim(now or utcnow()):
            await self.deliver(row, result, now)
        return result

    async def drain(self, now: datetime | None = None, max_batches: int = 1000) -> DispatchResult:
        """Batches until nothing is ready (or `max_batches`)."""
        total = DispatchResult()
        for _ in range(max_batches):
            result = await self.run_once(now)
            total.sent += result.sent
            total.retried += result.retried
            total.failed += result.failed
            if result.claimed < self.batch_size:
                break
        return total

    async def deliver_waiting(self, platform: str, chat_id: str, now: datetime | None = None) -> DispatchResult:
        """Everything waiting for one chat, now, oldest first: for a platform that can only show
        messages while the person is there (the console, when a chat opens). Quiet hours and a
        planned send time do not hold these back: the person is at the screen."""
        result = DispatchResult()
        moment = now or utcnow()
        while True:
            rows = await self.claim(moment, chat=(platform, chat_id))
            for row in rows:
                await self.deliver(row, result, moment)
            if len(rows) < self.batch_size:
                return result

    async def claim(self, now: datetime, chat: tuple[str, str] | None = None) -> list[Claimed]:
        """A batch of rows ready to send, for the platforms we have senders for; with `chat`
        (platform, chat id), every row still to send to that one chat, whenever it was planned for."""
        if not self.senders:
            return []
        token = uuid.uuid4().hex
        if chat is None:
            ready = [
                OutboxMessage.status.in_((PENDING, CLAIMED)),
                OutboxMessage.next_attempt_at <= now,
                OutboxMessage.platform.in_(list(self.senders)),
            ]
        else:
            ready = [
                (OutboxMessage.status == PENDING)
                | ((OutboxMessage.status == CLAIMED) & (OutboxMessage.next_attempt_at <= now)),
                OutboxMessage.platform == chat[0],
                OutboxMessage.chat_id == chat[1],
            ]
        async with self.sessionmaker() as session, session.begin():
            rows = (
                await session.scalars(
                    select(OutboxMessage)
                    .where(*ready)
                    .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id)
                    .limit(self.batch_size)
                    .with_for_update(skip_locked=True)
                )
            ).all()
            claimed = []
            for row in rows:
                row.status = CLAIMED
                row.claim_token = token
                row.claimed_at = now
                row.next_attempt_at = now + self.claim_timeout  # when the claim expires
                row.attempts += 1
                claimed.append(
                    Claimed(
                        row.id, token, row.platform, row.chat_id, row.identity_id, row.payload, row.attempts
                    )
                )
        return claimed

    async def deliver(self, row: Claimed, result: DispatchResult, now: datetime | None = None) -> None:
        """Send one claimed row and record what happened."""
        sender = self.senders[row.platform]
        await self.limiter.acquire(row.platform, row.chat_id)
        try:
            message_id = await sender.send(row.chat_id, outbound_from_dict(row.payload))
        except RetryLater as exc:
            self.limiter.pause(row.platform, exc.retry_after)
            await self._retry(row, str(exc) or "the platform asked us to wait", exc.retry_after, result, now)
        except PermanentFailure as exc:
            await self._fail(row, str(exc) or "permanent failure", result)
        except Exception as exc:  # a fault in a sender or the network: retry, and log it for developers
            log.warning("sending outbox row %s via %s failed: %r", row.id, row.platform, exc)
            await self._retry(row, f"{type(exc).__name__}: {exc}"[:500], 0.0, result, now)
        else:
            await self._mark(
                row, status=SENT, sent_at=now or utcnow(), platform_message_id=message_id, error=None
            )
            result.sent += 1

    async def _retry(
        self, row: Claimed, reason: str, retry_after: float, result: DispatchResult, now: datetime | None
    ) -> None:
        if row.attempts >= self.max_attempts:
            await self._fail(row, f"gave up after {row.attempts} attempts: {reason}", result)
            return
        backoff = self.base_backoff * (2 ** (row.attempts - 1))
        delay = max(backoff, timedelta(seconds=retry_after))
        await self._mark(row, status=PENDING, next_attempt_at=(now or utcnow()) + delay, error=reason)
        result.retried += 1

    async def _fail(self, row: Claimed, reason: str, result: DispatchResult) -> None:
        await self._mark(row, status=FAILED, error=reason[:1000])
        if reason.strip().lower().startswith("blocked") and row.identity_id is not None:
            # They blocked the bot: stop planning anything more for this identity.
            async with self.sessionmaker() as session, session.begin():
                await session.execute(
                    update(Identity).where(Identity.id == row.identity_id).values(active=False)
                )
        result.failed += 1

    async def _mark(self, row: Claimed, **values: Any) -> None:
        # The message may be on the platform already: if the database is away for a moment (a
        # PostgreSQL restart), keep trying to record that, rather than leave the row to be sent a
        # second time when its claim expires.
        for wait in (*MARK_RETRY_WAITS, None):
            try:
                await self._mark_once(row, **values)
                return
            except (DBAPIError, OSError) as exc:
                if wait is None or not database_away(exc):
                    raise
                log.warning("recording outbox row %s failed (%s); trying again", row.id, type(exc).__name__,
                            extra={"delivery_id": row.id})  # fmt: skip
                await asyncio.sleep(wait)

    async def _mark_once(self, row: Claimed, **values: Any) -> None:
        # One UPDATE in its own short transaction on a plain connection (no ORM session: a third of
        # the time), right after the platform answered: the at-least-once window is this commit.
        async with self.engine.begin() as connection:
            done = await connection.execute(
                update(OutboxMessage)
                .where(OutboxMessage.id == row.id, OutboxMessage.claim_token == row.token)
                .values(claim_token=None, **values)
            )
            if done.rowcount == 0:
                log.warning(
                    "outbox row %s was reclaimed before we could mark it %s", row.id, values.get("status")
                )
