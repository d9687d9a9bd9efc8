"""The deadlines board (/dashboard/deadlines): the support organisation's open monitoring reports by
month, overdue first, with "Mark waived" and "Extend" on each row.

The board is one bounded query: PAGE_SIZE rows at a time in due-date order (so the overdue ones lead,
oldest first), optionally starting at a chosen month, for one programme or one member. A page is then
cut into groups by month in Python. With 20,000 open deadlines a page still reads only its own rows.

Waiving and extending use the same services as `svbot deadlines waive` and `svbot deadlines extend`,
after checking the deadline belongs to one of the staff's own members (403 otherwise). Both write the
audit log. A date that cannot be read, or is not later than the current one, is said on the page next
to its row, and nothing changes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl, urlencode

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from svbot.dashboard import auth
from svbot.dashboard.auth import Staff
from svbot.dashboard.queries import programme_names
from svbot.deadlines.models import UPCOMING, Deadline, Grant
from svbot.models import Organisation
from svbot.text import date_values, text

if TYPE_CHECKING:
    from svbot.dashboard.web import Dashboard

PAGE_SIZE = 100
MONTHS_SHOWN = 24  # the month selector: this month and the next 23
VIEW_KEYS = ("from", "programme", "org", "page")  # what a board's address may say


def routes(dashboard: Dashboard) -> list[Route]:
    board = DeadlinesBoard(dashboard)
    return [
        Route("/dashboard/deadlines", dashboard.signed_in(board.show), methods=["GET"]),
        Route(
            "/dashboard/deadlines/{deadline_id:int}/waive",
            dashboard.signed_in(board.waive, post=True),
            methods=["POST"],
        ),  # fmt: skip
        Route(
            "/dashboard/deadlines/{deadline_id:int}/extend",
            dashboard.signed_in(board.extend, post=True),
            methods=["POST"],
        ),  # fmt: skip
    ]


@dataclass(frozen=True, slots=True)
class Row:
    id: int
    organisation_id: int
    organisation: str
    title: str
    grant: str
    programme: str
    due: date
    extended_from: date | None
    report: str  # "" (not started), "draft" or "submitted": the monitoring report in svbot


@dataclass(frozen=True, slots=True)
class Group:
    month: date | None  # its first day; None: the overdue ones
    rows: tuple[Row, ...]

    @property
    def key(self) -> str:
        return self.month.strftime("%Y-%m") if self.month else "overdue"


@dataclass(frozen=True, slots=True)
class View:
    """What the board shows: from which month (None: everything open, overdue first), for which
    programme and member, which page."""

    start: date | None = None
    programme: str = ""
    org_id: int | None = None
    page: int = 1

    def query(self, **changed: object) -> dict[str, str]:
        values = {"from": self.start.strftime("%Y-%m") if self.start else "", "programme": self.programme,
                  "org": str(self.org_id or ""), "page": str(self.page) if self.page > 1 else ""}  # fmt: skip
        values.update({k: "" if v is None or (k == "page" and v == 1) else str(v) for k, v in changed.items()})
        return {k: v for k, v in values.items() if v}

    def link(self, **changed: object) -> str:
        kept = self.query(**changed)
        return "/dashboard/deadlines" + ("?" + urlencode(kept) if kept else "")


@dataclass(frozen=True, slots=True)
class Board:
    view: View
    groups: tuple[Group, ...]
    total: int  # open reports the view matches
    overdue: int  # of them, overdue
    pages: int
    programmes: tuple[str, ...]
    months: tuple[date, ...]  # the month selector's choices
    member_name: str  # the chosen member's, or ""


async def read_board(session: AsyncSession, support_org_id: int, today: date, view: View) -> Board:
    """One page of the board: at most PAGE_SIZE open deadlines, in due-date order, grouped by month."""
    from svbot.monitoring import MonitoringReport

    # Two steps: the page's deadline ids (a narrow query: the sort reads only deadlines), then their
    # details for those ids alone. The grants table is joined only to filter by programme.
    base = (
        select()
        .select_from(Deadline)
        .join(Organisation, Organisation.id == Deadline.organisation_id)
        .where(Organisation.support_org_id == support_org_id, Deadline.status == UPCOMING)
    )
    if view.start is not None:
        base = base.where(Deadline.due_date >= view.start)
    if view.programme:
        base = base.join(Grant, Grant.id == Deadline.grant_id).where(Grant.programme == view.programme)
    if view.org_id is not None:
        base = base.where(Deadline.organisation_id == view.org_id)
    total, overdue = (
        await session.execute(base.add_columns(func.count(), func.count().filter(Deadline.due_date < today)))
    ).one()
    pages = max(1, -(-(total or 0) // PAGE_SIZE))
    page = min(max(1, view.page), pages)
    ids = list(
        await session.scalars(
            base.add_columns(Deadline.id)
            .order_by(Deadline.due_date, Deadline.id)
            .offset((page - 1) * PAGE_SIZE)
            .limit(PAGE_SIZE)
        )
    )
    found = await session.execute(
        select(
            Deadline.id,
            Deadline.organisation_id,
            Organisation.name,
            Deadline.title,
            Grant.title,
            Grant.external_id,
            Grant.programme,
            Deadline.due_date,
            Deadline.extended_from,
            MonitoringReport.status,
        )
        .join(Organisation, Organisation.id == Deadline.organisation_id)
        .join(Grant, Grant.id == Deadline.grant_id)
        .outerjoin(MonitoringReport, MonitoringReport.deadline_id == Deadline.id)
        .where(Deadline.id.in_(ids))
        .order_by(Deadline.due_date, Deadline.id)
    )
    groups: list[Group] = []
    current: list[Row] = []
    month: date | None = None
    for d_id, org_id, org_name, title, grant, reference, programme, due, extended_from, report in found.all():
        key = None if due < today else due.replace(day=1)
        if current and key != month:
            groups.append(Group(month, tuple(current)))
            current = []
        month = key
        current.append(Row(d_id, org_id, org_name or "", title, grant or reference, programme or "", due,
                           extended_from, report or ""))  # fmt: skip
    if current:
        groups.append(Group(month, tuple(current)))
    programmes = await programme_names(session, support_org_id)
    member_name = ""
    if view.org_id is not None:
        member_name = await session.scalar(select(Organisation.name).where(Organisation.id == view.org_id)) or ""
    first = today.replace(day=1)
    months = tuple(_add_months(first, n) for n in range(MONTHS_SHOWN))
    return Board(View(view.start, view.programme, view.org_id, page), tuple(groups), total or 0, overdue or 0,
                 pages, programmes, months, member_name)  # fmt: skip


class DeadlinesBoard:
    def __init__(self, dashboard: Dashboard) -> None:
        self.dashboard = dashboard

    async def show(self, request: Request, staff: Staff) -> Response:
        view = _read_view(request.query_params)
        if view.org_id is not None and not await self._ours(staff, view.org_id):
            return self.dashboard.forbidden()
        done = None
        params = request.query_params
        if params.get("done") in ("waived", "extended") and (params.get("d") or "").isdigit():
            done = await self._done_line(staff, params["done"], int(params["d"]))
        return await self._page(staff, view, done=done)

    async def waive(self, request: Request, staff: Staff) -> Response:
        from svbot.deadlines.service import waive_by_operator

        form = await request.form()
        view = _read_view(dict(parse_qsl(str(form.get("view") or ""))))
        deadline_id = request.path_params["deadline_id"]
        now = self.dashboard.now()
        async with self.dashboard.bot.sessionmaker() as session, session.begin():
            found = await _our_deadline(session, staff, deadline_id)
            if found is None:
                return self.dashboard.forbidden()
            deadline, org_name = found
            closed = deadline.status if deadline.status != UPCOMING else None
            if closed is None:
                await waive_by_operator(session, deadline_id, now)
                await auth.audit(session, staff, "deadline_waived", f"{deadline.title}, {org_name}", now)
        if closed is not None:
            return await self._page(staff, view, status=409, problem=_closed(closed))
        return RedirectResponse(view.link(done="waived", d=deadline_id), status_code=303)

    async def extend(self, request: Request, staff: Staff) -> Response:
        from svbot.deadlines.service import extend
        from svbot.dialogue.answers import Invalid, parse_date

        form = await request.form()
        view = _read_view(dict(parse_qsl(str(form.get("view") or ""))))
        typed = " ".join(str(form.get("due") or "").split())[:100]
        deadline_id = request.path_params["deadline_id"]
        now, today = self.dashboard.now(), self.dashboard.today()
        problem: tuple[int, str, tuple[int, str] | None] | None = None  # (status, what to say, the row)
        async with self.dashboard.bot.sessionmaker() as session, session.begin():
            found = await _our_deadline(session, staff, deadline_id)
            if found is None:
                return self.dashboard.forbidden()
            deadline, org_name = found
            try:
                due = date.fromisoformat(parse_date(typed, today).value)
            except Invalid as exc:
                due = None
                said = text("dashboard.deadlines.bad_date", reason=exc.reason, example=exc.example or "")
                problem = 400, said, (deadline_id, typed)
            if deadline.status != UPCOMING:
                problem = 409, _closed(deadline.status), None
            elif due is not None and due <= deadline.due_date:
                said = text("dashboard.deadlines.not_later", date=_day(deadline.due_date))
                problem = 400, said, (deadline_id, typed)
            elif due is not None:
                was = deadline.due_date
                await extend(session, deadline_id, due, now, self.dashboard.settings.timezone)
                detail = text("dashboard.deadlines.extended_detail", report=deadline.title, organisation=org_name,
                              due=_day(due), was=_day(was))  # fmt: skip
                await auth.audit(session, staff, "deadline_extended", detail, now)
        if problem is not None:
            status, said, row = problem
            return await self._page(staff, view, status=status, problem=said, row=row)
        return RedirectResponse(view.link(done="extended", d=deadline_id), status_code=303)

    # ---- helpers ---------------------------------------------------------------------------------

    async def _page(
        self,
        staff: Staff,
        view: View,
        *,
        status: int = 200,
        done: str | None = None,
        problem: str | None = None,
        row: tuple[int, str] | None = None,  # the row whose typed date was refused, and what was typed
    ) -> Response:

        async with self.dashboard.bot.sessionmaker() as session, session.begin():
            board = await read_board(session, staff.support_org_id, self.dashboard.today(), view)
            calendar_url = (
                await auth.calendar_url(session, self.dashboard.settings, view.org_id)
                if view.org_id is not None
                else ""
            )  # fmt: skip
        return self.dashboard.page(
            "deadlines.html.j2", status=status, staff=staff, b=board, here="deadlines", today=self.dashboard.today(),
            done=done, problem=problem, bad_row=row, view_query=urlencode(board.view.query()),
            calendar_url=calendar_url, calendar_name=board.member_name,
        )  # fmt: skip

    async def _ours(self, staff: Staff, org_id: int) -> bool:
        async with self.dashboard.bot.sessionmaker() as session:
            org = await session.get(Organisation, org_id)
        return org is not None and org.support_org_id == staff.support_org_id

    async def _done_line(self, staff: Staff, done: str, deadline_id: int) -> str | None:
        """What the last action did, said above the board (after the redirect that follows it)."""
        async with self.dashboard.bot.sessionmaker() as session:
            found = await _our_deadline(session, staff, deadline_id)
        if found is None:
            return None
        deadline, org_name = found
        if done == "waived":
            return text("dashboard.deadlines.done_waived", report=deadline.title, organisation=org_name)
        return text("dashboard.deadlines.done_extended", report=deadline.title, organisation=org_name,
                    due=_day(deadline.due_date))  # fmt: skip


async def _our_deadline(session: AsyncSession, staff: Staff, deadline_id: int) -> tuple[Deadline, str] | None:
    """The deadline and its organisation's name, when it is one of the staff's own members'."""
    if deadline_id >= 2**31:  # no such id; PostgreSQL would refuse to compare it
        return None
    row = (
        await session.execute(
            select(Deadline, Organisation.name)
            .join(Organisation, Organisation.id == Deadline.organisation_id)
            .where(Deadline.id == deadline_id, Organisation.support_org_id == staff.support_org_id)
        )
    ).first()
    return (row[0], row[1] or "") if row is not None else None


def _read_view(params: object) -> View:
    get = params.get  # type: ignore[attr-defined]
    start = None
    chosen = str(get("from") or "")
    if len(chosen) == 7:
        try:
            start = date.fromisoformat(chosen + "-01")
        except ValueError:
            start = None
    org = str(get("org") or "")
    page = str(get("page") or "")
    return View(
        start=start,
        programme=str(get("programme") or "")[:300],
        org_id=int(org) if org.isdigit() and int(org) < 2**31 else None,
        page=int(page) if page.isdigit() and len(page) < 7 else 1,
    )


def _closed(status: str) -> str:
    return text("dashboard.deadlines.closed", status=text(f"dashboard.status.{status}"))


def _day(day: date) -> str:
    return text("dates.day", **date_values(day))


def _add_months(day: date, months: int) -> date:
    month = day.month - 1 + months
    return day.replace(year=day.year + month // 12, month=month % 12 + 1, day=1)
