"""The whole dashboard: the core pages (svbot/dashboard/web.py) and each page in a module of its own,
each with `routes(dashboard)`. Pages depend on `Dashboard`; only this module knows them all, so the
imports point one way."""

from __future__ import annotations

from starlette.routing import Route

from svbot.config import Settings
from svbot.dashboard import broadcasts, deadlines, feeds, imports, report, settings_page
from svbot.dashboard.web import Dashboard
from svbot.turns import Bot

PAGES = (deadlines, feeds, imports, broadcasts, report, settings_page)


def routes(bot: Bot, settings: Settings) -> list[Route]:
    dashboard = Dashboard(bot, settings)
    return [*dashboard.routes(), *(route for page in PAGES for route in page.routes(dashboard))]


def body_limits() -> dict[str, int]:
    """Pages that take bigger request bodies than the web process's limit: the grants upload."""
    return {"/dashboard/import": imports.REQUEST_LIMIT}
