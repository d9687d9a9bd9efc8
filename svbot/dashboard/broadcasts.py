"""Broadcasts on the staff dashboard: compose, choose the audience, preview who it reaches, send, then
watch the delivery report.

The same service as `svbot broadcast` and the chat (svbot/support/broadcasts.py): the preview step
makes a draft broadcast, and its page says how many people and organisations it reaches and how many
it cannot (no chat svbot can write to first). "Send" queues it: one outbox row per recipient, which
the clock's dispatcher delivers. The draft's id is the form's idempotency token: `queue` flips it from
draft to queued with a conditional UPDATE, so a second press of "Send" (or a resubmitted form) adds no
rows and lands on the same delivery report. That page refreshes itself while anything is waiting.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from svbot.dashboard import auth
from svbot.dashboard.auth import Staff
from svbot.delivery.recipients import reachable_members
from svbot.models import Identity, Membership
from svbot.support import broadcasts as service
from svbot.support.models import DRAFT, Broadcast
from svbot.text import date_values, text

if TYPE_CHECKING:
    from svbot.dashboard.web import Dashboard

AUDIENCES = ("all", "overdue", "programme", "org")
PAST = 30  # past broadcasts listed


@dataclass(frozen=True, slots=True)
class Reach:
    """Who a broadcast would reach now."""

    people: int  # chat identities a message goes to (one outbox row each)
    organisations: int  # organisations with at least one of them
    audience_organisations: int  # organisations in the audience
    people_unreachable: int  # members of those organisations with no chat svbot can write to

    @property
    def organisations_unreachable(self) -> int:
        return self.audience_organisations - self.organisations


@dataclass(frozen=True, slots=True)
class Past:
    id: int
    audience: str
    message: str
    status: str
    queued_at: datetime | None
    report: service.DeliveryReport


async def reach(session: AsyncSession, support_org_id: int, audience: service.Audience, today: date) -> Reach:
    """How many the broadcast reaches, counted as `service.recipients` (what `queue` writes) counts them:
    each reachable chat identity of the audience's organisations once."""
    org_ids = await service.audience_orgs(session, support_org_id, audience, today)
    if not org_ids:
        return Reach(0, 0, 0, 0)
    reachable = await reachable_members(session, org_ids)
    people = {r.identity_id for r in reachable}
    reached_orgs = {r.organisation_id for r in reachable}
    reachable_people = (
        select(Identity.person_id).where(Identity.active.is_(True), Identity.chat_id.is_not(None)).scalar_subquery()
    )
    unreachable = await session.scalar(
        select(func.count(func.distinct(Membership.person_id))).where(
            Membership.organisation_id.in_(org_ids), Membership.person_id.not_in(reachable_people)
        )
    )
    return Reach(len(people), len(reached_orgs), len(org_ids), int(unreachable or 0))


def routes(dashboard: Dashboard) -> list[Route]:
    async def compose(
        request: Request, staff: Staff, problem: str | None = None, given: dict | None = None
    ) -> Response:
        given = dict(given or {})
        async with dashboard.bot.sessionmaker() as session:
            programmes = await service.programmes(session, staff.support_org_id)
            if not given:
                start = request.query_params.get("from") or ""
                row = await session.get(Broadcast, int(start)) if start.isdigit() else None
                if row is not None and row.support_org_id == staff.support_org_id:
                    kind, _, value = row.audience.partition(":")
                    given = {"audience": kind, "message": row.message, kind: value}
                elif (request.query_params.get("org") or "").isdigit():
                    given = {"audience": "org", "org": request.query_params["org"]}
            past = await _past(session, staff.support_org_id)
        return dashboard.page("broadcasts.html.j2", staff=staff, here="broadcasts", programmes=programmes,
                              given=given, problem=problem, past=past, limit=service.MAX_CHARS,
                              when=_when(dashboard),
                              status=400 if problem else 200)  # fmt: skip

    async def preview(request: Request, staff: Staff) -> Response:
        form = await request.form()
        given = {name: str(form.get(name) or "") for name in ("audience", "programme", "org", "message")}
        kind = given["audience"]
        value = {"programme": given["programme"].strip(), "org": given["org"].strip()}.get(kind, "")
        problem = None
        async with dashboard.bot.sessionmaker() as session, session.begin():
            try:
                if kind not in AUDIENCES:
                    raise service.BroadcastError(text("dashboard.broadcasts.choose_audience"))
                if kind == "programme" and not value:
                    raise service.BroadcastError(text("dashboard.broadcasts.need_programme"))
                if kind == "org" and not value.isdigit():
                    raise service.BroadcastError(text("dashboard.broadcasts.need_org"))
                audience = service.parse_audience(f"{kind}:{value}" if value else kind)
                message = service.check_message(given["message"])
                try:
                    found = await reach(session, staff.support_org_id, audience, dashboard.today())
                except service.BroadcastError:
                    key = "not_member" if kind == "org" else "no_such_programme"
                    raise service.BroadcastError(text(f"dashboard.broadcasts.{key}")) from None
                if not found.people:
                    what = await service.describe(session, staff.support_org_id, audience)
                    raise service.BroadcastError(text("dashboard.broadcasts.nobody", audience=what))
                row = await service.draft(session, staff.support_org_id, audience, message, now=dashboard.now())
            except service.BroadcastError as exc:
                problem = str(exc)
        if problem is not None:
            return await compose(request, staff, problem=problem, given=given)
        return RedirectResponse(f"/dashboard/broadcasts/{row.id}", status_code=303)

    async def one(request: Request, staff: Staff) -> Response:
        async with dashboard.bot.sessionmaker() as session:
            row = await _own(session, staff, request.path_params["broadcast_id"])
            if row is None:
                return dashboard.forbidden()
            audience = service.parse_audience(row.audience)
            what = await service.describe(session, row.support_org_id, audience)
            if row.status == DRAFT:
                try:
                    found = await reach(session, row.support_org_id, audience, dashboard.today())
                except service.BroadcastError:
                    found = Reach(0, 0, 0, 0)
                said = service.broadcast_message(staff.support_name, row.message).text
                return dashboard.page("broadcast_preview.html.j2", staff=staff, here="broadcasts", b=row, what=what,
                                      reach=found, said=said)  # fmt: skip
            report = await service.delivery_report(session, row.id)
        return dashboard.page("broadcast_report.html.j2", staff=staff, here="broadcasts", b=row, what=what,
                              r=report, when=_when(dashboard),
                              still=request.query_params.get("still") == "1")  # fmt: skip

    async def send(request: Request, staff: Staff) -> Response:
        broadcast_id = request.path_params["broadcast_id"]
        async with dashboard.bot.sessionmaker() as session, session.begin():
            row = await _own(session, staff, broadcast_id)
            if row is None:
                return dashboard.forbidden()
            if row.status == DRAFT:
                count = await service.queue(session, row, dashboard.now(), dashboard.today())
                if count >= 0:  # -1: it was sent already (a second press): nothing more to do
                    what = await service.describe(session, row.support_org_id, service.parse_audience(row.audience))
                    detail = text("dashboard.broadcasts.audit", audience=what, count=count)
                    await auth.audit(session, staff, "broadcast_sent", detail, dashboard.now())
        return RedirectResponse(f"/dashboard/broadcasts/{broadcast_id}", status_code=303)

    async def cancel(request: Request, staff: Staff) -> Response:
        broadcast_id = request.path_params["broadcast_id"]
        async with dashboard.bot.sessionmaker() as session, session.begin():
            if await _own(session, staff, broadcast_id) is None:
                return dashboard.forbidden()
            await session.execute(
                update(Broadcast)
                .where(Broadcast.id == broadcast_id, Broadcast.status == DRAFT)
                .values(status="cancelled")
                .execution_options(synchronize_session=False)
            )
        return RedirectResponse("/dashboard/broadcasts", status_code=303)

    return [
        Route("/dashboard/broadcasts", dashboard.signed_in(compose), methods=["GET"]),
        Route("/dashboard/broadcasts", dashboard.signed_in(preview, post=True), methods=["POST"]),
        Route("/dashboard/broadcasts/{broadcast_id:int}", dashboard.signed_in(one), methods=["GET"]),
        Route("/dashboard/broadcasts/{broadcast_id:int}/send", dashboard.signed_in(send, post=True), methods=["POST"]),
        Route(
            "/dashboard/broadcasts/{broadcast_id:int}/cancel", dashboard.signed_in(cancel, post=True), methods=["POST"]
        ),
    ]


async def _own(session: AsyncSession, staff: Staff, broadcast_id: int) -> Broadcast | None:
    """The broadcast if it is the staff member's support organisation's; None otherwise."""
    row = await session.get(Broadcast, broadcast_id)
    return row if row is not None and row.support_org_id == staff.support_org_id else None


async def _past(session: AsyncSession, support_org_id: int) -> list[Past]:
    rows = await session.scalars(
        select(Broadcast)
        .where(Broadcast.support_org_id == support_org_id, Broadcast.status.not_in((DRAFT, "cancelled")))
        .order_by(Broadcast.id.desc())
        .limit(PAST)
    )
    found = []
    for row in rows.all():
        what = await service.describe(session, support_org_id, service.parse_audience(row.audience))
        report = await service.delivery_report(session, row.id)
        found.append(Past(row.id, what, row.message, row.status, row.queued_at, report))
    return found


def _when(dashboard: Dashboard) -> Callable[[datetime | None], str]:
    """A moment as staff read it: "10 Mar 2027, 10:00" in svbot's time zone."""
    zone = ZoneInfo(dashboard.settings.timezone)

    def when(moment: datetime | None) -> str:
        if moment is None:
            return ""
        local = auth._aware(moment).astimezone(zone)
        return text("dashboard.broadcasts.when", **date_values(local.date()), time=f"{local:%H:%M}")

    return when
