"""The web process: one ASGI app with each channel's routes (Slack's events, Telegram's webhook), the
staff dashboard (/dashboard) and a health check. The composition root (`svbot.app.App.web_app`)
decides which channels are mounted."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator

from sqlalchemy import text
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from svbot.channels.base import WebMount
from svbot.config import Settings
from svbot.turns import Bot
from svbot.web_limits import BodyLimit

log = logging.getLogger(__name__)
DEFAULT_BODY_LIMIT = Settings.model_fields["max_request_kb"].default * 1024


def create_web_app(bot: Bot, mounts: dict[str, WebMount], settings: Settings | None = None) -> Starlette:
    async def healthz(_: Request) -> JSONResponse:
        """Healthy means the database answers; a load balancer stops sending traffic otherwise."""
        try:
            async with bot.sessionmaker() as session:
                await session.execute(text("SELECT 1"))
        except Exception:
            log.exception("health check: database unreachable")
            return JSONResponse({"status": "error", "database": "unreachable"}, status_code=503)
        return JSONResponse({"status": "ok", "database": "ok", "channels": sorted(mounts)})

    routes: list = [Route("/healthz", healthz, methods=["GET"])]
    larger: dict[str, int] = {}
    if settings is not None:  # the staff dashboard, under /dashboard
        from svbot.dashboard.site import body_limits
        from svbot.dashboard.site import routes as dashboard_routes

        routes.extend(dashboard_routes(bot, settings))
        larger = body_limits()
    limit = settings.max_request_kb * 1024 if settings is not None else DEFAULT_BODY_LIMIT
    return mount_app(list(mounts.values()), routes, body_limit=limit, larger_bodies=larger)


def mount_app(
    mounts: list[WebMount],
    routes: list | None = None,
    *,
    body_limit: int = DEFAULT_BODY_LIMIT,
    larger_bodies: dict[str, int] | None = None,
) -> Starlette:
    """An ASGI app serving the mounts' routes, starting and stopping them with the app. Every request
    body is limited (svbot/web_limits.py): `body_limit` bytes, or `larger_bodies[path]`."""

    @contextlib.asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        for mount in mounts:
            for start in mount.on_startup:
                await start()
        try:
            yield
        finally:
            for mount in mounts:
                for stop in mount.on_shutdown:
                    with contextlib.suppress(Exception):
                        await stop()

    all_routes = list(routes or [])
    for mount in mounts:
        all_routes.extend(mount.routes)
    limits = Middleware(BodyLimit, default=body_limit, larger=larger_bodies)
    return Starlette(routes=all_routes, lifespan=lifespan, middleware=[limits])
