"""Join codes: `svbot invite` (or an admin in chat) makes one; `join CODE` in any chat uses it.

A code is 10 letters and digits from an alphabet without look-alikes (no 0/O, 1/I/L), shown in
two groups ("K7QF-9XWA2"), about 50 bits: guessing is hopeless within its lifetime. Only its hash
is stored. A use is counted with one conditional UPDATE, so two people racing for the last use of
a code cannot both get in.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from svbot.models import Membership, Organisation
from svbot.support.access import RANK, roles_for
from svbot.support.models import MEMBER, Invite

ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
CODE_LENGTH = 10
DEFAULT_DAYS = 14
MAX_DAYS = 365


class InviteError(ValueError):
    """A code could not be made (unknown organisation, a role it does not have, silly limits)."""


@dataclass(frozen=True, slots=True)
class NewInvite:
    code: str  # shown once: only its hash is stored
    organisation_id: int
    organisation_name: str
    role: str
    max_uses: int
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class Joined:
    organisation_id: int
    organisation_name: str
    role: str  # the role they now have (an existing higher role is kept)
    already: bool  # they were a member already: the code was not used up


async def create_invite(
    session: AsyncSession,
    organisation_id: int,
    now: datetime,
    *,
    role: str = MEMBER,
    uses: int = 1,
    days: float = DEFAULT_DAYS,
    created_by_person_id: int | None = None,
) -> NewInvite:
    """A new code. The caller checks the creator may invite (`access.can_invite`) and commits."""
    organisation = await session.get(Organisation, organisation_id)
    if organisation is None:
        raise InviteError(f"there is no organisation with id {organisation_id}")
    if role not in roles_for(organisation):
        allowed = " or ".join(roles_for(organisation))
        raise InviteError(f"{organisation.name} is a {organisation.kind} organisation: the role must be {allowed}")
    if not 1 <= uses <= 10_000:
        raise InviteError("uses must be between 1 and 10,000")
    if not 0 < days <= MAX_DAYS:
        raise InviteError(f"days must be more than 0 and at most {MAX_DAYS}")
    code = new_code()
    invite = Invite(
        code_hash=code_hash(code),
        organisation_id=organisation.id,
        role=role,
        max_uses=uses,
        uses=0,
        expires_at=now + timedelta(days=days),
        created_by_person_id=created_by_person_id,
        created_at=now,
    )
    session.add(invite)
    await session.flush()
    return NewInvite(code, organisation.id, organisation.name, role, uses, invite.expires_at)


async def redeem(session: AsyncSession, code: str, person_id: int, now: datetime) -> Joined | None:
    """Link the person to the code's organisation. None when the code is unknown, expired or used up
    (one answer for all three, so a guesser learns nothing). The caller commits."""
    hashed = code_hash(code)
    invite = await session.scalar(select(Invite).where(Invite.code_hash == hashed))
    if invite is None or _aware(invite.expires_at) <= now:
        return None
    organisation = await session.get(Organisation, invite.organisation_id)
    if organisation is None:
        return None
    membership = await session.scalar(
        select(Membership).where(Membership.person_id == person_id, Membership.organisation_id == organisation.id)
    )
    if membership is not None and RANK.get(membership.role, 0) >= RANK.get(invite.role, 0):
        return Joined(organisation.id, organisation.name, membership.role, already=True)
    taken = await session.execute(
        update(Invite)
        .where(Invite.id == invite.id, Invite.uses < Invite.max_uses, Invite.expires_at > now)
        .values(uses=Invite.uses + 1)
        .execution_options(synchronize_session=False)
    )
    if taken.rowcount != 1:
        return None
    if membership is None:
        session.add(Membership(person_id=person_id, organisation_id=organisation.id, role=invite.role))
    else:
        membership.role = invite.role  # a promotion: the code carries a higher role
    await session.flush()
    return Joined(organisation.id, organisation.name, invite.role, already=False)


def new_code() -> str:
    raw = "".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH))
    return f"{raw[:4]}-{raw[4:]}"


def looks_like_code(text: str) -> bool:
    """Could this be a join code (ten letters and digits of our alphabet, any case and spacing)?"""
    cleaned = normalise(text)
    return len(cleaned) == CODE_LENGTH and all(c in ALPHABET for c in cleaned)


def normalise(code: str) -> str:
    """What people type: any case, with or without spaces and dashes."""
    return re.sub(r"[\s\-_]", "", code).upper()


def code_hash(code: str) -> str:
    return hashlib.sha256(normalise(code).encode()).hexdigest()


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
