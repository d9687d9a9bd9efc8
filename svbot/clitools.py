"""What every `svbot` sub-command shares: one-line errors, and a database for the length of a command."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import click
from sqlalchemy.exc import OperationalError, ProgrammingError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from svbot.config import Settings, get_settings
from svbot.errors import UserError

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


def with_db(
    work: Callable[[async_sessionmaker[AsyncSession]], Awaitable[T]], settings: Settings | None = None
) -> T:
    """Run `work` with a database session maker, then close the database."""
    settings = settings or get_settings()

    async def run() -> T:
        from svbot.db import make_engine, make_sessionmaker, upgrade_async

        url = settings.async_database_url
        if url.startswith("sqlite"):
            await upgrade_async(url)  # the embedded database sets itself up, as `svbot chat` does
        engine = make_engine(url)
        try:
            return await work(make_sessionmaker(engine))
        finally:
            await engine.dispose()

    try:
        return asyncio.run(run())
    except (OperationalError, ProgrammingError) as exc:
        if "no such table" in str(exc) or "does not exist" in str(exc):
            raise UserError("the database is not set up yet: run `svbot db upgrade`") from None
        raise UserError(f"database problem: {str(exc.orig).splitlines()[0][:200]}") from None
