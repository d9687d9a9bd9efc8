"""The core tables: people and their chat identities, organisations, conversations, answers,
and the de-duplication keys of inbound events. Feature modules add their own tables to `Base`.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, Boolean, DateTime, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    type_annotation_map = {dict[str, Any]: JSON, datetime: DateTime(timezone=True)}


class Person(Base):
    __tablename__ = "people"

    id: Mapped[int] = mapped_column(primary_key=True)
    display_name: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Identity(Base):
    """One chat account of a person: a Slack user in a workspace, a Telegram user, a console name."""

    __tablename__ = "identities"
    __table_args__ = (UniqueConstraint("platform", "platform_user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"), index=True)
    platform: Mapped[str] = mapped_column(String(20))
    platform_user_id: Mapped[str] = mapped_column(String(200))
    # Where to reach them unprompted (reminders): a DM channel or chat id.
    chat_id: Mapped[str | None] = mapped_column(String(200))
    display_name: Mapped[str] = mapped_column(String(200), default="")
    # False once the platform says they blocked us: no more reminders to it.
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Organisation(Base):
    __tablename__ = "organisations"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(300))
    kind: Mapped[str] = mapped_column(String(20), default="member")  # member | support
    support_org_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"), index=True)
    # A support organisation may choose the framework its members describe their value against.
    framework_id: Mapped[str | None] = mapped_column(String(100))
    # 360Giving recipient id or charity number, to match imported grants to an organisation.
    external_id: Mapped[str | None] = mapped_column(String(200), index=True)
    # The language of svbot's words for its members (svbot/texts/<locale>.yaml); NULL: English.
    locale: Mapped[str | None] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Membership(Base):
    __tablename__ = "memberships"
    __table_args__ = (
        UniqueConstraint("person_id", "organisation_id"),
        # An organisation's members without reading the table: reminders and broadcasts start here
        # (svbot.delivery.recipients). It serves every lookup by organisation_id alone as well.
        Index("ix_memberships_org_person", "organisation_id", "person_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"), index=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    role: Mapped[str] = mapped_column(String(20), default="member")  # member | org_admin | support_admin
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Conversation(Base):
    """Where one person is in one chat. The whole engine state is one JSON document."""

    __tablename__ = "conversations"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(400), unique=True)  # platform:chat:user
    identity_id: Mapped[int] = mapped_column(ForeignKey("identities.id"), index=True)
    organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"), index=True)
    # The language this person chose; NULL: the organisation's, else English (svbot.text).
    locale: Mapped[str | None] = mapped_column(String(16))
    state: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # Bumped every turn; a second worker that read an older version must retry (see turns.py).
    version: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class Answer(Base):
    """The evidence bank: every answer given, kept beyond the conversation that asked for it."""

    __tablename__ = "answers"
    __table_args__ = (UniqueConstraint("conversation_id", "dialogue_id", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id"), index=True)
    organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"), index=True)
    dialogue_id: Mapped[str] = mapped_column(String(100))
    key: Mapped[str] = mapped_column(String(400))
    value: Mapped[Any] = mapped_column(JSON, nullable=True)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class InboundEvent(Base):
    """A delivery we have handled. The platform may send it again; we answer it once."""

    __tablename__ = "inbound_events"
    __table_args__ = (UniqueConstraint("platform", "event_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    platform: Mapped[str] = mapped_column(String(20))
    event_id: Mapped[str] = mapped_column(String(200))
    received_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


class ButtonPayload(Base):
    """A button's payload too long for the platform to carry (Telegram: 64 bytes), and in a group whose
    question the button belongs to. The button carries `key`; kept in the database, not in memory, so a
    button pressed after a restart (or on another worker) still means what it said."""

    __tablename__ = "button_payloads"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    platform: Mapped[str] = mapped_column(String(20))
    payload: Mapped[str] = mapped_column(Text)
    owner_user_id: Mapped[str | None] = mapped_column(String(64), nullable=True)  # whose question, in a group
    owner_name: Mapped[str | None] = mapped_column(String(200), nullable=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


__all__ = [
    "Answer",
    "ButtonPayload",
    "Base",
    "Conversation",
    "Identity",
    "InboundEvent",
    "Membership",
    "Organisation",
    "Person",
    "utcnow",
]
