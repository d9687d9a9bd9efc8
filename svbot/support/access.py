"""Who may see and do what. Every support feature asks here before it reads or writes.

The rules:
- A person sees their own organisations (any role).
- An `org_admin` also manages their organisation: invites colleagues, shares its statement.
- Anyone of a member organisation (`member` or `org_admin`) may share its latest monitoring report,
  or stop sharing its reports: the people who write the report decide.
- A `support_admin` of a support organisation sees its member organisations' deadline status (and
  whether each open report is submitted, drafted or not started), and the statements and monitoring
  reports those members chose to share; never their unshared statements or reports, their answers,
  or anything of another support organisation's members.

Ids arriving in buttons and commands are untrusted: each function takes the acting person's id
and checks it against memberships in the database, and answers "no" (None / False) for an id that
does not exist as well as for one the person may not see, so a guess learns nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import and_, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from svbot.deadlines.models import SUBMITTED, UPCOMING, Deadline
from svbot.deadlines.service import DUE_SOON_DAYS
from svbot.evidence import StatementRecord
from svbot.models import Membership, Organisation
from svbot.support.models import MEMBER, ORG_ADMIN, ROLES, SUPPORT_ADMIN

if TYPE_CHECKING:
    from svbot.monitoring import MonitoringReport

RANK = {MEMBER: 0, ORG_ADMIN: 1, SUPPORT_ADMIN: 2}
RECENTLY_SUBMITTED_DAYS = 92  # `members` counts reports submitted in about the last quarter


def roles_for(organisation: Organisation) -> tuple[str, ...]:
    """The roles a person can hold in this kind of organisation."""
    return (MEMBER, SUPPORT_ADMIN) if organisation.kind == "support" else (MEMBER, ORG_ADMIN)


async def role_in(session: AsyncSession, person_id: int, organisation_id: int) -> str | None:
    return await session.scalar(
        select(Membership.role).where(Membership.person_id == person_id, Membership.organisation_id == organisation_id)
    )


async def organisations_of(session: AsyncSession, person_id: int) -> list[tuple[Organisation, str]]:
    """The person's organisations with their role in each, by name."""
    rows = await session.execute(
        select(Organisation, Membership.role)
        .join(Membership, Membership.organisation_id == Organisation.id)
        .where(Membership.person_id == person_id)
        .order_by(Organisation.name, Organisation.id)
    )
    return [(organisation, role) for organisation, role in rows.all()]


async def admin_support_orgs(session: AsyncSession, person_id: int) -> list[Organisation]:
    """The support organisations this person administers."""
    rows = await session.scalars(
        select(Organisation)
        .join(Membership, Membership.organisation_id == Organisation.id)
        .where(
            Membership.person_id == person_id,
            Membership.role == SUPPORT_ADMIN,
            Organisation.kind == "support",
        )
        .order_by(Organisation.name, Organisation.id)
    )
    return list(rows.all())


async def is_support_admin(session: AsyncSession, person_id: int, support_org_id: int) -> bool:
    return await role_in(session, person_id, support_org_id) == SUPPORT_ADMIN


async def member_org(session: AsyncSession, support_org_id: int, organisation_id: int) -> Organisation | None:
    """The organisation, if it is a member of this support organisation."""
    organisation = await session.get(Organisation, organisation_id)
    if organisation is None or organisation.support_org_id != support_org_id:
        return None
    return organisation


async def member_orgs(session: AsyncSession, support_org_id: int) -> list[Organisation]:
    rows = await session.scalars(
        select(Organisation)
        .where(Organisation.support_org_id == support_org_id)
        .order_by(Organisation.name, Organisation.id)
    )
    return list(rows.all())


async def supporting_admin(session: AsyncSession, person_id: int, organisation_id: int) -> Organisation | None:
    """The member organisation, if this person is a support admin of its support organisation."""
    organisation = await session.get(Organisation, organisation_id)
    if organisation is None or organisation.support_org_id is None:
        return None
    if not await is_support_admin(session, person_id, organisation.support_org_id):
        return None
    return organisation


async def can_manage(session: AsyncSession, person_id: int, organisation_id: int) -> bool:
    """An org_admin of it, a support admin of it (a support organisation), or of its support organisation."""
    role = await role_in(session, person_id, organisation_id)
    if role in (ORG_ADMIN, SUPPORT_ADMIN):
        return True
    return await supporting_admin(session, person_id, organisation_id) is not None


async def can_invite(session: AsyncSession, person_id: int, organisation_id: int, role: str) -> bool:
    """May this person hand out a code that makes someone `role` in the organisation?"""
    organisation = await session.get(Organisation, organisation_id)
    if organisation is None or role not in roles_for(organisation):
        return False
    own = await role_in(session, person_id, organisation_id)
    if own == SUPPORT_ADMIN:
        return True
    if own == ORG_ADMIN:
        return role in (MEMBER, ORG_ADMIN)
    return await supporting_admin(session, person_id, organisation_id) is not None


async def visible_statement(session: AsyncSession, person_id: int, statement_id: int) -> StatementRecord | None:
    """A statement this person may read: their own organisation's, or a member's shared one if
    they support it. None for every other id, existing or not."""
    record = await session.get(StatementRecord, statement_id)
    return record if record is not None and await _may_read(session, person_id, record) else None


async def latest_shared_statement(session: AsyncSession, organisation_id: int) -> StatementRecord | None:
    return await session.scalar(
        select(StatementRecord)
        .where(StatementRecord.organisation_id == organisation_id, StatementRecord.shared.is_(True))
        .order_by(StatementRecord.created_at.desc(), StatementRecord.id.desc())
        .limit(1)
    )


async def can_share_report(session: AsyncSession, person_id: int, organisation_id: int) -> bool:
    """May this person share (or stop sharing) the organisation's monitoring reports? Anyone of a
    member organisation: its admin or a member."""
    organisation = await session.get(Organisation, organisation_id)
    if organisation is None or organisation.kind == "support":
        return False
    return await role_in(session, person_id, organisation_id) in (MEMBER, ORG_ADMIN)


async def visible_report(session: AsyncSession, person_id: int, report_id: int) -> MonitoringReport | None:
    """A monitoring report this person may read: their own organisation's, or a member's shared one
    if they support it. None for every other id, existing or not (the same rule as statements)."""
    from svbot.monitoring import MonitoringReport

    record = await session.get(MonitoringReport, report_id)
    return record if record is not None and await _may_read(session, person_id, record) else None


async def _may_read(session: AsyncSession, person_id: int, record: StatementRecord | MonitoringReport) -> bool:
    """The rule for what an organisation writes: its own people read it; its support organisation's
    admins read it once it is shared."""
    if await role_in(session, person_id, record.organisation_id) is not None:
        return True
    return bool(record.shared) and await supporting_admin(session, person_id, record.organisation_id) is not None


async def shared_reports(session: AsyncSession, organisation_id: int) -> list[MonitoringReport]:
    """The organisation's shared monitoring reports, latest first."""
    from svbot.monitoring import MonitoringReport

    rows = await session.scalars(
        select(MonitoringReport)
        .where(MonitoringReport.organisation_id == organisation_id, MonitoringReport.shared.is_(True))
        .order_by(MonitoringReport.updated_at.desc(), MonitoringReport.id.desc())
    )
    return list(rows.all())


@dataclass(frozen=True, slots=True)
class MemberStatus:
    """What a support admin sees of one member: deadline counts, how far its reports have got (the
    open ones due by the "due soon" day drafted or not started, and those submitted in about the
    last quarter), and whether it shared a statement."""

    organisation_id: int
    name: str
    overdue: int
    due_soon: int
    shared_statement_id: int | None
    submitted: int = 0
    drafted: int = 0
    not_started: int = 0


async def member_statuses(
    session: AsyncSession, person_id: int, support_org_id: int, today: date
) -> list[MemberStatus] | None:
    """Every member's deadline status, for a support admin of `support_org_id`; None for anyone else."""
    if not await is_support_admin(session, person_id, support_org_id):
        return None
    counts = await session.execute(
        select(
            Deadline.organisation_id,
            func.count().filter(Deadline.due_date < today),
            func.count().filter(and_(Deadline.due_date >= today, Deadline.due_date <= _soon(today))),
        )
        .join(Organisation, Organisation.id == Deadline.organisation_id)
        .where(Organisation.support_org_id == support_org_id, Deadline.status == UPCOMING)
        .group_by(Deadline.organisation_id)
    )
    by_org = {org_id: (late or 0, soon or 0) for org_id, late, soon in counts.all()}
    shared = await session.execute(
        select(StatementRecord.organisation_id, func.max(StatementRecord.id))
        .join(Organisation, Organisation.id == StatementRecord.organisation_id)
        .where(Organisation.support_org_id == support_org_id, StatementRecord.shared.is_(True))
        .group_by(StatementRecord.organisation_id)
    )
    shared_by_org = dict(shared.all())
    reports = await report_progress(session, support_org_id, today)
    return [
        MemberStatus(o.id, o.name, *by_org.get(o.id, (0, 0)), shared_by_org.get(o.id), *reports.get(o.id, (0, 0, 0)))
        for o in await member_orgs(session, support_org_id)
    ]


async def report_progress(session: AsyncSession, support_org_id: int, today: date) -> dict[int, tuple[int, int, int]]:
    """Per member organisation: (submitted, drafted, not started). Drafted and not started count the
    open reports due by the "due soon" day (a draft in `monitoring_reports` or none); submitted counts
    the reports marked submitted in the last RECENTLY_SUBMITTED_DAYS days."""
    from svbot.monitoring import MonitoringReport

    since = datetime.combine(today - timedelta(days=RECENTLY_SUBMITTED_DAYS), time.min, tzinfo=UTC)
    rows = await session.execute(
        select(Deadline.organisation_id, Deadline.status, Deadline.status_at, Deadline.due_date, MonitoringReport.id)
        .join(Organisation, Organisation.id == Deadline.organisation_id)
        .outerjoin(MonitoringReport, MonitoringReport.deadline_id == Deadline.id)
        .where(Organisation.support_org_id == support_org_id, Deadline.status.in_((UPCOMING, SUBMITTED)))
    )
    found: dict[int, list[int]] = {}
    for org_id, status, status_at, due_date, report_id in rows.all():
        counts = found.setdefault(org_id, [0, 0, 0])
        if status == SUBMITTED:
            if status_at is not None and _aware(status_at) >= since:
                counts[0] += 1
        elif due_date > _soon(today):
            continue  # not due yet: not one of the reports to write now
        elif report_id is not None:
            counts[1] += 1
        else:
            counts[2] += 1
    return {org_id: (c[0], c[1], c[2]) for org_id, c in found.items()}


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _soon(today: date) -> date:
    return today + timedelta(days=DUE_SOON_DAYS)


__all__ = [
    "MemberStatus",
    "ROLES",
    "admin_support_orgs",
    "can_invite",
    "can_manage",
    "can_share_report",
    "is_support_admin",
    "latest_shared_statement",
    "member_org",
    "member_orgs",
    "member_statuses",
    "organisations_of",
    "role_in",
    "report_progress",
    "roles_for",
    "shared_reports",
    "supporting_admin",
    "visible_report",
    "visible_statement",
]
