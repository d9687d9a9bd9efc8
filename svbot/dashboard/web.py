"""The staff dashboard's pages, served by `svbot serve` under /dashboard: Starlette routes and Jinja2
templates, no JavaScript and no CDN (the one stylesheet is served from here).

Every page needs a signed-in staff member (svbot/dashboard/auth.py) and shows only their support
organisation; another's member page is 403. Every form carries the session's CSRF token, and a POST
without it is refused (403) before anything changes. Words are svbot's texts (`dashboard.*`).
"""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from jinja2 import FileSystemLoader, StrictUndefined, select_autoescape
from jinja2.sandbox import SandboxedEnvironment
from markupsafe import Markup, escape
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from svbot import text as texts
from svbot.config import Settings
from svbot.dashboard import auth, queries
from svbot.dashboard.auth import COOKIE, SecretKeyMissing, Staff
from svbot.statements.text import format_count
from svbot.text import date_values, text
from svbot.turns import Bot

HERE = Path(__file__).resolve().parent
STYLESHEET = HERE / "static" / "dashboard.css"
Page = Callable[[Request, Staff], Awaitable[Response]]


class Dashboard:
    """The routes, with the bot (its database and clock) and the settings."""

    def __init__(self, bot: Bot, settings: Settings) -> None:
        self.bot = bot
        self.settings = settings
        self.templates = _environment()
        self.secure = settings.public_url.startswith("https://")

    def routes(self) -> list[Route]:
        return [
            Route("/dashboard", self.signed_in(self.overview), methods=["GET"]),
            Route("/dashboard/", self.signed_in(self.overview), methods=["GET"]),
            Route("/dashboard/members", self.signed_in(self.members), methods=["GET"]),
            Route("/dashboard/members/{org_id:int}", self.signed_in(self.member), methods=["GET"]),
            Route(
                "/dashboard/members/{org_id:int}/join-codes",
                self.signed_in(self.new_code, post=True),
                methods=["POST"],
            ),  # fmt: skip
            Route(
                "/dashboard/members/{org_id:int}/join-codes/{invite_id:int}/revoke",
                self.signed_in(self.revoke_code, post=True),
                methods=["POST"],
            ),  # fmt: skip
            Route("/dashboard/sign-in/{token}", self.sign_in_page, methods=["GET"]),
            Route("/dashboard/sign-in/{token}", self.sign_in, methods=["POST"]),
            Route("/dashboard/sign-out", self.signed_in(self.sign_out, post=True), methods=["POST"]),
            Route("/dashboard/static/dashboard.css", self.stylesheet, methods=["GET"]),
        ]

    # ---- signing in and out ---------------------------------------------------------------------

    async def sign_in_page(self, request: Request) -> Response:
        """The link opened: a button to sign in (a preview fetching the link does not use it up)."""
        async with self.bot.sessionmaker() as session:
            link = await auth.usable_link(session, request.path_params["token"], self.now())
        if link is None:
            return self.page("message.html.j2", status=410, title=text("dashboard.link_used.title"),
                              message=text("dashboard.link_used.body"))  # fmt: skip
        return self.page("sign_in.html.j2", ask_name=link.person_id is None, problem=None)

    async def sign_in(self, request: Request) -> Response:
        form = await request.form()
        name = " ".join(str(form.get("name") or "").split())[:200]
        token = request.path_params["token"]
        now = self.now()
        async with self.bot.sessionmaker() as session, session.begin():
            link = await auth.usable_link(session, token, now)
            if link is not None and link.person_id is None and not name:
                return self.page("sign_in.html.j2", status=400, ask_name=True,
                                  problem=text("dashboard.sign_in.name_needed"))  # fmt: skip
            try:
                key = await auth.secret_key(session, self.settings)
            except SecretKeyMissing:
                return self._no_key()
            made = await auth.redeem_link(session, token, now, name or None)
        if made is None:
            return self.page("message.html.j2", status=410, title=text("dashboard.link_used.title"),
                              message=text("dashboard.link_used.body"))  # fmt: skip
        response = RedirectResponse("/dashboard/", status_code=303)
        response.set_cookie(COOKIE, auth.serializer(key).dumps(made[0]), max_age=auth.SESSION_HOURS * 3600,
                            httponly=True, samesite="lax", secure=self.secure, path="/dashboard")  # fmt: skip
        return response

    async def sign_out(self, request: Request, staff: Staff) -> Response:
        async with self.bot.sessionmaker() as session, session.begin():
            key = await auth.secret_key(session, self.settings)
            await auth.end_session(session, key, request.cookies.get(COOKIE), self.now())
        response = self.page("message.html.j2", title=text("dashboard.signed_out.title"),
                             message=text("dashboard.signed_out.body"))  # fmt: skip
        response.delete_cookie(COOKIE, path="/dashboard")
        return response

    def signed_in(self, page: Page, *, post: bool = False) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            async with self.bot.sessionmaker() as session, session.begin():
                try:
                    key = await auth.secret_key(session, self.settings)
                except SecretKeyMissing:
                    return self._no_key()
                staff = await auth.staff_for(session, key, request.cookies.get(COOKIE), self.now())
            if staff is None:
                return self.page("message.html.j2", status=401, title=text("dashboard.signed_out.title"),
                                  message=text("dashboard.sign_in.needed"))  # fmt: skip
            if post:
                form = await request.form()
                if not _same(str(form.get("csrf") or ""), staff.csrf_token):
                    return self.forbidden()
            return await page(request, staff)

        return endpoint

    # ---- pages ----------------------------------------------------------------------------------

    async def overview(self, request: Request, staff: Staff) -> Response:
        async with self.bot.sessionmaker() as session:
            figures = await queries.overview(session, staff.support_org_id, self.today())
        return self.page("overview.html.j2", staff=staff, o=figures, here="overview")

    async def members(self, request: Request, staff: Staff) -> Response:
        params = request.query_params
        try:
            page = int(params.get("page") or 1)
        except ValueError:
            page = 1
        async with self.bot.sessionmaker() as session:
            found = await queries.members(
                session, staff.support_org_id, self.today(), query=params.get("q") or "",
                show=params.get("show") or "", programme=params.get("programme") or "", page=page,
            )  # fmt: skip

        def page_link(number: int) -> str:
            kept = {"q": found.query, "show": found.show, "programme": found.programme, "page": number}
            return "/dashboard/members?" + urlencode({k: v for k, v in kept.items() if v})

        return self.page("members.html.j2", staff=staff, m=found, page_link=page_link, here="members")

    async def member(self, request: Request, staff: Staff, made: str | None = None) -> Response:
        org_id = request.path_params["org_id"]
        async with self.bot.sessionmaker() as session, session.begin():
            detail = await queries.member(session, staff.support_org_id, org_id, self.now())
            calendar = await auth.calendar_url(session, self.settings, org_id) if detail is not None else None
        if detail is None:
            return self.forbidden()
        return self.page("member.html.j2", staff=staff, d=detail, made=made, here="members", today=self.today(),
                         calendar_url=calendar, calendar_name=detail.name)  # fmt: skip

    async def new_code(self, request: Request, staff: Staff) -> Response:
        from svbot.support.invites import InviteError, create_invite

        org_id = request.path_params["org_id"]
        form = await request.form()
        role = str(form.get("role") or "member")
        async with self.bot.sessionmaker() as session, session.begin():
            if await queries.member(session, staff.support_org_id, org_id, self.now()) is None:
                return self.forbidden()
            try:
                made = await create_invite(session, org_id, self.now(), role=role if role in ("member", "org_admin")
                                           else "member", created_by_person_id=staff.person_id)  # fmt: skip
            except InviteError:
                return self.forbidden()
            await auth.audit(session, staff, "join_code_made", made.organisation_name, self.now())
        return await self.member(request, staff, made=made.code)

    async def revoke_code(self, request: Request, staff: Staff) -> Response:
        from svbot.support.models import Invite

        org_id, invite_id = request.path_params["org_id"], request.path_params["invite_id"]
        async with self.bot.sessionmaker() as session, session.begin():
            detail = await queries.member(session, staff.support_org_id, org_id, self.now())
            invite = await session.get(Invite, invite_id)
            if detail is None or invite is None or invite.organisation_id != org_id:
                return self.forbidden()
            invite.expires_at = self.now()
            await auth.audit(session, staff, "join_code_revoked", detail.name, self.now())
        return RedirectResponse(f"/dashboard/members/{org_id}", status_code=303)

    async def stylesheet(self, _: Request) -> Response:
        return FileResponse(STYLESHEET, media_type="text/css", headers={"Cache-Control": "max-age=3600"})

    # ---- helpers ---------------------------------------------------------------------------------

    def page(self, template: str, *, status: int = 200, **values: Any) -> HTMLResponse:
        values.setdefault("staff", None)
        values.setdefault("here", "")
        html = self.templates.get_template(template).render(**values)
        return HTMLResponse(html, status_code=status, headers=_HEADERS)

    def forbidden(self) -> HTMLResponse:
        return self.page("message.html.j2", status=403, title=text("dashboard.forbidden.title"),
                          message=text("dashboard.forbidden.body"))  # fmt: skip

    def _no_key(self) -> HTMLResponse:
        return self.page("message.html.j2", status=503, title=text("dashboard.no_key.title"),
                          message=text("dashboard.no_key.body"))  # fmt: skip

    def now(self) -> datetime:
        return self.bot.clock().astimezone(UTC)

    def today(self) -> date:
        return self.bot.clock().astimezone(ZoneInfo(self.settings.timezone)).date()


# No framing by other sites, no guessing of types, no referrer leaking a sign-in link.
_HEADERS = {
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Content-Security-Policy": "default-src 'self'; style-src 'self'; img-src 'self' data:; form-action 'self'",
    "Cache-Control": "no-store",
}


def _same(given: str, expected: str) -> bool:
    return bool(given) and secrets.compare_digest(given.encode(), expected.encode())


def _environment() -> SandboxedEnvironment:
    env = SandboxedEnvironment(loader=FileSystemLoader(HERE / "templates"),
                               autoescape=select_autoescape(["html", "j2"]), undefined=StrictUndefined)  # fmt: skip
    env.globals["t"] = _t
    env.globals["count"] = format_count
    env.globals["day"] = lambda d: text("dates.day", **date_values(d)) if d else ""
    env.globals["month"] = lambda d: text("dashboard.month", **date_values(d))
    env.globals["role_name"] = lambda role: text(f"dashboard.role.{role}")
    env.globals["status_name"] = lambda status: text(f"dashboard.status.{status}")
    env.globals["action_line"] = _action_line
    return env


def _action_line(action: str, who: str, detail: str) -> str:
    """One line of the audit log: "Sue made a join code for Hollybush Advice"."""
    return text(f"dashboard.action.{action}", who=who or text("dashboard.someone"), detail=detail)


def _t(key: str, **values: Any) -> Markup:
    """svbot's text, its values HTML-escaped (as the annual report's templates do)."""
    return Markup(texts.text(key, **{name: escape(v) if isinstance(v, str) else v for name, v in values.items()}))
