"""Settings on the staff dashboard, read-only: the support organisation's framework (from svbot's
knowledge), its reminder times, and each grant programme's settings as `svbot programme list` shows
them (svbot/deadlines/programmes.py). They are changed on the command line for now."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from svbot.dashboard.auth import Staff
from svbot.deadlines.models import ReminderPolicy
from svbot.deadlines.programmes import list_programmes
from svbot.deadlines.service import rules_for
from svbot.models import Organisation
from svbot.text import date_values, text

if TYPE_CHECKING:
    from svbot.dashboard.web import Dashboard


@dataclass(frozen=True, slots=True)
class Reminders:
    own: bool  # the support organisation has a policy of its own (else svbot's default)
    offsets: tuple[int, ...]
    send_time: str
    quiet: tuple[str, str]
    weekends: bool
    timezone: str


def routes(dashboard: Dashboard) -> list[Route]:
    async def page(request: Request, staff: Staff) -> Response:
        async with dashboard.bot.sessionmaker() as session:
            support = await session.get(Organisation, staff.support_org_id)
            programmes = await list_programmes(session, staff.support_org_id)
            own = await session.scalar(
                select(ReminderPolicy.id).where(ReminderPolicy.support_org_id == staff.support_org_id)
            )
            rules = await rules_for(session, staff.support_org_id, dashboard.settings.timezone)
        framework_id = support.framework_id if support is not None else None
        framework = dashboard.bot.knowledge.frameworks.get(framework_id) if framework_id else None
        reminders = Reminders(own is not None, rules.offsets, f"{rules.send_time:%H:%M}",
                              (f"{rules.quiet_start:%H:%M}", f"{rules.quiet_end:%H:%M}"), rules.weekends,
                              rules.timezone)  # fmt: skip
        return dashboard.page("settings.html.j2", staff=staff, here="settings", framework_id=framework_id,
                              framework=framework, reminders=reminders, programmes=programmes,
                              schedule_name=schedule_name, percent=percent, offset_words=offset_words,
                              framework_status=framework_status, long_day=long_day)  # fmt: skip

    return [Route("/dashboard/settings", dashboard.signed_in(page), methods=["GET"])]


def schedule_name(schedule: str | None) -> str:
    return text(f"dashboard.settings.schedule.{schedule}") if schedule else text("dashboard.settings.by_default")


def framework_status(status: str) -> str:
    return text(f"dashboard.settings.framework_status.{status}")


def percent(value: Decimal | None) -> str:
    """12.50 -> "12.5%", as `svbot programme list` writes it."""
    if value is None:
        return text("dashboard.settings.not_set")
    written = f"{value:f}"
    if "." in written:
        written = written.rstrip("0").rstrip(".")
    return f"{written}%"


def offset_words(offsets: tuple[int, ...]) -> str:
    """(14, 3, 0, -7) -> "14 days before, 3 days before, on the day and 7 days after"."""
    words = []
    for days in offsets:
        if days > 0:
            words.append(text("dashboard.settings.days_before", count=days))
        elif days < 0:
            words.append(text("dashboard.settings.days_after", count=-days))
        else:
            words.append(text("dashboard.settings.on_the_day"))
    if len(words) < 2:
        return "".join(words)
    return text("dashboard.settings.and_list", first=", ".join(words[:-1]), last=words[-1])


def long_day(day: Any) -> str:
    return text("dates.long", **date_values(day)) if day else text("dashboard.settings.not_set")
