"""`svbot doctor`: check the settings, one line per check, with what to do about each problem."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import click
from sqlalchemy import make_url

from svbot.cli.common import DOCTOR_HINT, reach_database, shown_url
from svbot.config import Settings, settings_despite_problems
from svbot.errors import SettingError, UserError

HTTP_SECONDS = 10  # each outside call (Slack, Telegram, our own /healthz)


@dataclass(frozen=True, slots=True)
class Check:
    ok: bool
    line: str  # names the setting; when not ok, says what to do


@click.command()
def doctor() -> None:
    """Check the settings: time zone, database (reachable, migrated), Slack and Telegram tokens (one
    call each), SVBOT_PUBLIC_URL, secret keys. Exits non-zero when something needs fixing."""
    checks = asyncio.run(run_checks())
    for check in checks:
        mark = click.style("OK     ", fg="green") if check.ok else click.style("PROBLEM", fg="red", bold=True)
        click.echo(f"{mark} {check.line}")
    problems = sum(not check.ok for check in checks)
    if problems:
        click.echo(f"{problems} problem{'s' if problems != 1 else ''} to fix.", err=True)
        raise SystemExit(1)


async def run_checks() -> list[Check]:
    """Every check, each wrong setting reported (a wrong setting is taken at its default for the rest)."""
    settings, wrong = settings_despite_problems()
    checks = [Check(False, f"{line} (see the README's settings)") for line in wrong]
    if not any(line.startswith("SVBOT_TIMEZONE") for line in wrong):
        checks.append(Check(True, f"SVBOT_TIMEZONE: {settings.timezone}"))
    if not any(line.startswith("DATABASE_URL") for line in wrong):
        checks.append(await _database(settings))
    if settings.slack_bot_token is not None:
        checks.append(await _call("SLACK_BOT_TOKEN", "signed in to Slack as", _slack_whoami, settings))
    if settings.telegram_bot_token is not None:
        checks.append(await _call("TELEGRAM_BOT_TOKEN", "Telegram knows the bot as", _telegram_whoami, settings))
    if "public_url" in settings.model_fields_set:
        checks.append(await _public_url(settings.public_url))
    checks.extend(_secret_keys(settings))
    return checks


async def _database(settings: Settings) -> Check:
    """Reachable, and migrated to the newest revision (the embedded SQLite file migrates itself on start)."""
    url, shown = settings.async_database_url, shown_url(settings.database_url)
    embedded = url.startswith("sqlite")
    where = make_url(url).database or ""
    if embedded and where not in ("", ":memory:") and not Path(where).exists():
        return Check(True, f"DATABASE_URL: {shown} does not exist yet; svbot makes it when it first starts")
    try:
        await reach_database(settings.database_url)
    except SettingError as exc:
        return Check(False, str(exc).removesuffix(f" ({DOCTOR_HINT})"))
    current, head = await _revisions(url)
    if current == head:
        return Check(True, f"DATABASE_URL: {shown} is reachable and up to date")
    if embedded:
        return Check(True, f"DATABASE_URL: {shown} is reachable; svbot brings it up to date when it starts")
    return Check(False, f"DATABASE_URL: {shown} is reachable but not up to date: run `svbot db upgrade`")


async def _revisions(url: str) -> tuple[set[str], set[str]]:
    """The database's Alembic revisions and the newest ones svbot ships."""
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    from svbot.db import alembic_config, make_engine

    head = set(ScriptDirectory.from_config(alembic_config(url)).get_heads())
    engine = make_engine(url)
    try:
        async with engine.connect() as connection:
            current = await connection.run_sync(lambda sync: set(MigrationContext.configure(sync).get_current_heads()))
    finally:
        await engine.dispose()
    return current, head


async def _call(setting: str, said: str, call: Callable[[Settings], Awaitable[str]], settings: Settings) -> Check:
    try:
        async with asyncio.timeout(HTTP_SECONDS):
            who = await call(settings)
    except (ValueError, UserError) as exc:  # the channels' set-up errors: one line, no secrets
        return Check(False, f"{setting}: {exc}")
    except TimeoutError:
        return Check(False, f"{setting}: no answer within {HTTP_SECONDS} seconds: check the network")
    return Check(True, f"{setting}: {said} {who}")


async def _slack_whoami(settings: Settings) -> str:
    from svbot.channels.slack.setup import whoami

    return await whoami(settings)


async def _telegram_whoami(settings: Settings) -> str:
    from svbot.channels.telegram.setup import whoami

    return await whoami(settings)


async def _public_url(public_url: str) -> Check:
    """Where people (and Slack, Telegram) reach `svbot serve`: does it answer /healthz from here?"""
    import httpx

    address = public_url.rstrip("/") + "/healthz"
    try:
        async with httpx.AsyncClient(timeout=HTTP_SECONDS) as client:
            answer = await client.get(address)
    except httpx.HTTPError as exc:
        return Check(False, f"SVBOT_PUBLIC_URL: {address} did not answer ({type(exc).__name__}): "
                            "is `svbot serve` running there, and the address right?")  # fmt: skip
    if answer.status_code != 200:
        return Check(False, f"SVBOT_PUBLIC_URL: {address} answered {answer.status_code}, not 200: "
                            "does the address lead to `svbot serve`?")  # fmt: skip
    return Check(True, f"SVBOT_PUBLIC_URL: {address} answers")


def _secret_keys(settings: Settings) -> list[Check]:
    """SVBOT_SECRET_KEY beyond the embedded SQLite default (which keeps one it made); SVBOT_ENCRYPTION_KEY
    with Slack OAuth (each workspace's tokens are stored encrypted)."""
    checks = []
    if not settings.async_database_url.startswith("sqlite"):
        if settings.secret_key is None or not settings.secret_key.get_secret_value().strip():
            make = 'python -c "import secrets; print(secrets.token_urlsafe(48))"'
            checks.append(
                Check(
                    False, f"SVBOT_SECRET_KEY: not set; the dashboard needs it with PostgreSQL. Make one with: {make}"
                )
            )
        else:
            checks.append(Check(True, "SVBOT_SECRET_KEY: set"))
    if settings.slack_oauth_enabled:
        from svbot.channels.slack.tokens import fernet

        try:
            fernet(settings)
        except UserError as exc:
            checks.append(Check(False, str(exc)))
        else:
            checks.append(Check(True, "SVBOT_ENCRYPTION_KEY: set"))
    return checks


COMMANDS = (doctor,)
