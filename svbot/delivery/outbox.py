"""Putting messages in the outbox: the one way reminders, broadcasts and digests queue a send."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from svbot.db import insert_for
from svbot.delivery.models import OutboxMessage

# Rows per INSERT: a broadcast to thousands stays under SQLite's and asyncpg's parameter limits.
BATCH = 500


async def insert_outbox(session: AsyncSession, rows: list[dict[str, Any]]) -> int:
    """Insert outbox rows, skipping dedupe keys already there (a re-run plans nothing twice);
    returns how many were new."""
    if not rows:
        return 0
    insert = insert_for(session.get_bind().dialect)
    statement = insert(OutboxMessage.__table__).on_conflict_do_nothing(index_elements=["dedupe_key"])
    total = 0
    for start in range(0, len(rows), BATCH):
        batch = rows[start : start + BATCH]
        count = (await session.execute(statement, batch)).rowcount
        total += count if count is not None and count >= 0 else len(batch)
    return total
