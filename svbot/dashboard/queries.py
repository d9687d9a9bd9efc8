"""What the dashboard's pages show, read for one support organisation. Each page is a few aggregate
queries, bounded by the page it shows (PAGE_SIZE members at a time), so they stay quick at thousands
of members (bench/dashboard.py measures them)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import and_, exists, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from svbot.dashboard.models import AuditEntry
from svbot.deadlines.models import SUBMITTED, UPCOMING, Deadline, Grant
from svbot.evidence import StatementRecord
from svbot.models import Membership, Organisation, Person

PAGE_SIZE = 50
CHART_MONTHS = 6
RECENT_ACTIONS = 10


@dataclass(frozen=True, slots=True)
class MonthCount:
    month: date  # its first day
    due: int


@dataclass(frozen=True, slots=True)
class Overview:
    members: int
    without_people: int
    due_this_month: int
    overdue: int
    overdue_members: int
    submitted_last_year: int
    statements_shared: int
    months: tuple[MonthCount, ...]
    actions: tuple[tuple[str, str, str, object], ...]  # (who, action, detail, when)

    @property
    def busiest(self) -> int:
        return max((m.due for m in self.months), default=0)


async def overview(session: AsyncSession, support_org_id: int, today: date) -> Overview:
    members = select(Organisation.id).where(Organisation.support_org_id == support_org_id).scalar_subquery()
    member_count = await session.scalar(
        select(func.count()).select_from(Organisation).where(Organisation.support_org_id == support_org_id)
    )
    without_people = await session.scalar(
        select(func.count())
        .select_from(Organisation)
        .where(Organisation.support_org_id == support_org_id, ~_has_people())
    )
    month_start = today.replace(day=1)
    month_end = _add_months(month_start, 1) - timedelta(days=1)
    chart_end = _add_months(month_start, CHART_MONTHS)
    open_deadlines = and_(Deadline.organisation_id.in_(members), Deadline.status == UPCOMING)
    counts = (
        await session.execute(
            select(
                func.count().filter(and_(Deadline.due_date >= today, Deadline.due_date <= month_end)),
                func.count().filter(Deadline.due_date < today),
                func.count(func.distinct(Deadline.organisation_id)).filter(Deadline.due_date < today),
            ).where(open_deadlines)
        )
    ).one()
    submitted = await session.scalar(
        select(func.count()).where(
            Deadline.organisation_id.in_(members),
            Deadline.status == SUBMITTED,
            Deadline.due_date >= today - timedelta(days=365),
        )
    )
    shared = await session.scalar(
        select(func.count(func.distinct(StatementRecord.organisation_id))).where(
            StatementRecord.organisation_id.in_(members), StatementRecord.shared.is_(True)
        )
    )
    by_month: dict[date, int] = {}
    rows = await session.execute(
        select(Deadline.due_date).where(open_deadlines, Deadline.due_date >= month_start, Deadline.due_date < chart_end)
    )
    for (due,) in rows.all():
        first = due.replace(day=1)
        by_month[first] = by_month.get(first, 0) + 1
    months = tuple(
        MonthCount(m, by_month.get(m, 0)) for m in (_add_months(month_start, i) for i in range(CHART_MONTHS))
    )
    actions = await session.execute(
        select(Person.display_name, AuditEntry.action, AuditEntry.detail, AuditEntry.at)
        .outerjoin(Person, Person.id == AuditEntry.person_id)
        .where(AuditEntry.support_org_id == support_org_id)
        .order_by(AuditEntry.at.desc(), AuditEntry.id.desc())
        .limit(RECENT_ACTIONS)
    )
    return Overview(
        members=member_count or 0,
        without_people=without_people or 0,
        due_this_month=counts[0] or 0,
        overdue=counts[1] or 0,
        overdue_members=counts[2] or 0,
        submitted_last_year=submitted or 0,
        statements_shared=shared or 0,
        months=months,
        actions=tuple((name or "", action, detail, at) for name, action, detail, at in actions.all()),
    )


@dataclass(frozen=True, slots=True)
class MemberRow:
    id: int
    name: str
    people: int
    overdue: int
    due_soon: int
    next_due: date | None


@dataclass(frozen=True, slots=True)
class MemberPage:
    rows: tuple[MemberRow, ...]
    total: int
    page: int
    pages: int
    query: str = ""
    show: str = ""  # "", "overdue" or "no_people"
    programmes: tuple[str, ...] = field(default=())
    programme: str = ""


FILTERS = ("", "overdue", "no_people")


async def members(
    session: AsyncSession,
    support_org_id: int,
    today: date,
    *,
    query: str = "",
    show: str = "",
    programme: str = "",
    page: int = 1,
) -> MemberPage:
    """One page of members, by name, searched and filtered."""
    where = [Organisation.support_org_id == support_org_id]
    wanted = query.strip()[:100]
    if wanted:
        where.append(func.lower(Organisation.name).contains(wanted.lower(), autoescape=True))
    if show == "overdue":
        where.append(
            exists().where(
                Deadline.organisation_id == Organisation.id, Deadline.status == UPCOMING, Deadline.due_date < today
            )  # fmt: skip
        )
    elif show == "no_people":
        where.append(~_has_people())
    if programme:
        where.append(exists().where(Grant.organisation_id == Organisation.id, Grant.programme == programme))
    total = await session.scalar(select(func.count()).select_from(Organisation).where(*where)) or 0
    pages = max(1, -(-total // PAGE_SIZE))
    page = min(max(1, page), pages)
    found = list(
        await session.execute(
            select(Organisation.id, Organisation.name)
            .where(*where)
            .order_by(func.lower(Organisation.name), Organisation.id)
            .offset((page - 1) * PAGE_SIZE)
            .limit(PAGE_SIZE)
        )
    )
    ids = [org_id for org_id, _ in found]
    deadline_counts = {
        org_id: (late or 0, soon or 0, next_due)
        for org_id, late, soon, next_due in await session.execute(
            select(
                Deadline.organisation_id,
                func.count().filter(Deadline.due_date < today),
                func.count().filter(and_(Deadline.due_date >= today, Deadline.due_date <= today + timedelta(days=30))),
                func.min(Deadline.due_date).filter(Deadline.due_date >= today),
            )
            .where(Deadline.organisation_id.in_(ids), Deadline.status == UPCOMING)
            .group_by(Deadline.organisation_id)
        )
    }
    people = dict(
        (
            await session.execute(
                select(Membership.organisation_id, func.count())
                .where(Membership.organisation_id.in_(ids))
                .group_by(Membership.organisation_id)
            )
        ).all()
    )
    programmes = await programme_names(session, support_org_id)
    rows = tuple(
        MemberRow(org_id, name, people.get(org_id, 0), *deadline_counts.get(org_id, (0, 0, None)))
        for org_id, name in found
    )
    return MemberPage(rows, total, page, pages, wanted, show if show in FILTERS else "", programmes, programme)


async def programme_names(session: AsyncSession, support_org_id: int) -> tuple[str, ...]:
    """The grant programmes of the support organisation's grants, by name (for the pages' filters)."""
    found = await session.execute(
        select(Grant.programme)
        .where(Grant.support_org_id == support_org_id, Grant.programme != "")
        .distinct()
        .order_by(Grant.programme)
        .limit(200)
    )
    return tuple(name for (name,) in found)


def _has_people():  # type: ignore[no-untyped-def]
    return exists().where(Membership.organisation_id == Organisation.id)


def _add_months(day: date, months: int) -> date:
    month = day.month - 1 + months
    return day.replace(year=day.year + month // 12, month=month % 12 + 1, day=1)


@dataclass(frozen=True, slots=True)
class MemberDetail:
    id: int
    name: str
    grants: tuple[Grant, ...]
    deadlines: tuple[Deadline, ...]
    people: tuple[tuple[str, str], ...]  # (name, role)
    invites: tuple[tuple[int, str, int, int, object], ...]  # (id, role, uses, max uses, expires)
    shared_statement_id: int | None


async def member(session: AsyncSession, support_org_id: int, org_id: int, now: datetime) -> MemberDetail | None:
    """One member organisation's page; None when it is not this support organisation's member."""
    from svbot.support.models import Invite

    org = await session.get(Organisation, org_id)
    if org is None or org.support_org_id != support_org_id:
        return None
    grants = tuple(await session.scalars(select(Grant).where(Grant.organisation_id == org_id).order_by(Grant.title)))
    deadlines = tuple(
        await session.scalars(
            select(Deadline).where(Deadline.organisation_id == org_id).order_by(Deadline.due_date).limit(200)
        )
    )
    people = tuple(
        (name or "", role)
        for name, role in await session.execute(
            select(Person.display_name, Membership.role)
            .join(Person, Person.id == Membership.person_id)
            .where(Membership.organisation_id == org_id)
            .order_by(Person.display_name)
        )
    )
    invites = tuple(
        (i.id, i.role, i.uses, i.max_uses, i.expires_at)
        for i in await session.scalars(
            select(Invite).where(Invite.organisation_id == org_id).order_by(Invite.id.desc())
        )
        if i.uses < i.max_uses and _aware(i.expires_at) > now
    )
    shared = await session.scalar(
        select(func.max(StatementRecord.id)).where(
            StatementRecord.organisation_id == org_id, StatementRecord.shared.is_(True)
        )  # fmt: skip
    )
    return MemberDetail(org.id, org.name, grants, deadlines, people, invites, shared)


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
