"""What every `svbot` sub-command shares: one-line errors, ids checked against the database, a database
for the length of a command, the files commands write (`--out`), and a standard output that no stored
text can take control of."""

from __future__ import annotations

import asyncio
import contextlib
import errno
import os
import signal
import stat
import sys
from collections.abc import Awaitable, Callable
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO, TypeVar

import click
from pydantic import ValidationError
from sqlalchemy import make_url
from sqlalchemy.exc import OperationalError, ProgrammingError, SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from svbot.clean import one_line, terminal
from svbot.config import Settings, get_settings, setting_problems
from svbot.deadlines.models import Deadline
from svbot.dialogue.spec import DialogueError
from svbot.errors import SettingError, UserError
from svbot.knowledge import KnowledgeError
from svbot.models import Base, Organisation, Person

if TYPE_CHECKING:
    from svbot.app import App

T = TypeVar("T")
DOCTOR_HINT = "`svbot doctor` checks every setting"
MAX_ID = 2**31 - 1  # ids are PostgreSQL integers
CONNECT_SECONDS = 15  # an address that drops packets would otherwise keep a command waiting a minute or more


class FriendlyCommand(click.Command):
    """A `UserError` becomes one line on stderr and exit status 1, never a traceback."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except UserError as exc:
            click.echo(f"svbot: {one_line(exc)}", err=True)  # a file's name or a stored name may be in it
            raise SystemExit(1) from None


class FriendlyCommands(click.Group):
    command_class = FriendlyCommand


class ExistingId(click.ParamType):
    """The id of a row people name on the command line (an organisation, a deadline, a person).

    It reads as a whole number when the command line is parsed; `with_app` then looks each such id up
    before the command's own work, so a wrong id gets one line that says so and where to find the
    right one, the same in every command, instead of whatever the command would make of a missing row.
    """

    name = "id"

    def __init__(self, noun: str, model: type[Base], listing: str | None, kind: str | None = None) -> None:
        self.noun, self.model, self.listing, self.kind = noun, model, listing, kind

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> int:
        try:
            number = value if isinstance(value, int) else int(str(value).strip())
        except ValueError:
            number = 0
        if not 0 < number <= MAX_ID:  # beyond PostgreSQL's integer the query itself would fail
            self.fail(f"{value!r} is not an id: ids are whole numbers{self._hint(', ')}", param, ctx)
        return number

    async def check(self, session: AsyncSession, value: int) -> None:
        """Raise a one-line `UserError` unless the row exists (and is of the right kind)."""
        row = await session.get(self.model, value)
        if row is None or (self.kind is not None and getattr(row, "kind", None) != self.kind):
            raise UserError(f"No {self.noun} with id {value}.{self._hint(' ')}")

    def _hint(self, before: str) -> str:
        return f"{before}`{self.listing}` shows them." if self.listing else ""


ORG_ID = ExistingId("organisation", Organisation, "svbot orgs list")
MEMBER_ORG_ID = ExistingId("member organisation", Organisation, "svbot orgs list", kind="member")
SUPPORT_ORG_ID = ExistingId("support organisation", Organisation, "svbot support list", kind="support")
DEADLINE_ID = ExistingId("deadline", Deadline, "svbot deadlines list --all")
PERSON_ID = ExistingId("person", Person, None)


async def check_ids(sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    """Look up every `ExistingId` the running command was given (none outside a command)."""
    ctx = click.get_current_context(silent=True)
    if ctx is None:
        return
    given = [(p.type, ctx.params.get(p.name or "")) for p in ctx.command.params if isinstance(p.type, ExistingId)]
    given = [(kind, value) for kind, value in given if value is not None]
    if not given:
        return
    async with sessionmaker() as session:
        for kind, value in given:
            await kind.check(session, value)


def with_app(work: Callable[[App], Awaitable[T]], settings: Settings | None = None) -> T:
    """Build the app (`svbot.app`) from the settings, run `work` with it, then close it."""
    settings = settings or get_settings()

    async def run() -> T:
        from svbot.app import open_app

        await reach_database(settings.database_url)
        async with open_app(settings) as app:
            await check_ids(app.bot.sessionmaker)
            return await work(app)

    try:
        return asyncio.run(run())
    except (OperationalError, ProgrammingError) as exc:
        if "no such table" in str(exc) or "does not exist" in str(exc):
            raise UserError("the database is not set up yet: run `svbot db upgrade`") from None
        raise UserError(f"database problem: {str(exc.orig).splitlines()[0][:200]}") from None
    except DialogueError as exc:
        raise UserError(f"a dialogue file is wrong: {exc}") from None
    except KnowledgeError as exc:
        raise UserError(f"a knowledge file is wrong: {exc}") from None


def setting_problems_text(error: ValidationError) -> str:
    """What `svbot` prints for wrong settings: a line each, and where to look further."""
    return "\n".join(f"svbot: {line}" for line in setting_problems(error)) + f" ({DOCTOR_HINT})"


async def reach_database(url: str) -> None:
    """Connect once, or raise a `SettingError` that names DATABASE_URL: a server that is down, a wrong
    host or password is a setting to fix, and deserves one line rather than a driver's traceback."""
    from svbot.db import make_engine

    engine = make_engine(url)
    try:
        async with asyncio.timeout(CONNECT_SECONDS), engine.connect():
            pass
    except (OSError, SQLAlchemyError) as exc:  # OSError: refused, unknown host, timed out
        check = "that its folder exists and svbot may write there" if url.startswith("sqlite") else (
            "the address, and that the server is running")  # fmt: skip
        raise SettingError(f"DATABASE_URL: cannot reach the database at {shown_url(url)}: {_reason(exc)}. "
                           f"Check {check} ({DOCTOR_HINT})") from None  # fmt: skip
    finally:
        await engine.dispose()


def shown_url(url: str) -> str:
    """A database URL fit to print: the password hidden."""
    return make_url(url).render_as_string(hide_password=True)


def _reason(exc: BaseException) -> str:
    reason = getattr(exc, "orig", None) or exc
    words = str(reason).strip().splitlines()
    return (words[0] if words else type(reason).__name__)[:200]


def with_db(work: Callable[[async_sessionmaker[AsyncSession]], Awaitable[T]], settings: Settings | None = None) -> T:
    """Run `work` with the app's database session maker, then close the database."""

    async def on_db(app: App) -> T:
        return await work(app.bot.sessionmaker)

    return with_app(on_db, settings)


def stop_on_signals() -> asyncio.Event:
    """An event set by SIGINT or SIGTERM (a service manager stops us with SIGTERM): end cleanly."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):  # Windows, or not the main thread
            loop.add_signal_handler(signum, stop.set)
    return stop


def read_day(typed: str, option: str, timezone: str | None = None) -> date:
    """A date as people write it (01/04/2027, 1 April 2027, 2027-04-01), for `option`; a friendly
    error otherwise. Every command's date options read the same way."""
    from zoneinfo import ZoneInfo

    from svbot.dialogue.answers import Invalid, parse_date
    from svbot.models import utcnow

    today = utcnow().astimezone(ZoneInfo(timezone or get_settings().timezone)).date()
    try:
        return date.fromisoformat(parse_date(typed, today).value)
    except Invalid as exc:
        raise UserError(f"{option} {typed!r}: {exc.reason} For example: 01/04/2027") from None


# ---------------------------------------------------------------- files the commands write


def force_option(command: Callable[..., Any]) -> Callable[..., Any]:
    """`--force`, for every command that writes a file: replace a file that is already there."""
    return click.option("--force", is_flag=True, help="Replace the file if it already exists.")(command)


def write_file(target: Path | str, data: bytes, *, force: bool = False) -> None:
    """Write a command's file. An existing file is replaced only with `force` (`--force`); a symbolic
    link is never followed (someone else's link could point at any file this user may write), nor is a
    FIFO or a device written to. Every refusal is a `UserError` of one line."""
    path = Path(target)
    # O_EXCL: fails on any existing name, a link included; O_NOFOLLOW: a link as the last part fails;
    # O_NONBLOCK: a FIFO with no reader fails at once instead of waiting for ever.
    flags = os.O_WRONLY | os.O_CREAT | os.O_NONBLOCK | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        handle = os.open(path, flags | (0 if force else os.O_EXCL), 0o644)
    except FileExistsError:
        if path.is_symlink():
            raise UserError(f"{_shown(path)} is a symbolic link: svbot does not write through links") from None
        raise UserError(f"{_shown(path)} already exists: add --force to replace it") from None
    except FileNotFoundError:
        raise UserError(f"cannot write {_shown(path)}: the folder {_shown(path.parent)} does not exist") from None
    except IsADirectoryError:
        raise UserError(f"{_shown(path)} is a folder: give a file name") from None
    except OSError as exc:
        if exc.errno in (errno.ELOOP, errno.EMLINK):  # what O_NOFOLLOW gives for a link
            raise UserError(f"{_shown(path)} is a symbolic link: svbot does not write through links") from None
        raise UserError(f"cannot write {_shown(path)}: {exc.strerror}") from None
    with os.fdopen(handle, "wb") as file:
        if not stat.S_ISREG(os.fstat(file.fileno()).st_mode):
            raise UserError(f"{_shown(path)} is not a regular file (a device or pipe): svbot writes only files")
        os.ftruncate(file.fileno(), 0)  # only now: a refused target is left as it was
        try:
            file.write(data)
        except OSError as exc:
            raise UserError(f"cannot write {_shown(path)}: {exc.strerror}") from None


def _shown(path: Path) -> str:
    return one_line(str(path))[:200]


# ---------------------------------------------------------------- standard output


class TerminalSafe:
    """Standard output for `svbot` commands: text written to it loses its control characters
    (svbot.clean.terminal), so a name stored from a file cannot move the cursor, retitle the window
    or hide lines of a listing with escape codes. Bytes written to `.buffer` (a calendar, a Word
    file) pass untouched; everything else is the stream underneath (click sees its encoding)."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream

    def write(self, text: str) -> int:
        self._stream.write(terminal(text))  # bytes raise TypeError here: click then knows it is text
        return len(text)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


def guard_stdout() -> None:
    """Wrap sys.stdout in TerminalSafe for the rest of the process (once)."""
    if not isinstance(sys.stdout, TerminalSafe) and sys.stdout is not None:
        sys.stdout = TerminalSafe(sys.stdout)  # type: ignore[assignment]
