"""Erased organisations' identifiers, hashed: how the grants importer recognises one (light on imports,
so svbot.deadlines.importer can ask without pulling in the rest of svbot.privacy)."""

from __future__ import annotations

import hashlib

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from svbot.privacy.models import ErasedOrganisation


def external_id_hash(external_id: str) -> str:
    """SHA-256 of an organisation's identifier as the importer keys it (its 360Giving org-id, or
    "name:" and its normalised name). Not a secret against someone holding a list of charity numbers:
    it keeps the identifier out of plain sight, and lets a re-import recognise it."""
    return hashlib.sha256(external_id.strip().encode("utf-8")).hexdigest()


async def erased_hashes(session: AsyncSession) -> set[str]:
    return set(await session.scalars(select(ErasedOrganisation.external_id_hash)))
