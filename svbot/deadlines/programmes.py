"""Programme settings: a support organisation's record for one grant programme.

A programme is the 360Giving `Grant Programme` already on grants (`Grant.programme`). Its record says
how often its grantees report (written through to `monitoring_schedules`, which imports read), which
monitoring form their reports use, how much social value weighs in its decisions (a percentage), and
before which date deadlines are not tracked. Functions that take a session do not commit.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation

from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from svbot.deadlines.models import FREQUENCIES, MonitoringSchedule, Programme
from svbot.models import Organisation, utcnow

FORM_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")


class ProgrammeProblem(ValueError):
    """A setting that cannot be stored; the message says why, in a line."""


@dataclass(frozen=True, slots=True)
class ProgrammeSettings:
    """What to change; None leaves a setting as it is."""

    title: str | None = None
    schedule: str | None = None  # one of FREQUENCIES except "dates"
    monitoring_form: str | None = None
    weighting: Decimal | None = None  # percent, 0 to 100
    scored: bool | None = None  # was social value scored in its decisions?
    ignore_before: date | None = None


def parse_weighting(typed: str) -> Decimal:
    """"10", "12.5" or "10%" as a percentage from 0 to 100."""
    cleaned = typed.strip().rstrip("%").strip()
    try:
        value = Decimal(cleaned)
    except InvalidOperation:
        raise ProgrammeProblem(f"{typed!r} is not a percentage; write it like 10 or 12.5%") from None
    if not value.is_finite() or value < 0 or value > 100:
        raise ProgrammeProblem(f"the weighting is a percentage from 0 to 100, not {typed}")
    return value.quantize(Decimal("0.01"))


async def support_org(session: AsyncSession, support_org_id: int) -> Organisation:
    organisation = await session.get(Organisation, support_org_id)
    if organisation is None or organisation.kind != "support":
        raise ProgrammeProblem(
            f"there is no support organisation with id {support_org_id} (`svbot support create NAME` makes one)"
        )
    return organisation


async def set_programme(
    session: AsyncSession,
    support_org_id: int,
    code: str,
    settings: ProgrammeSettings,
    now: datetime | None = None,
) -> Programme:
    """Create or change the programme's record. A schedule is also written to `monitoring_schedules`
    under the code (and the title, when there is one), so the next import uses it."""
    now = now or utcnow()
    code = code.strip()
    if not code:
        raise ProgrammeProblem("a programme needs a code (the 360Giving Grant Programme code or title)")
    if len(code) > 300:
        raise ProgrammeProblem("a programme code is at most 300 characters")
    if settings.schedule is not None and settings.schedule not in FREQUENCIES[:-1]:
        raise ProgrammeProblem(f"the schedule is one of {', '.join(FREQUENCIES[:-1])}, not {settings.schedule!r}")
    if settings.monitoring_form is not None and not FORM_NAME.match(settings.monitoring_form):
        raise ProgrammeProblem(
            f"{settings.monitoring_form!r} is not a form name: letters, digits, '_', '-' or '.', like monitoring_report"
        )
    await support_org(session, support_org_id)
    row = await session.scalar(
        select(Programme).where(
            Programme.support_org_id == support_org_id, func.lower(Programme.code) == code.lower()
        )
    )
    if row is None:
        row = Programme(support_org_id=support_org_id, code=code, title="", created_at=now)
        session.add(row)
    if settings.title is not None:
        row.title = settings.title.strip()[:500]
    if settings.schedule is not None:
        row.schedule = settings.schedule
    if settings.monitoring_form is not None:
        row.monitoring_form = settings.monitoring_form
    if settings.weighting is not None:
        row.social_value_weighting = settings.weighting
    if settings.scored is not None:
        row.social_value_scored = settings.scored
    if settings.ignore_before is not None:
        row.ignore_before = settings.ignore_before
    row.updated_at = now
    if settings.schedule is not None:
        for name in dict.fromkeys(n for n in (row.code, row.title) if n):
            await _write_schedule(session, support_org_id, name, settings.schedule)
    await session.flush()
    return row


async def _write_schedule(session: AsyncSession, support_org_id: int, programme: str, frequency: str) -> None:
    schedule = await session.scalar(
        select(MonitoringSchedule).where(
            MonitoringSchedule.support_org_id == support_org_id, MonitoringSchedule.programme == programme
        )
    )
    if schedule is None:
        schedule = MonitoringSchedule(support_org_id=support_org_id, programme=programme, dates=[])
        session.add(schedule)
    schedule.frequency = frequency


async def list_programmes(session: AsyncSession, support_org_id: int) -> list[Programme]:
    """The support organisation's programmes, by code. Raises ProgrammeProblem for an unknown id."""
    await support_org(session, support_org_id)
    rows = await session.scalars(
        select(Programme).where(Programme.support_org_id == support_org_id).order_by(func.lower(Programme.code))
    )
    return list(rows)


async def find_programme(session: AsyncSession, support_org_id: int | None, programme: str) -> Programme | None:
    """The record for a grant's programme (`Grant.programme`: a 360Giving programme title or code),
    matched on code or title, ignoring case. None when it has none."""
    name = programme.strip().lower()
    if support_org_id is None or not name:
        return None
    return await session.scalar(
        select(Programme)
        .where(
            Programme.support_org_id == support_org_id,
            or_(func.lower(Programme.code) == name, func.lower(Programme.title) == name),
        )
        .order_by(Programme.id)
        .limit(1)
    )


__all__ = [
    "ProgrammeProblem",
    "ProgrammeSettings",
    "find_programme",
    "list_programmes",
    "parse_weighting",
    "set_programme",
    "support_org",
]
