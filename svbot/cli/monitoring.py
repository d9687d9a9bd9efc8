"""Commands: `svbot monitoring export` (a deadline's monitoring report, as written in chat)."""

from __future__ import annotations

import click
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from svbot.clean import one_line
from svbot.cli.common import DEADLINE_ID, FriendlyCommands, force_option, with_db, write_file
from svbot.errors import UserError


@click.group(cls=FriendlyCommands)
def monitoring() -> None:
    """Monitoring reports written with svbot ("write report" in chat)."""


@monitoring.command("export")
@click.option("--deadline", "deadline_id", required=True, type=DEADLINE_ID, help="The deadline (svbot deadlines list).")
@click.option("--format", "fmt", type=click.Choice(["md", "html", "docx", "txt"]), default="md", show_default=True)
@click.option("--out", type=click.Path(dir_okay=False), help="Write to this file (default: print).")
@force_option
def monitoring_export(deadline_id: int, fmt: str, out: str | None, force: bool) -> None:
    """A deadline's monitoring report (draft or submitted), as Markdown, HTML, Word or plain text."""

    async def work(sessionmaker: async_sessionmaker[AsyncSession]) -> str | bytes | None:
        from svbot.deadlines.models import Deadline
        from svbot.monitoring import export

        async with sessionmaker() as session:
            if await session.get(Deadline, deadline_id) is None:
                raise UserError(f"there is no deadline with id {deadline_id} (svbot deadlines list shows them)")
            return await export(session, deadline_id, fmt)

    content = with_db(work)
    if content is None:
        raise UserError(f"deadline {deadline_id} has no report yet (say write report in chat to start one)")
    if out:
        data = content if isinstance(content, bytes) else content.encode("utf-8")
        write_file(out, data, force=force)
        click.echo(f"Wrote {one_line(out)}")
    elif isinstance(content, bytes):
        raise UserError("a Word file can't be printed: add --out report.docx")
    else:
        click.echo(content, nl=False)


COMMANDS = (monitoring,)
