"""Grants import by upload (/dashboard/import): a 360Giving file (JSON package, or CSV/XLSX with
360Giving column titles, up to LIMIT_MB), checked by a dry run first, then imported.

The file is kept in a folder of its own under UPLOADS, named by a random token, between the dry run and
the import (so staff press "Import these grants" without uploading again), and removed after the
import, or after a day if no one imports it. The dry run and the import are svbot's importer
(`svbot.deadlines.importer.import_grants`, as `svbot grants import FILE --support-org ID` runs it),
each in a thread with its own event loop and database engine, so the web process stays responsive;
the upload's page refreshes itself (<meta http-equiv="refresh">) until it is done.

What an upload is doing lives in this process's memory. The import writes `grants_imported` to the
audit log when it ends. If svbot stops mid-import, the chunks of grants already stored stay (the
importer commits 500 at a time), the upload's page is gone, and importing the same file again finishes
the job: grants already stored are left as they are.
"""

from __future__ import annotations

import asyncio
import logging
import re
import secrets
import shutil
import tempfile
import time
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from svbot.dashboard import auth
from svbot.dashboard.auth import Staff
from svbot.db import make_engine, make_sessionmaker
from svbot.deadlines.giving360 import FileProblem
from svbot.deadlines.importer import ImportSummary, import_grants
from svbot.deadlines.schedules import DEFAULT_GRANT_MONTHS
from svbot.dialogue.answers import Invalid, parse_date
from svbot.statements.text import format_count
from svbot.text import date_values, text

if TYPE_CHECKING:
    from svbot.dashboard.web import Dashboard

log = logging.getLogger(__name__)

LIMIT_MB = 10
LIMIT = LIMIT_MB * 1024 * 1024
# An upload whose request is bigger than this is refused before it is read (the form's other fields
# and the multipart wrapping take a few hundred bytes).
REQUEST_LIMIT = LIMIT + 64 * 1024
KEEP_SECONDS = 24 * 3600  # an upload no one imports is forgotten, and its file removed, after a day
UPLOADS = Path(tempfile.gettempdir()) / "svbot-dashboard-imports"
SUFFIXES = (".json", ".csv", ".xlsx", ".xlsm")
SHOWN = 200  # rows listed on a page (skipped grants, notes, new organisations in a dry run); the rest counted

CHECKING, CHECKED, UNREADABLE, IMPORTING, IMPORTED, FAILED = (
    "checking", "checked", "unreadable", "importing", "imported", "failed",
)  # fmt: skip
RUNNING = (CHECKING, IMPORTING)


@dataclass
class Upload:
    """One uploaded file, from its dry run to its import."""

    token: str
    support_org_id: int
    file_name: str  # as the staff member's computer named it
    path: Path  # the kept copy
    ignore_before: date | None
    started: float  # time.time() of the upload
    phase: str = CHECKING
    done: int = 0  # grants read (dry run) or stored (import) so far
    total: int = 0
    check: ImportSummary | None = None  # the dry run's
    result: ImportSummary | None = None  # the import's
    problem: str = ""  # why the file could not be read, or the import stopped
    task: asyncio.Task[None] | None = None

    def progress(self, done: int, total: int) -> None:  # called from the import's thread
        self.done, self.total = done, total

    @property
    def importable(self) -> int:
        summary = self.check
        return summary.imported + summary.updated + summary.unchanged if summary else 0


class Imports:
    """The upload form, each upload's page, and the work behind them."""

    def __init__(self, dashboard: Dashboard) -> None:
        self.dashboard = dashboard
        self.uploads: dict[str, Upload] = {}

    def routes(self) -> list[Route]:
        signed_in = self.dashboard.signed_in
        upload, too_big = signed_in(self.upload, post=True), signed_in(self.too_big)

        async def upload_if_not_too_big(request: Request) -> Response:
            # Refused before the body is read: a huge file is never spooled to disk.
            length = request.headers.get("content-length", "")
            if length.isdigit() and int(length) > REQUEST_LIMIT:
                return await too_big(request)
            return await upload(request)

        return [
            Route("/dashboard/import", signed_in(self.form), methods=["GET"]),
            Route("/dashboard/import", upload_if_not_too_big, methods=["POST"]),
            Route("/dashboard/import/{token}", signed_in(self.show), methods=["GET"]),
            Route("/dashboard/import/{token}/check", signed_in(self.check_again, post=True), methods=["POST"]),
            Route("/dashboard/import/{token}/run", signed_in(self.run, post=True), methods=["POST"]),
        ]

    # ---- pages ----------------------------------------------------------------------------------

    async def form(self, request: Request, staff: Staff, *, problem: str = "", status: int = 200) -> Response:
        self._sweep()
        recent = sorted((u for u in self.uploads.values() if u.support_org_id == staff.support_org_id),
                        key=lambda u: u.started, reverse=True)  # fmt: skip
        return self.dashboard.page("import.html.j2", status=status, staff=staff, here="import", problem=problem,
                                   limit=LIMIT_MB, recent=recent, phase_name=phase_name)  # fmt: skip

    async def too_big(self, request: Request, staff: Staff) -> Response:
        return await self.form(request, staff, problem=text("dashboard.import.problem.too_big", limit=LIMIT_MB),
                               status=413)  # fmt: skip

    async def upload(self, request: Request, staff: Staff) -> Response:
        form = await request.form()
        given = form.get("file")
        if not isinstance(given, UploadFile) or not given.filename:
            return await self.form(request, staff, problem=text("dashboard.import.problem.no_file"), status=400)
        name = Path(given.filename.replace("\\", "/")).name[:200]
        if Path(name).suffix.lower() not in SUFFIXES:
            return await self.form(request, staff, problem=text("dashboard.import.problem.kind"), status=400)
        # The form parser spooled the file to a temporary file (past 1 MB) as it arrived, and the web
        # process refused the request if it passed REQUEST_LIMIT: the size is known without reading.
        size = given.size if given.size is not None else await asyncio.to_thread(_size_of, given)
        if size > LIMIT:
            return await self.too_big(request, staff)
        if not size:
            return await self.form(request, staff, problem=text("dashboard.import.problem.empty"), status=400)
        try:
            ignore_before = self._day(str(form.get("ignore_before") or ""))
        except Invalid:
            return await self.form(request, staff, problem=text("dashboard.import.problem.date"), status=400)
        self._sweep()
        token = secrets.token_urlsafe(18)
        folder = UPLOADS / token
        path = folder / _safe_name(name)
        await asyncio.to_thread(_keep, folder, path, given)
        made = Upload(token=token, support_org_id=staff.support_org_id, file_name=name, path=path,
                      ignore_before=ignore_before, started=time.time())  # fmt: skip
        self.uploads[token] = made
        self._start(made, staff, dry_run=True)
        return RedirectResponse(f"/dashboard/import/{token}", status_code=303)

    async def show(self, request: Request, staff: Staff) -> Response:
        found = self._upload(request, staff)
        if isinstance(found, Response):
            return found
        refresh = found.phase in RUNNING and request.query_params.get("refresh") != "off"
        return self.dashboard.page("import_upload.html.j2", staff=staff, here="import", u=found, refresh=refresh,
                                   shown=SHOWN, notes=notes, long_day=day,
                                   phase_name=phase_name)  # fmt: skip

    async def check_again(self, request: Request, staff: Staff) -> Response:
        """The dry run again with another "ignore reports due before" date, without uploading again."""
        found = self._upload(request, staff)
        if isinstance(found, Response):
            return found
        if found.phase == CHECKED:
            try:
                found.ignore_before = self._day(str((await request.form()).get("ignore_before") or ""))
            except Invalid:
                found.problem = text("dashboard.import.problem.date")
                return RedirectResponse(f"/dashboard/import/{found.token}", status_code=303)
            self._start(found, staff, dry_run=True)
        return RedirectResponse(f"/dashboard/import/{found.token}", status_code=303)

    async def run(self, request: Request, staff: Staff) -> Response:
        found = self._upload(request, staff)
        if isinstance(found, Response):
            return found
        if found.phase == CHECKED and found.importable:  # pressed twice: imported once
            self._start(found, staff, dry_run=False)
        return RedirectResponse(f"/dashboard/import/{found.token}", status_code=303)

    # ---- the work, off the event loop -----------------------------------------------------------

    def _start(self, upload: Upload, staff: Staff, *, dry_run: bool) -> None:
        upload.phase, upload.done, upload.total, upload.problem = (CHECKING if dry_run else IMPORTING), 0, 0, ""
        upload.task = asyncio.create_task(self._work(upload, staff, dry_run))

    async def _work(self, upload: Upload, staff: Staff, dry_run: bool) -> None:
        settings = self.dashboard.settings
        now = self.dashboard.now()
        try:
            summary = await asyncio.to_thread(_in_thread, settings.async_database_url, upload, staff, now,
                                              settings.timezone, dry_run)  # fmt: skip
        except FileProblem as exc:
            upload.problem, upload.phase = str(exc), UNREADABLE
        except Exception:
            log.exception("dashboard: importing %s failed", upload.file_name)
            upload.problem, upload.phase = text("dashboard.import.problem.failed"), (UNREADABLE if dry_run else FAILED)
            if not dry_run:
                await self._audit(staff, text("dashboard.import.audit_failed", file=upload.file_name), now)
        else:
            if dry_run:
                upload.check, upload.phase = summary, CHECKED
            else:
                upload.result, upload.phase = summary, IMPORTED
        if upload.phase in (IMPORTED, FAILED):
            await asyncio.to_thread(shutil.rmtree, upload.path.parent, True)

    async def _audit(self, staff: Staff, detail: str, now: datetime) -> None:
        try:
            async with self.dashboard.bot.sessionmaker() as session, session.begin():
                await auth.audit(session, staff, "grants_imported", detail, now)
        except Exception:
            log.exception("dashboard: could not write the audit log")

    # ---- helpers ---------------------------------------------------------------------------------

    def _upload(self, request: Request, staff: Staff) -> Upload | Response:
        self._sweep()
        found = self.uploads.get(request.path_params["token"])
        if found is None:
            return self.dashboard.page("message.html.j2", status=404, staff=staff, here="import",
                                       title=text("dashboard.import.gone.title"),
                                       message=text("dashboard.import.gone.body"))  # fmt: skip
        if found.support_org_id != staff.support_org_id:
            return self.dashboard.forbidden()
        return found

    def _day(self, typed: str) -> date | None:
        typed = typed.strip()
        if not typed:
            return None
        try:
            return date.fromisoformat(typed)  # what a date input sends
        except ValueError:
            return date.fromisoformat(parse_date(typed, self.dashboard.today()).value)

    def _sweep(self) -> None:
        """Forget uploads older than a day that are not running, and remove files left that long (by this
        process or one before it)."""
        cutoff = time.time() - KEEP_SECONDS
        for token, upload in list(self.uploads.items()):
            if upload.started < cutoff and upload.phase not in RUNNING:
                del self.uploads[token]
        try:
            for folder in UPLOADS.iterdir() if UPLOADS.is_dir() else ():
                if folder.name not in self.uploads and folder.stat().st_mtime < cutoff:
                    shutil.rmtree(folder, ignore_errors=True)
        except OSError:  # another process swept it first
            log.debug("dashboard: sweeping old uploads", exc_info=True)


def routes(dashboard: Dashboard) -> list[Route]:
    return Imports(dashboard).routes()


def phase_name(phase: str) -> str:
    return text(f"dashboard.import.phase.{phase}")


def notes(summary: ImportSummary, ignore_before: date | None) -> list[str]:
    """What the import leaves out or assumes about reports, as `svbot grants import` says it."""
    said = []
    if summary.deadlines_untracked:
        when = day(ignore_before) if ignore_before else text("dashboard.import.programme_date")
        said.append(text("dashboard.import.untracked", count=summary.deadlines_untracked,
                         shown=format_count(summary.deadlines_untracked), date=when))  # fmt: skip
    if number := summary.deadlines_past_skipped:
        said.append(text("dashboard.import.past_skipped", count=number, shown=format_count(number)))
    if number := summary.deadlines_kept:
        said.append(text("dashboard.import.kept", count=number, shown=format_count(number)))
    if summary.assumed_end:
        number = len(summary.assumed_end)
        said.append(text("dashboard.import.assumed_end", count=number, shown=format_count(number),
                         months=DEFAULT_GRANT_MONTHS))  # fmt: skip
    return said


def day(value: date) -> str:
    return text("dates.long", **date_values(value))  # 1 January 2015


def _in_thread(url: str, upload: Upload, staff: Staff, now: datetime, timezone: str, dry_run: bool) -> ImportSummary:
    """The dry run or the import, in this thread with an event loop and a database engine of its own."""

    async def work() -> ImportSummary:
        engine = make_engine(url)
        try:
            sessionmaker = make_sessionmaker(engine)
            summary = await import_grants(sessionmaker, upload.path, now=now, support_org_id=staff.support_org_id,
                                          timezone=timezone, progress=upload.progress,
                                          ignore_before=upload.ignore_before, dry_run=dry_run)  # fmt: skip
            if not dry_run:  # in the same thread: written even if the web process is stopping
                detail = text("dashboard.import.audit", file=upload.file_name, grants=summary.imported,
                              updated=summary.updated, skipped=len(summary.skipped),
                              organisations=summary.organisations_created)  # fmt: skip
                try:
                    async with sessionmaker() as session, session.begin():
                        await auth.audit(session, staff, "grants_imported", detail, now)
                except Exception:  # the grants are in: say so on the page all the same
                    log.exception("dashboard: could not write the audit log")
            return summary
        finally:
            await engine.dispose()

    return asyncio.run(work())


def _keep(folder: Path, path: Path, given: UploadFile) -> None:
    """Copy the spooled upload to its folder a chunk at a time: the file is never all in memory."""
    UPLOADS.mkdir(mode=0o700, parents=True, exist_ok=True)
    folder.mkdir(mode=0o700)
    given.file.seek(0)
    with path.open("wb") as out:
        shutil.copyfileobj(given.file, out, 1024 * 1024)


def _size_of(given: UploadFile) -> int:
    given.file.seek(0, 2)
    return given.file.tell()


def _safe_name(name: str) -> str:
    """The file's name on disk: letters, digits, dots, dashes and underscores only, its ending kept
    (the importer reads the file by its ending, and names it in what it says)."""
    path = Path(name)
    stem = re.sub(r"[^A-Za-z0-9._-]+", "_", path.stem).strip("._") or "grants"
    return stem[:100] + path.suffix.lower()
