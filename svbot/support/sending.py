"""Send the outbox fast, at the platforms' limits: for broadcasts to thousands of members.

The core `Dispatcher` claims a batch and sends it one message at a time: right for a few reminders,
but a round trip to Telegram takes longer than the 33 ms a 30-a-second budget allows. Here several
workers send a claimed batch at once, each taking its turn from one shared `RateLimiter`, so the
platform sees an even stream just under its limit. Claims, marks, retries and the crash rules are
the Dispatcher's own (a killed process leaves its claimed rows to be claimed again when the claim
expires; rows marked sent are never sent again).

`broadcast_limits()` pace Telegram evenly at 29.5 messages a second (no burst, since Telegram counts
over a sliding second), one a second per chat and 20 a minute per group; Slack one a second per
channel. A 429 pauses the whole platform for its `retry_after`. On top of the pacing, Telegram's
sender is wrapped in a `SlidingWindow` of 29 a second: pacing decides when a message *should* go,
but a stall of the event loop (a database checkpoint, a garbage collection) can hold back a message
that was already let through and release it together with the next ones, which the platform sees as
a burst. The window counts each message until its answer has come back, so a late one is counted
late.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from svbot.config import Settings
from svbot.delivery.dispatcher import Claimed, Dispatcher, DispatchResult, Sender
from svbot.delivery.models import CLAIMED, PENDING, OutboxMessage
from svbot.delivery.ratelimit import Limits, RateLimiter, telegram_group
from svbot.models import utcnow

log = logging.getLogger(__name__)

TELEGRAM_RATE = 29.5
TELEGRAM_WINDOW = 29  # messages in any second, as Telegram would count them
# An answer back within this long means the message went straight out: count it from when it was let
# through. Counting every message until its answer would cost a round trip's worth of rate.
WINDOW_GRACE = 0.010


def broadcast_limits(telegram_rate: float = TELEGRAM_RATE, slack_interval: float = 1.0) -> dict[str, Limits]:
    return {
        "telegram": Limits(
            per_second=telegram_rate,
            burst=1.0,
            per_chat_interval=1.0,
            group_limit=20,
            group_window=60.0,
            is_group=telegram_group,
        ),
        "slack": Limits(per_chat_interval=slack_interval),
        "console": Limits(),
    }


Progress = Callable[[DispatchResult], Awaitable[None] | None]


async def send_outbox(
    sessionmaker: async_sessionmaker[AsyncSession],
    senders: Mapping[str, Sender],
    *,
    limiter: RateLimiter | None = None,
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
        limiter or RateLimiter(broadcast_limits()),
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
        initialize = getattr(getattr(sender, "tg", None), "initialize", None)
        if initialize is None:
            continue
        try:
            await initialize()
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


class SlidingWindow:
    """A sender that lets at most `limit` messages start in any `window` seconds. A message counts
    from when it was let through, or, if its answer took longer than `grace` seconds to come back
    (it was held up on its way), from that answer less `grace`."""

    def __init__(
        self,
        inner: Sender,
        limit: int,
        window: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        grace: float = 0.0,
    ) -> None:
        self.inner = inner
        self.limit = limit
        self.window = window
        self.grace = grace
        self._clock = clock
        self._sleep = sleep
        self._sends: list[list[float]] = []  # one [time] per recent or in-flight message

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)  # close(), tg, platform: the wrapped sender's own

    async def send(self, chat_id: str, message: Any) -> str | None:
        entry = await self._slot()
        try:
            return await self.inner.send(chat_id, message)
        finally:
            entry[0] = max(entry[0], self._clock() - self.grace)

    async def _slot(self) -> list[float]:
        while True:
            now = self._clock()
            self._sends = [e for e in self._sends if e[0] > now - self.window]
            if len(self._sends) < self.limit:
                entry = [now]
                self._sends.append(entry)
                return entry
            await self._sleep(min(e[0] for e in self._sends) + self.window - now)


def broadcast_senders(settings: Settings, workers: int = 8) -> dict[str, Any]:
    """Senders for the platforms set up, with enough connections for `workers` at once."""
    senders: dict[str, Any] = {}
    if settings.telegram_bot_token:
        from telegram.request import HTTPXRequest

        from svbot.channels.telegram import TelegramSender

        request = HTTPXRequest(connection_pool_size=workers + 2, pool_timeout=30.0)
        # max_wait=0: a 429 comes straight back, so the limiter pauses every worker, not just one.
        sender = TelegramSender(settings, request=request, max_wait=0.0)
        senders["telegram"] = SlidingWindow(sender, TELEGRAM_WINDOW, grace=WINDOW_GRACE)
    if settings.slack_bot_token:
        from svbot.channels.slack import SlackSender

        senders["slack"] = SlackSender(settings)
    return senders


async def close_senders(senders: Mapping[str, Any]) -> None:
    for sender in senders.values():
        close = getattr(sender, "close", None)
        if close is not None:
            try:
                await close()
            except Exception:  # closing is best effort: the process is ending anyway
                log.debug("closing a sender failed", exc_info=True)


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
