"""Signing in to the staff dashboard without passwords.

A support admin gets a single-use link (`dashboard` in chat, or `svbot dashboard link`), valid for
LINK_MINUTES. Opening it shows a "Sign in" button: only pressing it (a POST) uses the link, so a mail
or chat app that fetches links to preview them cannot use it up. Signing in starts a session: a random
token in a cookie signed with the secret key (itsdangerous), its hash in `dashboard_sessions` with the
session's CSRF token and expiry. Signing out ends the row, so a copied cookie stops working too.

Only staff of a support organisation (role support_admin there) sign in, and they see only it.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from svbot.config import Settings
from svbot.dashboard.models import AppSecret, AuditEntry, DashboardLink, DashboardSession
from svbot.models import Membership, Organisation, Person
from svbot.support.models import SUPPORT_ADMIN

LINK_MINUTES = 15
CALENDAR_PATH = "/dashboard/calendar/"  # a member's calendar feed: a secret address, no cookie
SESSION_HOURS = 12
COOKIE = "svbot_session"
SIGN_IN_PATH = "/dashboard/sign-in/"


class SecretKeyMissing(RuntimeError):
    """PostgreSQL without SVBOT_SECRET_KEY: several web processes must share one key, so we do not make one."""


@dataclass(frozen=True, slots=True)
class Staff:
    """Who is signed in, for which support organisation, with the session's CSRF token."""

    person_id: int
    name: str
    support_org_id: int
    support_name: str
    csrf_token: str


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def secret_key(session: AsyncSession, settings: Settings) -> str:
    """SVBOT_SECRET_KEY, or for the embedded SQLite default one made once and kept in the database."""
    if settings.secret_key is not None:
        return settings.secret_key.get_secret_value()
    if not settings.async_database_url.startswith("sqlite"):
        raise SecretKeyMissing("set SVBOT_SECRET_KEY to use the dashboard with PostgreSQL")
    kept = await session.get(AppSecret, "dashboard")
    if kept is None:
        kept = AppSecret(name="dashboard", value=secrets.token_urlsafe(48))
        session.add(kept)
        await session.flush()
    return kept.value


def serializer(key: str) -> URLSafeSerializer:
    return URLSafeSerializer(key, salt="svbot-dashboard-session")


async def make_link(
    session: AsyncSession, settings: Settings, support_org_id: int, person_id: int | None, now: datetime
) -> str:
    """A single-use sign-in link, valid for LINK_MINUTES."""
    token = secrets.token_urlsafe(32)
    session.add(DashboardLink(token_hash=token_hash(token), support_org_id=support_org_id, person_id=person_id,
                              created_at=now, expires_at=now + timedelta(minutes=LINK_MINUTES)))  # fmt: skip
    await session.flush()
    return settings.public_url.rstrip("/") + SIGN_IN_PATH + token


async def usable_link(session: AsyncSession, token: str, now: datetime) -> DashboardLink | None:
    """The link if it is unused and in date; None otherwise (used, expired or never made)."""
    link = await session.scalar(select(DashboardLink).where(DashboardLink.token_hash == token_hash(token)))
    if link is None or link.used_at is not None or _aware(link.expires_at) <= now:
        return None
    return link


async def redeem_link(
    session: AsyncSession, token: str, now: datetime, name: str | None = None
) -> tuple[str, str] | None:
    """Use the link: a new session (its cookie token and CSRF token), or None. A link made for no one
    makes its holder a staff member of the support organisation, named `name`."""
    link = await usable_link(session, token, now)
    if link is None:
        return None
    person_id = link.person_id
    if person_id is None and not name:
        return None
    if person_id is not None and not await is_staff(session, person_id, link.support_org_id):
        return None  # no longer staff since the link was made
    # Use it up in one statement: of two presses racing (two tabs, a double click), one wins.
    used = await session.execute(
        update(DashboardLink).where(DashboardLink.id == link.id, DashboardLink.used_at.is_(None)).values(used_at=now)
    )
    if used.rowcount != 1:  # type: ignore[attr-defined]
        return None
    if person_id is None:  # the first staff member, named as they asked
        person = Person(display_name=(name or "")[:200])
        session.add(person)
        await session.flush()
        session.add(Membership(person_id=person.id, organisation_id=link.support_org_id, role=SUPPORT_ADMIN))
        person_id = person.id
    cookie_token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    session.add(DashboardSession(token_hash=token_hash(cookie_token), person_id=person_id,
                                 support_org_id=link.support_org_id, csrf_token=csrf, created_at=now,
                                 expires_at=now + timedelta(hours=SESSION_HOURS)))  # fmt: skip
    session.add(AuditEntry(support_org_id=link.support_org_id, person_id=person_id, action="signed_in", at=now))
    await session.flush()
    return cookie_token, csrf


async def is_staff(session: AsyncSession, person_id: int, support_org_id: int) -> bool:
    role = await session.scalar(
        select(Membership.role)
        .join(Organisation, Organisation.id == Membership.organisation_id)
        .where(
            Membership.person_id == person_id,
            Membership.organisation_id == support_org_id,
            Organisation.kind == "support",
        )  # fmt: skip
    )
    return role == SUPPORT_ADMIN


async def staff_for(session: AsyncSession, key: str, cookie: str | None, now: datetime) -> Staff | None:
    """Who the signed cookie belongs to, while the session lasts and they are still staff."""
    if not cookie:
        return None
    try:
        token = serializer(key).loads(cookie)
    except BadSignature:
        return None
    if not isinstance(token, str):
        return None
    row = (
        await session.execute(
            select(DashboardSession, Person.display_name, Organisation.name)
            .join(Person, Person.id == DashboardSession.person_id)
            .join(Organisation, Organisation.id == DashboardSession.support_org_id)
            .where(DashboardSession.token_hash == token_hash(token))
        )
    ).first()
    if row is None:
        return None
    found, name, support_name = row
    if found.ended_at is not None or _aware(found.expires_at) <= now:
        return None
    if not await is_staff(session, found.person_id, found.support_org_id):
        return None
    return Staff(found.person_id, name or "", found.support_org_id, support_name, found.csrf_token)


async def end_session(session: AsyncSession, key: str, cookie: str | None, now: datetime) -> None:
    try:
        token = serializer(key).loads(cookie or "")
    except BadSignature:
        return
    found = await session.scalar(select(DashboardSession).where(DashboardSession.token_hash == token_hash(str(token))))
    if found is not None and found.ended_at is None:
        found.ended_at = now


async def audit(session: AsyncSession, staff: Staff, action: str, detail: str, now: datetime) -> None:
    session.add(AuditEntry(support_org_id=staff.support_org_id, person_id=staff.person_id, action=action,
                           detail=detail[:2000], at=now))  # fmt: skip


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def calendar_token(key: str, org_id: int) -> str:
    """The secret in a member organisation's calendar address: 128 bits of HMAC-SHA256."""
    return hmac.new(key.encode(), f"svbot-calendar:{org_id}".encode(), hashlib.sha256).hexdigest()[:32]


async def calendar_url(session: AsyncSession, settings: Settings, org_id: int) -> str:
    """The full address of a member organisation's calendar feed (for the page that shows it)."""
    key = await secret_key(session, settings)
    return f"{settings.public_url.rstrip('/')}{CALENDAR_PATH}{org_id}-{calendar_token(key, org_id)}.ics"
