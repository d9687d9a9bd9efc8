"""`svbot dashboard link`: a single-use sign-in link to the staff dashboard."""

from __future__ import annotations

import click
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from svbot.cli.common import PERSON_ID, SUPPORT_ORG_ID, FriendlyCommands, with_db
from svbot.config import get_settings
from svbot.errors import UserError
from svbot.models import Organisation, utcnow


@click.group(cls=FriendlyCommands)
def dashboard() -> None:
    """The staff dashboard (served by `svbot serve` at /dashboard)."""


@dashboard.command("link")
@click.option("--support-org", "support_org_id", type=SUPPORT_ORG_ID, default=None,
              help="The support organisation (default: the only one).")  # fmt: skip
@click.option("--user", "person_id", type=PERSON_ID, default=None,
              help="A staff member's person id (default: the first staff member names themselves).")  # fmt: skip
def dashboard_link(support_org_id: int | None, person_id: int | None) -> None:
    """Print a sign-in link that works once, for 15 minutes. Without --user, whoever opens it names
    themselves and becomes a staff member of the support organisation: send it only to them."""
    from svbot.dashboard import auth

    settings = get_settings()

    async def work(sessionmaker: async_sessionmaker[AsyncSession]) -> tuple[str, str]:
        async with sessionmaker() as session, session.begin():
            supports = list(await session.scalars(select(Organisation).where(Organisation.kind == "support")))
            if support_org_id is not None:
                chosen = next((o for o in supports if o.id == support_org_id), None)
                if chosen is None:
                    raise UserError(f"there is no support organisation with id {support_org_id}; "
                                    "`svbot support create NAME` makes one")  # fmt: skip
            elif len(supports) == 1:
                chosen = supports[0]
            elif not supports:
                raise UserError("there is no support organisation yet; `svbot support create NAME` makes one")
            else:
                listed = ", ".join(f"{o.id} ({o.name})" for o in supports[:10])
                raise UserError(f"say which support organisation with --support-org: {listed}")
            if person_id is not None and not await auth.is_staff(session, person_id, chosen.id):
                raise UserError(f"person {person_id} is not staff (support_admin) of {chosen.name}")
            try:
                link = await auth.make_link(session, settings, chosen.id, person_id, utcnow())
            except auth.SecretKeyMissing as exc:
                raise UserError(str(exc)) from None
            await auth.secret_key(session, settings)  # made now, so the first sign-in does not race for it
            return link, chosen.name

    try:
        link, name = with_db(work, settings)
    except auth.SecretKeyMissing as exc:
        raise UserError(str(exc)) from None
    click.echo(link)
    click.echo(f"Signs in to the dashboard of {name}; works once, for {auth.LINK_MINUTES} minutes. "
               "Start the web process with `svbot serve` first.", err=True)  # fmt: skip


COMMANDS = (dashboard,)
