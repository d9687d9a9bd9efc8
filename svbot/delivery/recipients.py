"""Who an unprompted message (a reminder, a broadcast) can reach in an organisation."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from svbot.models import Identity, Membership


@dataclass(frozen=True, slots=True)
class Recipient:
    identity_id: int
    platform: str
    chat_id: str
    organisation_id: int


async def reachable_members(session: AsyncSession, organisation_ids: Iterable[int]) -> list[Recipient]:
    """Each chat identity of each member, where we can write to them first: active (they have not
    blocked us) and with a known chat. One row per organisation and identity, by identity id."""
    rows = await session.execute(
        select(Identity.id, Identity.platform, Identity.chat_id, Membership.organisation_id)
        .join(Membership, Membership.person_id == Identity.person_id)
        .where(
            Membership.organisation_id.in_(list(organisation_ids)),
            Identity.active.is_(True),
            Identity.chat_id.is_not(None),
        )
        .order_by(Identity.id, Membership.organisation_id)
    )
    return [Recipient(identity_id, platform, chat_id, org_id) for identity_id, platform, chat_id, org_id in rows]
