"""`svbot orgs list`: member organisations with their ids, the ids other commands ask for (--org)."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from datetime import date
from zoneinfo import ZoneInfo

import click
from sqlalchemy import case, func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import aliased

from svbot.cli.common import SUPPORT_ORG_ID, FriendlyCommands, with_db
from svbot.config import get_settings
from svbot.deadlines.models import UPCOMING, Deadline
from svbot.models import Membership, Organisation, utcnow


@dataclass(frozen=True, slots=True)
class OrgRow:
    id: int
    name: str
    support: str  # the support organisation's name ("" when it has none)
    people: int
    open_deadlines: int
    overdue: int


@click.group(cls=FriendlyCommands)
def orgs() -> None:
    """Member organisations and their ids."""


@orgs.command("list")
@click.option("--support-org", "support_org_id", type=SUPPORT_ORG_ID, default=None,
              help="Only the members of this support organisation.")  # fmt: skip
@click.option("--search", default=None, help="Only organisations whose name or charity number contains this.")
def orgs_list(support_org_id: int | None, search: str | None) -> None:
    """Member organisations: id, name, their support organisation, people in svbot, open deadlines.
    A table on a terminal; tab-separated lines (with a header) when piped."""
    settings = get_settings()
    today = utcnow().astimezone(ZoneInfo(settings.timezone)).date()

    async def work(db: async_sessionmaker[AsyncSession]) -> list[OrgRow]:
        async with db() as session:
            return await member_rows(session, today, support_org_id, (search or "").strip())

    rows = with_db(work, settings)
    if not rows:
        empty = "No member organisations yet: `svbot grants import FILE` or `svbot support add-org` adds them."
        click.echo(f"No member organisation matches {search.strip()!r}." if search and search.strip() else empty)
        return
    if sys.stdout.isatty():
        _print_table(rows)
    else:  # for scripts: `svbot orgs list | cut -f1`
        click.echo("id\tname\tsupport organisation\tpeople\topen deadlines\toverdue")
        for row in rows:
            click.echo(f"{row.id}\t{row.name}\t{row.support}\t{row.people}\t{row.open_deadlines}\t{row.overdue}")


async def member_rows(session: AsyncSession, today: date, support_org_id: int | None, search: str) -> list[OrgRow]:
    """One query: each member organisation with its counts (people with a membership; open deadlines)."""
    people = (
        select(Membership.organisation_id, func.count(func.distinct(Membership.person_id)).label("n"))
        .group_by(Membership.organisation_id)
        .subquery()
    )
    due = (
        select(
            Deadline.organisation_id,
            func.count().label("open"),
            func.sum(case((Deadline.due_date < today, 1), else_=0)).label("overdue"),
        )
        .where(Deadline.status == UPCOMING)
        .group_by(Deadline.organisation_id)
        .subquery()
    )
    support = aliased(Organisation)
    query = (
        select(
            Organisation.id,
            Organisation.name,
            func.coalesce(support.name, ""),
            func.coalesce(people.c.n, 0),
            func.coalesce(due.c.open, 0),
            func.coalesce(due.c.overdue, 0),
        )
        .outerjoin(support, support.id == Organisation.support_org_id)
        .outerjoin(people, people.c.organisation_id == Organisation.id)
        .outerjoin(due, due.c.organisation_id == Organisation.id)
        .where(Organisation.kind == "member")
        .order_by(func.lower(Organisation.name), Organisation.id)
    )
    if support_org_id is not None:
        query = query.where(Organisation.support_org_id == support_org_id)
    if search:
        query = query.where(
            Organisation.name.icontains(search, autoescape=True)
            | Organisation.external_id.icontains(search, autoescape=True)
        )
    return [OrgRow(*row) for row in (await session.execute(query)).all()]


def _print_table(rows: list[OrgRow]) -> None:
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    table = Table(box=None, header_style="bold")
    table.add_column("id", justify="right")
    table.add_column("name")
    table.add_column("support organisation")
    table.add_column("people", justify="right")
    table.add_column("open deadlines", justify="right")
    for row in rows:
        # Text, not markup: a name like "[Friends] of the Park" is shown as typed.
        due = Text(str(row.open_deadlines))
        if row.overdue:
            due.append(f" ({row.overdue} overdue)", style="red")
        table.add_row(str(row.id), Text(row.name), Text(row.support), str(row.people), due)
    Console().print(table)


COMMANDS = (orgs,)
