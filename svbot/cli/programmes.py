"""Commands: `svbot programme set` and `svbot programme list` (a grant programme's settings)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import click
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from svbot.cli.common import SUPPORT_ORG_ID, FriendlyCommands, read_day, with_db
from svbot.config import get_settings
from svbot.deadlines.models import FREQUENCIES
from svbot.errors import UserError


@click.group(cls=FriendlyCommands)
def programme() -> None:
    """Grant programmes (the 360Giving Grant Programme on grants): schedule, monitoring form, weighting."""


@programme.command("set")
@click.argument("code")
@click.option("--support-org", "support_org_id", type=SUPPORT_ORG_ID, required=True, help="The support organisation.")
@click.option("--title", default=None, help="The programme's name, as grantees know it.")
@click.option(
    "--schedule",
    type=click.Choice(FREQUENCIES[:-1]),
    default=None,
    help="How often its grantees report (applies to grants at their next import).",
)
@click.option("--form", "form", default=None, help="The monitoring form its reports use (a dialogue's id).")
@click.option("--weighting", default=None, help="How much social value weighs in its decisions, e.g. 10 or 12.5%.")
@click.option("--scored", type=click.Choice(["yes", "no"]), default=None,
              help="Was social value scored in its decisions this year? (for the annual report)")  # fmt: skip
@click.option(
    "--ignore-before", "ignore_before_text", default=None, help="Deadlines due before this date are not tracked."
)
def programme_set(
    code: str, support_org_id: int, title: str | None, schedule: str | None, form: str | None,
    weighting: str | None, scored: str | None, ignore_before_text: str | None,
) -> None:  # fmt: skip
    """Create or change a programme's settings. Only the options given change."""
    from svbot.deadlines.programmes import ProgrammeProblem, ProgrammeSettings, parse_weighting, set_programme

    settings = get_settings()
    try:
        changes = ProgrammeSettings(
            title=title,
            schedule=schedule,
            monitoring_form=form,
            weighting=parse_weighting(weighting) if weighting is not None else None,
            scored=None if scored is None else scored == "yes",
            ignore_before=read_day(ignore_before_text, "--ignore-before", settings.timezone)
            if ignore_before_text is not None
            else None,
        )
    except ProgrammeProblem as exc:
        raise UserError(str(exc)) from None

    async def work(sessionmaker: async_sessionmaker[AsyncSession]) -> str:
        try:
            async with sessionmaker() as session, session.begin():
                row = await set_programme(session, support_org_id, code, changes)
                return describe(row)
        except ProgrammeProblem as exc:
            raise UserError(str(exc)) from None

    click.echo(f"Programme {with_db(work, settings)}.")


@programme.command("list")
@click.option("--support-org", "support_org_id", type=SUPPORT_ORG_ID, required=True, help="The support organisation.")
def programme_list(support_org_id: int) -> None:
    """The support organisation's programmes and their settings."""
    from svbot.deadlines.programmes import ProgrammeProblem, list_programmes

    async def work(sessionmaker: async_sessionmaker[AsyncSession]) -> list[Any]:
        try:
            async with sessionmaker() as session:
                return [describe(row) for row in await list_programmes(session, support_org_id)]
        except ProgrammeProblem as exc:
            raise UserError(str(exc)) from None

    lines = with_db(work)
    if not lines:
        click.echo("No programmes yet: `svbot programme set CODE --support-org ID` adds one.")
    for line in lines:
        click.echo(line)


def describe(row: Any) -> str:
    """One line for `svbot programme list` (a `Programme` row)."""
    parts = [row.code + (f" ({row.title})" if row.title else "")]
    parts.append(f"schedule {row.schedule.replace('_', ' ')}" if row.schedule else "schedule: the default")
    parts.append(f"form {row.monitoring_form}" if row.monitoring_form else "form: the default")
    if row.social_value_weighting is not None:
        parts.append(f"social value weighting {_percent(row.social_value_weighting)}")
    if row.social_value_scored is not None:
        parts.append("social value scored" if row.social_value_scored else "social value not scored")
    if row.ignore_before is not None:
        parts.append(f"ignore deadlines before {row.ignore_before.isoformat()}")
    return "; ".join(parts)


def _percent(value: Decimal) -> str:
    text = f"{value:f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return f"{text}%"


COMMANDS = (programme,)
