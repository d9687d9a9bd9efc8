"""Per-platform send limits, shared by reminders, broadcasts and digests.

Each channel declares its `Limits` once (`svbot/channels/*/__init__.py`); the composition root gathers
them (`svbot.app.send_limits`). `acquire` reserves the next free slot before it sleeps, so concurrent
senders queue up fairly instead of all waking together. `SlidingWindow` is a second guard a channel
can put round its sender, for a platform that counts over a sliding second.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from svbot.messages import Sender


@dataclass(frozen=True, slots=True)
class Limits:
    per_second: float | None = None  # across the whole platform (a token bucket of this size)
    per_chat_interval: float | None = None  # seconds between two messages to one chat
    # How many messages may go at once after a quiet spell (the bucket's size); None: per_second.
    # 1 paces messages evenly, for a platform that counts over a sliding window.
    burst: float | None = None
    # At most `group_limit` messages per `group_window` seconds to one group chat (Telegram: 20/min).
    group_limit: int | None = None
    group_window: float = 60.0
    is_group: Callable[[str], bool] | None = None  # which chat ids are groups


def telegram_group(chat_id: str) -> bool:
    """Telegram's group and supergroup chat ids are negative; people's are positive."""
    return chat_id.startswith("-")


class RateLimiter:
    """Waits as needed before each send. Clock and sleep are injectable, for tests without waiting."""

    def __init__(
        self,
        limits: Mapping[str, Limits],
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._limits = dict(limits)  # each channel's own (svbot.app.send_limits); others go unpaced
        self._clock = clock
        self._sleep = sleep
        self._tokens: dict[str, float] = {}
        self._refilled: dict[str, float] = {}
        self._chat_free: dict[tuple[str, str], float] = {}
        self._paused_until: dict[str, float] = {}
        self._group_sends: dict[tuple[str, str], deque[float]] = {}

    async def acquire(self, platform: str, chat_id: str) -> float:
        """Wait until a message to `chat_id` may go; returns the seconds waited."""
        wait = self.reserve(platform, chat_id)
        if wait > 0:
            await self._sleep(wait)
        # The platform said "slow down" while we slept: that slot is void, take one after the pause.
        while self._paused_until.get(platform, 0.0) > self._clock():
            again = self.reserve(platform, chat_id)
            await self._sleep(again)
            wait += again
        return wait

    def reserve(self, platform: str, chat_id: str) -> float:
        """Take the next slot without sleeping; returns how long until it comes."""
        now = self._clock()
        limits = self._limits.get(platform, Limits())
        start = max(now, self._paused_until.get(platform, now))
        if limits.per_second:
            start = max(start, self._take_token(platform, limits.per_second, limits.burst, now))
        key = (platform, chat_id)
        if limits.per_chat_interval:
            start = max(start, self._chat_free.get(key, start))
        if limits.group_limit and limits.is_group is not None and limits.is_group(chat_id):
            start = self._group_slot(key, limits, start)
        if limits.per_chat_interval:
            self._chat_free[key] = start + limits.per_chat_interval
            if len(self._chat_free) > 10_000:
                self._forget_old_chats(now)
        return start - now

    def pause(self, platform: str, seconds: float) -> None:
        """The platform said "slow down" (HTTP 429, retry_after): hold every send to it."""
        now = self._clock()
        until = max(self._paused_until.get(platform, 0.0), now + seconds)
        self._paused_until[platform] = until
        limits = self._limits.get(platform)
        if limits is not None and limits.per_second:
            # Pace again from the end of the pause: else every slot promised for the paused time
            # would fall due at its end, all at once, and bring the next 429.
            self._tokens[platform] = 1.0 - (until - now) * limits.per_second
            self._refilled[platform] = now

    def _take_token(self, platform: str, rate: float, burst: float | None, now: float) -> float:
        size = rate if burst is None else max(1.0, burst)
        tokens = self._tokens.get(platform, size)
        last = self._refilled.get(platform, now)
        tokens = min(size, tokens + (now - last) * rate) - 1.0
        self._tokens[platform] = tokens
        self._refilled[platform] = now
        # Negative tokens are slots already promised to earlier callers: wait for them to refill.
        return now + max(0.0, -tokens / rate)

    def _group_slot(self, key: tuple[str, str], limits: Limits, earliest: float) -> float:
        """The first time from `earliest` when the group has had fewer than `group_limit` messages in
        the last `group_window` seconds; that time is recorded as the group's newest send."""
        assert limits.group_limit is not None
        sends = self._group_sends.setdefault(key, deque())
        while sends and sends[0] <= earliest - limits.group_window:
            sends.popleft()
        start = earliest
        if len(sends) >= limits.group_limit:
            start = max(earliest, sends[len(sends) - limits.group_limit] + limits.group_window)
        sends.append(start)
        while len(sends) > limits.group_limit:
            sends.popleft()
        return start

    def _forget_old_chats(self, now: float) -> None:
        self._chat_free = {k: v for k, v in self._chat_free.items() if v > now}


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
