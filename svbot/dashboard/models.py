"""The staff dashboard's tables: single-use sign-in links, sessions, the audit log of staff actions, and
the signing key generated for the embedded default when `SVBOT_SECRET_KEY` is not set.

Tokens are stored only as SHA-256 hashes: someone who reads the database cannot sign in with them.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from svbot.delivery.models import UTCDateTime
from svbot.models import Base, utcnow


class DashboardLink(Base):
    """A single-use sign-in link. With no person, the first staff member names themselves on it."""

    __tablename__ = "dashboard_links"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    support_org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    person_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class DashboardSession(Base):
    """A signed-in browser. The cookie holds the token, signed; this row holds its hash."""

    __tablename__ = "dashboard_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"))
    support_org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    csrf_token: Mapped[str] = mapped_column(String(64))  # every form carries it
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class AuditEntry(Base):
    """A staff action (sign-in, a join code made or revoked, ...), shown on the overview."""

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_support_at", "support_org_id", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    support_org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    person_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    action: Mapped[str] = mapped_column(String(40))
    detail: Mapped[str] = mapped_column(Text, default="")
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class AppSecret(Base):
    """Secrets svbot makes for itself (the embedded default's signing key), by name."""

    __tablename__ = "app_secrets"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    value: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
