"""`svbot data ...`: UK GDPR requests an admin answers (access and erasure, within one month), the
privacy contact shown to members, and one retention pass. See docs/privacy.md."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

import click

from svbot.clean import one_line
from svbot.cli.common import ORG_ID, PERSON_ID, FriendlyCommands, force_option, with_app, write_file
from svbot.config import get_settings
from svbot.errors import UserError
from svbot.models import utcnow

if TYPE_CHECKING:
    from svbot.app import App


@click.group(cls=FriendlyCommands)
def data() -> None:
    """Personal data: export (access requests), erase, the privacy contact, retention, the token key."""


def _subject(person: int | None, org: int | None) -> tuple[str, int]:
    from svbot.privacy.models import ORGANISATION, PERSON

    if (person is None) == (org is None):
        raise UserError("say whose data: --person ID or --org ID (one of them)")
    return (PERSON, person) if person is not None else (ORGANISATION, org)  # type: ignore[return-value]


@data.command("export")
@click.option("--person", "person_id", type=PERSON_ID, default=None, help="A person's id.")
@click.option("--org", "org_id", type=ORG_ID, default=None, help="An organisation's id.")
@click.option("--format", "fmt", type=click.Choice(["json", "txt"]), default="json", show_default=True,
              help="json: everything; txt: a readable summary.")  # fmt: skip
@click.option("--out", type=click.Path(dir_okay=False), help="Write to this file (default: print).")
@force_option
def data_export(person_id: int | None, org_id: int | None, fmt: str, out: str | None, force: bool) -> None:
    """Everything svbot holds about a person or an organisation (answer an access request within a month)."""
    from svbot.privacy.export import as_json, organisation_data, person_data, summary
    from svbot.privacy.models import EXPORT, PERSON
    from svbot.privacy.requests import CLI, log_request

    subject, subject_id = _subject(person_id, org_id)
    now = utcnow()

    async def work(app: App) -> str:
        async with app.bot.sessionmaker() as session, session.begin():
            read = person_data if subject == PERSON else organisation_data
            found = await read(session, subject_id)
            if found is None:
                raise UserError(f"there is no {subject} with id {subject_id}")
            counts = {name: len(value) for name, value in found.items() if isinstance(value, list)}
            await log_request(session, EXPORT, subject, subject_id, CLI, now, {**counts, "format": fmt})
        return as_json(found) if fmt == "json" else summary(found, subject, now.date())

    content = with_app(work)
    if out:
        write_file(out, content.encode("utf-8"), force=force)
        click.echo(f"Wrote {one_line(out)}")
    else:
        click.echo(content, nl=False)


@data.command("erase")
@click.option("--person", "person_id", type=PERSON_ID, default=None, help="A person's id.")
@click.option("--org", "org_id", type=ORG_ID, default=None, help="An organisation's id: it and everything of it.")
@click.option("--blank-texts", is_flag=True, help="A person: also blank the long texts they wrote for organisations.")
@click.option("--yes", "confirmed", is_flag=True, help="Do not ask for confirmation.")
def data_erase(person_id: int | None, org_id: int | None, blank_texts: bool, confirmed: bool) -> None:
    """Erase a person's personal data, or delete an organisation and everything of it. Cannot be undone."""
    from svbot.privacy.erase import erase_organisation, erase_person, free_text_steps
    from svbot.privacy.models import PERSON
    from svbot.privacy.requests import CLI

    subject, subject_id = _subject(person_id, org_id)
    if not confirmed and not _confirm(f"Erase {subject} {subject_id}? This cannot be undone."):
        raise UserError("nothing was erased (to erase without being asked, add --yes)")
    now = utcnow()

    async def work(app: App) -> Any:
        async with app.bot.sessionmaker() as session, session.begin():
            if subject == PERSON:
                return await erase_person(session, subject_id, now=now, requested_by=CLI, blank_texts=blank_texts,
                                          free_text=free_text_steps(app.bot.dialogues))  # fmt: skip
            return await erase_organisation(session, subject_id, now=now, requested_by=CLI)

    erased = with_app(work)
    if erased is None:
        raise UserError(f"there is no {subject} with id {subject_id}")
    removed = ", ".join(f"{name.replace('_', ' ')} {count}" for name, count in sorted(erased.counts.items()))
    click.echo(f"Erased {subject} {subject_id}" + (f" ({removed})." if removed else "."))


@data.command("contact")
@click.option("--org", "org_id", type=ORG_ID, required=True, help="The (support) organisation.")
@click.argument("contact", required=False)
def data_contact(org_id: int, contact: str | None) -> None:
    """Show, or set, whom the organisation's people ask about privacy (shown in the privacy notice)."""
    from svbot.models import Organisation
    from svbot.privacy.models import PrivacyContact

    async def work(app: App) -> str | None:
        async with app.bot.sessionmaker() as session, session.begin():
            if await session.get(Organisation, org_id) is None:
                raise UserError(f"there is no organisation with id {org_id}")
            row = await session.get(PrivacyContact, org_id)
            if contact is None:
                return row.contact if row else None
            if row is None:
                session.add(PrivacyContact(organisation_id=org_id, contact=contact.strip()[:300], updated_at=utcnow()))
            else:
                row.contact, row.updated_at = contact.strip()[:300], utcnow()
            return contact.strip()[:300]

    shown = with_app(work)
    click.echo(shown if shown else "No privacy contact set: the notice says SVBOT_PRIVACY_CONTACT, if set.")


@data.command("retention")
@click.option("--now", "now_text", default=None, help="Act as if it were this time (ISO; default: now).")
def data_retention(now_text: str | None) -> None:
    """One retention pass (svbot clock runs one every hour): forget what is older than the settings keep."""
    from svbot.cli.deadlines import parse_when
    from svbot.privacy.erase import free_text_steps
    from svbot.privacy.retention import apply_retention

    settings = get_settings()
    now: datetime = parse_when(now_text, settings.timezone) if now_text else utcnow()

    async def work(app: App) -> Any:
        return await apply_retention(app.bot.sessionmaker, now, settings, free_text_steps(app.bot.dialogues))

    done = with_app(work, settings)
    click.echo(f"Forgot {done.outbox} sent messages, {done.events} event keys, {done.buttons} button keys, "
               f"and the free text of {done.conversations} abandoned conversations.")  # fmt: skip


@data.command("rotate-key")
def data_rotate_key() -> None:
    """Re-encrypt every stored Slack token with the first key in SVBOT_ENCRYPTION_KEY (plain ones too)."""
    from svbot.channels.slack.tokens import fernet, rotate

    settings = get_settings()
    keys = fernet(settings)

    async def work(app: App) -> Any:
        async with app.bot.sessionmaker() as session, session.begin():
            return await rotate(session, keys)

    done = with_app(work, settings)
    click.echo(f"Re-encrypted the Slack tokens of {done.rows} rows with the first key "
               f"({done.plain} of them were in plain text).")  # fmt: skip


def _confirm(question: str) -> bool:
    try:
        return click.confirm(question, err=True)
    except click.exceptions.Abort:  # no answer (input is not a terminal, or Ctrl-D)
        click.echo("", err=True)
        return False


COMMANDS = (data,)
