"""What every `svbot` sub-command shares: one-line errors, and a database for the length of a command."""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import Awaitable, Callable
from datetime import date
from typing import TYPE_CHECKING, Any, TypeVar

import click
from sqlalchemy.exc import OperationalError, ProgrammingError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from svbot.config import Settings, get_settings
from svbot.dialogue.spec import DialogueError
from svbot.errors import UserError
from svbot.knowledge import KnowledgeError

if TYPE_CHECKING:
    from svbot.app import App

T = TypeVar("T")


class FriendlyCommand(click.Command):
    """A `UserError` becomes one line on stderr and exit status 1, never a traceback."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except UserError as exc:
            click.echo(f"svbot: {exc}", err=True)
            raise SystemExit(1) from None


class FriendlyCommands(click.Group):
    command_class = FriendlyCommand


def with_app(work: Callable[[App], Awaitable[T]], settings: Settings | None = None) -> T:
    """Build the app (`svbot.app`) from the settings, run `work` with it, then close it."""
    settings = settings or get_settings()

    async def run() -> T:
        from svbot.app import open_app

        async with open_app(settings) as app:
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
