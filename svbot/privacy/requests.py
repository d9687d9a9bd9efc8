"""The log of privacy requests: who asked for an export or an erasure, of whom, when, and counts of
what it covered. Never the content: an erasure's log entry must not keep what it erased."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from svbot.privacy.models import PrivacyRequest

log = logging.getLogger(__name__)


async def log_request(
    session: AsyncSession,
    action: str,
    subject: str,
    subject_id: int,
    requested_by: str,
    now: datetime,
    detail: dict[str, Any] | None = None,
) -> PrivacyRequest:
    """Record the request (in the caller's transaction) and say so in the process log, by id."""
    entry = PrivacyRequest(action=action, subject=subject, subject_id=subject_id, requested_by=requested_by[:100],
                           detail=detail or {}, at=now)  # fmt: skip
    session.add(entry)
    await session.flush()
    log.info("privacy %s of %s %s", action, subject, subject_id,
             extra={"privacy_request_id": entry.id, "requested_by": requested_by})  # fmt: skip
    return entry


def by_person(person_id: int) -> str:
    """`requested_by` for a request made in chat."""
    return f"chat:person:{person_id}"


CLI = "cli"
