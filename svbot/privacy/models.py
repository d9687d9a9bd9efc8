"""The privacy tables: a log of access and erasure requests, the hashed identifiers of erased
organisations (so a re-import does not bring them back), which people have seen the privacy notice,
and the contact a support organisation gives for privacy questions.

None of them holds erased content: a request is logged with ids and counts, never names or texts.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from svbot.delivery.models import UTCDateTime
from svbot.models import Base, utcnow

EXPORT = "export"
ERASE = "erase"
REMOVE = "remove"  # an organisation admin removed a member
PERSON = "person"
ORGANISATION = "organisation"


class PrivacyRequest(Base):
    """One export or erasure: what was asked about (a person or an organisation, by id), by whom
    ("chat:person:12", "cli"), when, and counts of what was sent or removed (never the content).

    No foreign keys: the log outlives the person or organisation it is about."""

    __tablename__ = "privacy_requests"

    id: Mapped[int] = mapped_column(primary_key=True)
    action: Mapped[str] = mapped_column(String(20))  # export | erase | remove
    subject: Mapped[str] = mapped_column(String(20))  # person | organisation
    subject_id: Mapped[int] = mapped_column(Integer, index=True)
    requested_by: Mapped[str] = mapped_column(String(100))
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class ErasedOrganisation(Base):
    """An organisation erased at its request: the SHA-256 of its 360Giving identifier (or name key),
    so `svbot grants import` leaves its grants out unless told `--include-erased`."""

    __tablename__ = "erased_organisations"

    id: Mapped[int] = mapped_column(primary_key=True)
    external_id_hash: Mapped[str] = mapped_column(String(64), unique=True)
    erased_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class NoticeShown(Base):
    """The person has been shown the privacy notice (at their first contact)."""

    __tablename__ = "privacy_notices"

    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"), primary_key=True)
    shown_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class PrivacyContact(Base):
    """Whom to ask about privacy, as a (support) organisation gives it: an email address, a phone
    number, a web page. Shown in the privacy notice to its members."""

    __tablename__ = "privacy_contacts"

    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), primary_key=True)
    contact: Mapped[str] = mapped_column(String(300))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


__all__ = [
    "ERASE",
    "EXPORT",
    "REMOVE",
    "ErasedOrganisation",
    "NoticeShown",
    "ORGANISATION",
    "PERSON",
    "PrivacyContact",
    "PrivacyRequest",
]
