"""Support organisations: roles and access checks, join codes, broadcasts, the weekly digest of
overdue reports and the annual social value report. `svbot.support.chat.install` adds the chat side
(the composition root calls it); `clock_pass` is the support side's share of a clock tick."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker


async def clock_pass(
    sessionmaker: async_sessionmaker[AsyncSession], now: datetime, timezone: str = "Europe/London"
) -> int:
    """Queue this week's digests if due, and admins' broadcast progress and final reports.

    Call it from a clock after each dispatch pass (it only writes outbox rows, under unique keys,
    so calling it often or from two processes is harmless). Returns the rows queued.
    """
    from svbot.support.broadcasts import follow_up
    from svbot.support.digest import plan_digests

    return await plan_digests(sessionmaker, now, timezone) + await follow_up(sessionmaker, now)
