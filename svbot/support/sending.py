"""Send the outbox fast, at the platforms' limits: for broadcasts to thousands of members.

The core `Dispatcher` claims a batch and sends it one message at a time: right for a few reminders,
but a round trip to Telegram takes longer than the 33 ms a 30-a-second budget allows. Here several
workers send a claimed batch at once, each taking its turn from one shared `RateLimiter`, so the
platform sees an even stream just under its limit. Claims, marks, retries and the crash rules are
the Dispatcher's own (a killed process leaves its claimed rows to be claimed again when the claim
expires; rows marked sent are never sent again).

Each channel declares its own limits (`svbot.channels.*.CHANNEL.limits`) and builds its own sender;
the composition root (`svbot.app.App.senders`, `App.limiter`) hands them here. A 429 pauses the whole
platform for its `retry_after`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from svbot.delivery.dispatcher import Claimed, Dispatcher, DispatchResult
from svbot.delivery.models import CLAIMED, PENDING, OutboxMessage
from svbot.delivery.ratelimit import RateLimiter
from svbot.messages import Sender
from svbot.models import utcnow

log = logging.getLogger(__name__)

Progress = Callable[[DispatchResult], Awaitable[None] | None]


async def send_outbox(
    sessionmaker: async_sessionmaker[AsyncSession],
    senders: Mapping[str, Sender],
    *,
    limiter: RateLimiter,
    workers: int = 8,
    batch_size: int = 200,
    clock: Callable[[], datetime] = utcnow,
    wait_for_retries: bool = True,
    max_idle: float = 600.0,
    base_backoff: timedelta = timedelta(seconds=2),
    max_attempts: int = 8,
    on_batch: Progress | None = None,
    stop: asyncio.Event | None = None,
) -> DispatchResult:
    """Send every ready row for the platforms in `senders` until none is left.

    With `wait_for_retries`, rows waiting to be retried (after a 429 or a network fault) are waited
    for, up to `max_idle` seconds at a time; rows claimed by another live process are left to it.
    `on_batch` is called after each batch (progress reports). `clock` gives "now" (tests move it).
    """
    dispatcher = Dispatcher(
        sessionmaker,
        senders,
        limiter,
        batch_size=batch_size,
        base_backoff=base_backoff,
        max_attempts=max_attempts,
    )
    total = DispatchResult()
    await warm_up(senders)
    while stop is None or not stop.is_set():
        rows = await dispatcher.claim(clock())
        if rows:
            result = await _send_batch(dispatcher, rows, workers, clock)
            _add(total, result)
            if on_batch is not None:
                maybe = on_batch(total)
                if maybe is not None:
                    await maybe
            continue
        if not wait_for_retries:
            break
        wait = await seconds_until_next(sessionmaker, list(senders), clock())
        if wait is None or wait > max_idle:
            break
        await _sleep(max(0.05, wait), stop)
    return total


async def _send_batch(
    dispatcher: Dispatcher, rows: list[Claimed], workers: int, clock: Callable[[], datetime]
) -> DispatchResult:
    result = DispatchResult()
    queue: asyncio.Queue[Claimed] = asyncio.Queue()
    for row in rows:
        queue.put_nowait(row)

    async def work() -> None:
        while True:
            try:
                row = queue.get_nowait()
            except asyncio.QueueEmpty:
                return
            await dispatcher.deliver(row, result, clock())

    await asyncio.gather(*(work() for _ in range(max(1, min(workers, len(rows))))))
    return result


async def warm_up(senders: Mapping[str, Sender]) -> None:
    """Connect before the first message: a first send that also logs in (Telegram's getMe) arrives
    late, and the ones paced behind it then arrive together, as a burst the platform refuses."""
    for sender in senders.values():
        connect = getattr(sender, "connect", None)
        if connect is None:
            continue
        try:
            await connect()
        except Exception as exc:  # the first send will meet the same problem and report it properly
            log.info("could not connect %s before sending: %r", type(sender).__name__, exc)


async def seconds_until_next(
    sessionmaker: async_sessionmaker[AsyncSession], platforms: list[str], now: datetime
) -> float | None:
    """How long until the next row for these platforms is due (None: nothing left at all)."""
    async with sessionmaker() as session:
        earliest = await session.scalar(
            select(func.min(OutboxMessage.next_attempt_at)).where(
                OutboxMessage.status.in_((PENDING, CLAIMED)), OutboxMessage.platform.in_(platforms)
            )
        )
    if earliest is None:
        return None
    if earliest.tzinfo is None:  # a min() over SQLite comes back naive; it was stored as UTC
        earliest = earliest.replace(tzinfo=UTC)
    return max(0.0, (earliest - now).total_seconds())


def _add(total: DispatchResult, result: DispatchResult) -> None:
    total.sent += result.sent
    total.retried += result.retried
    total.failed += result.failed


async def _sleep(seconds: float, stop: asyncio.Event | None) -> None:
    if stop is None:
        await asyncio.sleep(seconds)
        return
    try:
        await asyncio.wait_for(stop.wait(), timeout=seconds)
    except TimeoutError:
        pass
