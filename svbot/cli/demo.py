"""`svbot demo [--remove]`: load (or take away) svbot's sample data, so a new install has something to
look at: the annual report, the dashboard and a broadcast show it at once. See svbot/demo/."""

from __future__ import annotations

from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

import click

from svbot.cli.common import FriendlyCommand, with_app
from svbot.errors import UserError
from svbot.models import utcnow

if TYPE_CHECKING:
    from svbot.app import App
    from svbot.demo import Loaded


@click.command(cls=FriendlyCommand)
@click.option("--remove", is_flag=True, help="Delete the sample data again (and nothing else).")
def demo(remove: bool) -> None:
    """Load sample data (marked "(sample)"): a support organisation, members, grants, statements and reports."""
    from svbot import demo as sample

    now = utcnow()

    async def work(app: App) -> Loaded | int | None:
        if remove:
            return await sample.remove(app, now)
        try:
            return await sample.load(app, now, now.astimezone(ZoneInfo(app.settings.timezone)).date())
        except sample.DemoError as exc:
            raise UserError(f"the demo could not be loaded: {exc}") from None

    done = with_app(work)
    if remove:
        click.echo("The sample data is gone." if done is not None else "There is no sample data to remove.")
        return
    assert done is not None and not isinstance(done, int)
    _tell(done)


def _tell(loaded: Loaded) -> None:
    sid = loaded.support_org_id
    if loaded.already:
        click.echo(f"The sample data is already loaded: Sample CVS (demo data), support organisation {sid}.")
    else:
        click.echo(
            f"Loaded SAMPLE data (not real): Sample CVS (demo data), support organisation {sid}, with "
            f"{loaded.members} member organisations, {loaded.people} people, {loaded.grants} grants "
            f"({loaded.deadlines} monitoring reports due), {loaded.statements} finished statements and "
            f"{loaded.reports} reports sent, for {loaded.period}."
        )
    click.echo(
        "Try next:\n"
        f"  svbot report --support-org {sid} --period {loaded.period} --format html --out report.html\n"
        f"  svbot dashboard link --support-org {sid}      (then svbot serve, and open the link)\n"
        f"  svbot broadcast --support-org {sid} --to all --message 'Hello from the sample CVS'\n"
        "  svbot chat --user sample-ann                   (talk as Ann, a sample member: try 'due')\n"
        "  svbot chat                                     (start your own walk-through)\n"
        "Remove it all again with: svbot demo --remove"
    )


COMMANDS = (demo,)
