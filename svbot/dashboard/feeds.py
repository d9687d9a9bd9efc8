"""What the dashboard gives to other programs: the members as CSV (for a spreadsheet), and each member
organisation's deadlines as an iCalendar feed a calendar app subscribes to.

Calendar apps cannot sign in, so a feed's address carries its own secret: an HMAC of the organisation's
id under the dashboard's signing key (`auth.secret_key`). Nobody can work out one organisation's
address from another's; a wrong token is 404, as if there were no such feed. Changing
SVBOT_SECRET_KEY changes every address (and signs everyone out).

The CSV guards against formula injection: a cell a spreadsheet would read as a formula (it starts with
= + - @, a tab or a carriage return) is written with a ' in front.
"""

from __future__ import annotations

import csv
import hmac
import io
from datetime import date
from typing import TYPE_CHECKING

from sqlalchemy import and_, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from svbot.dashboard import auth
from svbot.dashboard.auth import CALENDAR_PATH, SecretKeyMissing, Staff, calendar_token
from svbot.deadlines.models import UPCOMING, Deadline
from svbot.models import Membership, Organisation
from svbot.text import text

if TYPE_CHECKING:
    from svbot.dashboard.web import Dashboard

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def routes(dashboard: Dashboard) -> list[Route]:
    feeds = Feeds(dashboard)
    return [
        Route("/dashboard/members.csv", dashboard.signed_in(feeds.members_csv), methods=["GET"]),
        Route(CALENDAR_PATH + "{org_id:int}-{token}.ics", feeds.calendar, methods=["GET"]),
    ]


class Feeds:
    def __init__(self, dashboard: Dashboard) -> None:
        self.dashboard = dashboard

    async def members_csv(self, request: Request, staff: Staff) -> Response:
        today = self.dashboard.today()
        async with self.dashboard.bot.sessionmaker() as session:
            rows = await member_rows(session, staff.support_org_id, today)
        out = io.StringIO()
        out.write("\ufeff")  # a byte order mark, so Excel reads the names as UTF-8
        writer = csv.writer(out, lineterminator="\r\n")
        writer.writerow([text(f"dashboard.deadlines.csv.{column}") for column in COLUMNS])
        for name, people, open_reports, overdue, next_due in rows:
            writer.writerow([safe_cell(name), people, open_reports, overdue, next_due.isoformat() if next_due else ""])
        return Response(
            out.getvalue(),
            media_type="text/csv; charset=utf-8",
            headers={
                "Content-Disposition": f'attachment; filename="members-{today.isoformat()}.csv"',
                "Cache-Control": "no-store",
                "X-Content-Type-Options": "nosniff",
            },
        )

    async def calendar(self, request: Request) -> Response:
        from svbot.deadlines.ics import deadlines_ics
        from svbot.deadlines.service import deadlines_for_org

        org_id, token = request.path_params["org_id"], str(request.path_params["token"])
        async with self.dashboard.bot.sessionmaker() as session, session.begin():
            try:
                key = await auth.secret_key(session, self.dashboard.settings)
            except SecretKeyMissing:
                return Response(status_code=503)
            if org_id >= 2**31 or not hmac.compare_digest(token.encode(), calendar_token(key, org_id).encode()):
                return _not_found()
            organisation = await session.get(Organisation, org_id)
            if organisation is None or organisation.kind != "member":
                return _not_found()
            items = await deadlines_for_org(session, org_id)
            name = text("dashboard.deadlines.calendar.name", organisation=organisation.name)
        domain = self.dashboard.settings.public_url.split("//", 1)[-1].split("/", 1)[0] or "svbot"
        body = deadlines_ics(items, name, self.dashboard.now(), domain=domain)
        return Response(
            body,
            media_type="text/calendar; charset=utf-8",
            headers={
                "Content-Disposition": f'inline; filename="deadlines-{org_id}.ics"',
                "Cache-Control": "private, max-age=3600",
                "Referrer-Policy": "no-referrer",
                "X-Content-Type-Options": "nosniff",
            },
        )


COLUMNS = ("name", "people", "open_reports", "overdue", "next_due")


async def member_rows(
    session: AsyncSession, support_org_id: int, today: date
) -> list[tuple[str, int, int, int, date | None]]:
    """Every member organisation, by name: (name, people joined, open reports, overdue, next due date)."""
    ours = Organisation.support_org_id == support_org_id
    members = list(
        await session.execute(
            select(Organisation.id, Organisation.name)
            .where(ours)
            .order_by(func.lower(Organisation.name), Organisation.id)
        )
    )
    reports = {
        org_id: (open_reports or 0, overdue or 0, next_due)
        for org_id, open_reports, overdue, next_due in await session.execute(
            select(
                Deadline.organisation_id,
                func.count(),
                func.count().filter(Deadline.due_date < today),
                func.min(Deadline.due_date).filter(Deadline.due_date >= today),
            )
            .join(Organisation, and_(Organisation.id == Deadline.organisation_id, ours))
            .where(Deadline.status == UPCOMING)
            .group_by(Deadline.organisation_id)
        )
    }
    people = dict(
        (
            await session.execute(
                select(Membership.organisation_id, func.count())
                .join(Organisation, and_(Organisation.id == Membership.organisation_id, ours))
                .group_by(Membership.organisation_id)
            )
        ).all()
    )
    return [(name or "", people.get(org_id, 0), *reports.get(org_id, (0, 0, None))) for org_id, name in members]


def safe_cell(value: str) -> str:
    """A cell a spreadsheet will show as it is, never run as a formula."""
    return "'" + value if value.startswith(FORMULA_STARTS) else value


def _not_found() -> Response:
    return Response(status_code=404, headers={"Cache-Control": "no-store"})
