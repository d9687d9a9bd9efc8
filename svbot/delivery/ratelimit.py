"""Per-platform send limits, shared by reminders and broadcasts.

Telegram allows about 30 messages a second overall and one a second to the same chat; Slack about
one a second per channel. `acquire` reserves the next free slot before it sleeps, so concurrent
senders queue up fairly instead of all waking together.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Limits:
    per_second: float | None = None  # across the whole platform (a token bucket of this size)
    per_chat_interval: float | None = None  # seconds between two messages to one chat


DEFAULT_LIMITS: dict[str, Limits] = {
    "telegram": Limits(per_second=30.0, per_chat_interval=1.0),
    "slack": Limits(per_second=None, per_chat_interval=1.0),
}


class RateLimiter:
    """Waits as needed before each send. Clock and sleep are injectable, for tests without waiting."""

    def __init__(
        self,
        limits: Mapping[str, Limits] | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._limits = dict(DEFAULT_LIMITS if limits is None else limits)
        self._clock = clock
        self._sleep = sleep
        self._tokens: dict[str, float] = {}
        self._refilled: dict[str, float] = {}
        self._chat_free: dict[tuple[str, str], float] = {}
        self._paused_until: dict[str, float] = {}

    async def acquire(self, platform: str, chat_id: str) -> float:
        """Wait until a message to `chat_id` may go; returns the seconds waited."""
        wait = self.reserve(platform, chat_id)
        if wait > 0:
            await self._sleep(wait)
        return wait

    def reserve(self, platform: str, chat_id: str) -> float:
        """Take the next slot without sleeping; returns how long until it comes."""
        now = self._clock()
        limits = self._limits.get(platform, Limits())
        start = max(now, self._paused_until.get(platform, now))
        if limits.per_second:
            start = max(start, self._take_token(platform, limits.per_second, now))
        if limits.per_chat_interval:
            key = (platform, chat_id)
            start = max(start, self._chat_free.get(key, start))
            self._chat_free[key] = start + limits.per_chat_interval
            if len(self._chat_free) > 10_000:
                self._forget_old_chats(now)
        return start - now

    def pause(self, platform: str, seconds: float) -> None:
        """The platform said "slow down" (HTTP 429, retry_after): hold every send to it."""
        self._paused_until[platform] = max(self._paused_until.get(platform, 0.0), self._clock() + seconds)

    def _take_token(self, platform: str, rate: float, now: float) -> float:
        tokens = self._tokens.get(platform, rate)
        last = self._refilled.get(platform, now)
        tokens = min(rate, tokens + (now - last) * rate) - 1.0
        self._tokens[platform] = tokens
        self._refilled[platform] = now
        # Negative tokens are slots already promised to earlier callers: wait for them to refill.
        return now + max(0.0, -tokens / rate)

    def _forget_old_chats(self, now: float) -> None:
        self._chat_free = {k: v for k, v in self._chat_free.items() if v > now}
