"""What a Telegram button stands for: its payload, and in a group whose question it is.

Telegram carries at most 64 bytes of callback_data. A payload that fits travels as itself; a longer one,
and every button sent in a group, travels as a short key kept in the `button_payloads` table, so the
button still works after a restart or on another worker, and in a group we know whose question it is.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from svbot.channels.telegram.render import CALLBACK_DATA_LIMIT, LONG_PAYLOAD_PREFIX
from svbot.models import ButtonPayload, utcnow

PLATFORM = "telegram"


@dataclass(frozen=True, slots=True)
class Owner:
    """The person a question in a group is for."""

    user_id: str
    first_name: str


@dataclass(frozen=True, slots=True)
class Pressed:
    payload: str
    owner: Owner | None = None


class ButtonStore:
    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
        self.sessionmaker = sessionmaker

    async def callback_data(self, payloads: Iterable[str], owner: Owner | None = None) -> dict[str, str]:
        """callback_data for each payload, storing those that need a key (in one transaction)."""
        data = {payload: _data(payload, owner) for payload in payloads}
        keyed = {key: payload for payload, key in data.items() if key.startswith(LONG_PAYLOAD_PREFIX)}
        if keyed:
            await self._store(keyed, owner)
        return data

    async def decode(self, data: str) -> Pressed | None:
        """The button's payload and owner; None for a key we never stored (or have forgotten)."""
        if not data.startswith(LONG_PAYLOAD_PREFIX):
            return Pressed(data)
        async with self.sessionmaker() as session:
            row = await session.get(ButtonPayload, data)
        if row is None:
            return None
        owner = Owner(row.owner_user_id, row.owner_name or "") if row.owner_user_id else None
        return Pressed(row.payload, owner)

    async def _store(self, keyed: dict[str, str], owner: Owner | None) -> None:
        async with self.sessionmaker() as session:
            known = set((await session.scalars(select(ButtonPayload.key).where(ButtonPayload.key.in_(keyed)))).all())
            if known:  # sent again: kept as long as its newest message (retention counts from `created_at`)
                fresh = update(ButtonPayload).where(ButtonPayload.key.in_(known)).values(created_at=utcnow())
                await session.execute(fresh)
            for key, payload in keyed.items():
                if key not in known:
                    session.add(ButtonPayload(
                        key=key, platform=PLATFORM, payload=payload,
                        owner_user_id=owner.user_id if owner else None, owner_name=owner.first_name if owner else None,
                    ))  # fmt: skip
            try:
                await session.commit()
            except IntegrityError:  # another worker stored the same key just now: same payload, same owner
                await session.rollback()


def _data(payload: str, owner: Owner | None) -> str:
    """The payload itself when it fits and no owner is to be recorded; else a key derived from both, so
    the same button rendered twice gets the same key."""
    if owner is None and fits_callback_data(payload) and not payload.startswith(LONG_PAYLOAD_PREFIX):
        return payload
    seed = f"{owner.user_id if owner else ''}\x00{payload}"
    return LONG_PAYLOAD_PREFIX + hashlib.sha256(seed.encode()).hexdigest()[:40]


def fits_callback_data(payload: str) -> bool:
    return 0 < len(payload.encode()) <= CALLBACK_DATA_LIMIT
