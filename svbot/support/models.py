"""Tables of the support side: join codes (invites) and broadcasts.

Broadcast messages themselves are outbox rows (`svbot.delivery.models.OutboxMessage`, kind
"broadcast", ref "broadcast:ID"); the broadcast row holds what was asked for and by whom.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, PrimaryKeyConstraint, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from svbot.delivery.models import UTCDateTime
from svbot.models import Base, utcnow

MEMBER = "member"
ORG_ADMIN = "org_admin"
SUPPORT_ADMIN = "support_admin"
ROLES = (MEMBER, ORG_ADMIN, SUPPORT_ADMIN)

DRAFT = "draft"
QUEUED = "queued"
DONE = "done"
CANCELLED = "cancelled"


class Invite(Base):
    """A join code. Only its hash is kept: a database dump gives nobody a way in."""

    __tablename__ = "invites"

    id: Mapped[int] = mapped_column(primary_key=True)
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    role: Mapped[str] = mapped_column(String(20), default=MEMBER)
    max_uses: Mapped[int] = mapped_column(Integer, default=1)
    uses: Mapped[int] = mapped_column(Integer, default=0)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    created_by_person_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class AttemptCount(Base):
    """How many join attempts one subject ("person:12", "chat:telegram:-1001", "org:5") made in one
    window (a minute, an hour). The count lives in the database, not in a process, so the limit holds
    however many web workers share the load; one row per subject and window, bumped by an upsert."""

    __tablename__ = "attempt_counts"
    __table_args__ = (PrimaryKeyConstraint("subject", "window_start"),)

    subject: Mapped[str] = mapped_column(String(250))
    window_start: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    count: Mapped[int] = mapped_column(Integer, default=0)


class Broadcast(Base):
    """One message from a support organisation to (some of) its members."""

    __tablename__ = "broadcasts"

    id: Mapped[int] = mapped_column(primary_key=True)
    support_org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    audience: Mapped[str] = mapped_column(String(200))  # all | overdue | programme:CODE | org:ID
    message: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(20), default=DRAFT)  # draft | queued | done | cancelled
    # Who asked for it in chat: they get the progress and the final delivery report.
    created_by_identity_id: Mapped[int | None] = mapped_column(ForeignKey("identities.id"))
    recipients: Mapped[int] = mapped_column(Integer, default=0)
    progress_reported: Mapped[int] = mapped_column(Integer, default=0)  # last percentage told
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    queued_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


__all__ = ["AttemptCount", "Broadcast", "Invite", "ROLES"]
