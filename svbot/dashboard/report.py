"""The annual social value report on the staff dashboard: choose the year, read it in the page, and
download it as HTML or Word.

The report is `svbot report`'s (svbot/support/report.py), rendered once, by it: the page frames the
report's own HTML (served by /dashboard/report/view with a policy of its own: its inline style and
chart, nothing else, framed only by the dashboard), so what staff read is exactly what they download
and take to committee. The downloads are its HTML and Word files, sent as attachments.
"""

from __future__ import annotations

import asyncio
import re
from datetime import date
from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from svbot.dashboard.auth import Staff
from svbot.support import report as service
from svbot.text import text

if TYPE_CHECKING:
    from svbot.dashboard.web import Dashboard

# The report's own page: its inline style and chart and nothing else, framed only by the dashboard.
OWN_PAGE = {
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'self'",
}
YEARS = 5  # periods offered: this year (in progress) and the four before it
PERIOD = re.compile(r"^(\d{4})-(\d{2})$")
MEDIA = {
    "html": "text/html; charset=utf-8",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
}


def period_of(start_year: int) -> str:
    """2026 -> "2026-27": the April-to-March year starting in April 2026."""
    return f"{start_year}-{(start_year + 1) % 100:02d}"


def last_complete(today: date) -> str:
    """The last April-to-March year that has ended by `today`."""
    this_year_starts = today.year if today.month >= 4 else today.year - 1
    return period_of(this_year_starts - 1)


def periods(today: date) -> list[str]:
    this_year_starts = today.year if today.month >= 4 else today.year - 1
    return [period_of(this_year_starts - n) for n in range(YEARS)]


def valid(period: str) -> bool:
    found = PERIOD.match(period)
    return found is not None and (int(found.group(1)) + 1) % 100 == int(found.group(2))


def routes(dashboard: Dashboard) -> list[Route]:
    async def made(staff: Staff, period: str) -> service.AnnualReport:
        async with dashboard.bot.sessionmaker() as session:
            return await service.build_report(
                session, staff.support_org_id, period, dashboard.bot.knowledge, today=dashboard.today()
            )

    def chosen(request: Request) -> str | None:
        period = (request.query_params.get("period") or "").strip()
        if not period:
            return last_complete(dashboard.today())
        return period if valid(period) else None

    def problem(staff: Staff, said: str) -> Response:
        return dashboard.page("annual_report.html.j2", status=400, staff=staff, here="report", r=None, period="",
                              periods=periods(dashboard.today()), problem=said)  # fmt: skip

    async def page(request: Request, staff: Staff) -> Response:
        period = chosen(request)
        offered = periods(dashboard.today())
        if period is None:
            return problem(staff, text("dashboard.report.bad_period"))
        if period not in offered:
            offered = sorted({*offered, period}, reverse=True)
        try:
            report = await made(staff, period)
        except service.ReportError as exc:
            return problem(staff, str(exc))
        return dashboard.page("annual_report.html.j2", staff=staff, here="report", r=report, period=period,
                              periods=offered, problem=None)  # fmt: skip

    async def report_file(request: Request, staff: Staff, fmt: str) -> Response | tuple[str, bytes]:
        period = chosen(request)
        if period is None or fmt not in MEDIA:
            return problem(staff, text("dashboard.report.bad_period"))
        try:
            report = await made(staff, period)
        except service.ReportError as exc:
            return problem(staff, str(exc))
        # The charts and python-docx take a moment: off the event loop, as other requests wait.
        content = await asyncio.to_thread(service.render_report, report, fmt)
        return period, content.encode("utf-8") if isinstance(content, str) else content

    async def view(request: Request, staff: Staff) -> Response:
        made_file = await report_file(request, staff, "html")
        if isinstance(made_file, Response):
            return made_file
        return Response(made_file[1], media_type=MEDIA["html"], headers={**OWN_PAGE, "X-Frame-Options": "SAMEORIGIN"})

    async def download(request: Request, staff: Staff) -> Response:
        fmt = request.path_params["format"]
        made_file = await report_file(request, staff, fmt)
        if isinstance(made_file, Response):
            return made_file
        period, body = made_file
        headers = {**OWN_PAGE, "Content-Disposition": f'attachment; filename="social-value-report-{period}.{fmt}"'}
        return Response(body, media_type=MEDIA[fmt], headers=headers)

    return [
        Route("/dashboard/report", dashboard.signed_in(page), methods=["GET"]),
        Route("/dashboard/report/view", dashboard.signed_in(view), methods=["GET"]),
        Route("/dashboard/report/download.{format}", dashboard.signed_in(download), methods=["GET"]),
    ]
