"""The outbox: one row per message to send unprompted (reminders, later broadcasts).

A row is written in the same transaction as the decision to send it, under a unique `dedupe_key`,
so a second planner or a restart cannot create a second row. The dispatcher claims rows, sends them
and marks them; a claim that is never marked expires and the row is sent again (at least once).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, DateTime, ForeignKey, Index, Integer, String, Text, TypeDecorator
from sqlalchemy.orm import Mapped, mapped_column

from svbot.models import Base, utcnow

PENDING = "pending"
CLAIMED = "claimed"
SENT = "sent"
FAILED = "failed"
CANCELLED = "cancelled"  # no longer wanted (the deadline was submitted or snoozed before sending)


class UTCDateTime(TypeDecorator):
    """Timestamps stored as UTC and read back time-zone aware, on SQLite as well as PostgreSQL.

    SQLite keeps no offset: without this an aware value would be stored with its local wall time.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("svbot stores aware datetimes only")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class OutboxMessage(Base):
    __tablename__ = "outbox"
    __table_args__ = (
        # The claim query: rows ready to go, oldest first. Claimed rows carry their claim expiry
        # in next_attempt_at, so one range scan finds both new rows and abandoned claims.
        Index("ix_outbox_status_next", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    dedupe_key: Mapped[str] = mapped_column(String(300), unique=True)
    kind: Mapped[str] = mapped_column(String(30))  # reminder | broadcast | ...
    ref: Mapped[str | None] = mapped_column(String(100), index=True)  # e.g. "deadline:12", to cancel rows
    platform: Mapped[str] = mapped_column(String(20))
    chat_id: Mapped[str] = mapped_column(String(200))
    identity_id: Mapped[int | None] = mapped_column(ForeignKey("identities.id"), index=True)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(20), default=PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime())
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    claim_token: Mapped[str | None] = mapped_column(String(40))
    error: Mapped[str | None] = mapped_column(Text)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    platform_message_id: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


__all__ = ["CANCELLED", "CLAIMED", "FAILED", "OutboxMessage", "PENDING", "SENT", "UTCDateTime"]
