"""Commands: `svbot support ...` (organisations, their language), `svbot invite`, `svbot broadcast`,
`svbot broadcasts send|status`, `svbot digest run` and `svbot report`."""

from __future__ import annotations

import asyncio
import sys
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar
from zoneinfo import ZoneInfo

import click
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from svbot.clean import one_line
from svbot.cli.common import (
    MEMBER_ORG_ID,
    ORG_ID,
    SUPPORT_ORG_ID,
    FriendlyCommand,
    FriendlyCommands,
    force_option,
    with_app,
    with_db,
    write_file,
)
from svbot.config import get_settings
from svbot.errors import UserError
from svbot.files import FileRefused, read_regular
from svbot.models import Organisation, utcnow

if TYPE_CHECKING:
    from svbot.app import App

T = TypeVar("T")


# ---------------------------------------------------------------- organisations


@click.group(cls=FriendlyCommands)
def support() -> None:
    """Support organisations and their member organisations."""


@support.command("create")
@click.argument("name")
@click.option("--framework", default=None, help="Framework id its members describe their value against.")
def support_create(name: str, framework: str | None) -> None:
    """Create a support organisation; prints its id."""
    _check_framework(framework)

    async def work(db: async_sessionmaker[AsyncSession]) -> int:
        async with db() as session, session.begin():
            organisation = Organisation(name=_name(name), kind="support", framework_id=framework)
            session.add(organisation)
            await session.flush()
            return organisation.id

    click.echo(with_db(work))


@support.command("add-org")
@click.option("--support-org", type=SUPPORT_ORG_ID, required=True, help="The support organisation's id.")
@click.option("--name", default=None, help="Name of a new member organisation.")
@click.option("--org", "org_id", type=MEMBER_ORG_ID, default=None, help="Or the id of an existing organisation to add.")
@click.option("--external-id", default=None, help="Charity number or 360Giving recipient id.")
def support_add_org(support_org: int, name: str | None, org_id: int | None, external_id: str | None) -> None:
    """Add a member organisation (new, or existing with --org); prints its id."""
    if (name is None) == (org_id is None):
        raise UserError("give either --name (a new organisation) or --org (an existing one)")

    async def work(db: async_sessionmaker[AsyncSession]) -> int:
        async with db() as session, session.begin():
            await _support_org(session, support_org)
            if org_id is not None:
                organisation = await session.get(Organisation, org_id)
                if organisation is None or organisation.kind != "member":
                    raise UserError(f"there is no member organisation with id {org_id}")
                organisation.support_org_id = support_org
            else:
                organisation = Organisation(name=_name(name or ""), kind="member", support_org_id=support_org)
                session.add(organisation)
            if external_id:
                organisation.external_id = external_id
            await session.flush()
            return organisation.id

    click.echo(with_db(work))


@support.command("list")
def support_list() -> None:
    """Support organisations and how many members each has."""

    async def work(db: async_sessionmaker[AsyncSession]) -> list[tuple[Organisation, int]]:
        from svbot.support.access import member_orgs

        async with db() as session:
            supports = (await session.scalars(select(Organisation).where(Organisation.kind == "support"))).all()
            return [(s, len(await member_orgs(session, s.id))) for s in supports]

    found = with_db(work)
    if not found:
        click.echo("No support organisations yet: svbot support create NAME")
    for organisation, members in found:
        framework = f", framework {organisation.framework_id}" if organisation.framework_id else ""
        click.echo(f"{organisation.id:>6}  {organisation.name} ({members} members{framework})")


@support.command("set-locale")
@click.argument("org_id", type=ORG_ID)
@click.argument("locale")
def support_set_locale(org_id: int, locale: str) -> None:
    """Set the language svbot speaks to an organisation's members (a support organisation's: to its
    admins), for example cy. A person's own conversation locale, if set, comes first; en: English."""
    from svbot.text import ENGLISH, has_texts, locales

    locale = locale.strip()
    if len(locale) > 16 or not has_texts(locale):
        known = ", ".join(locales())
        raise UserError(f"svbot has no texts in {locale!r} (a language is svbot/texts/LOCALE.yaml); it has: {known}")

    async def work(db: async_sessionmaker[AsyncSession]) -> str:
        async with db() as session, session.begin():
            organisation = await session.get(Organisation, org_id)
            if organisation is None:
                raise UserError(f"there is no organisation with id {org_id}")
            organisation.locale = None if locale == ENGLISH else locale  # NULL: English
            return organisation.name

    name = with_db(work)
    click.echo(f"{name} ({org_id}) now hears svbot in {locale}.")


# ---------------------------------------------------------------- invites


@click.command(cls=FriendlyCommand)
@click.option("--org", "org_id", type=ORG_ID, required=True, help="The organisation to join.")
@click.option(
    "--role",
    type=click.Choice(["member", "org_admin", "support_admin"]),
    default="member",
    show_default=True,
    help="The role the code gives.",
)
@click.option("--uses", type=int, default=1, show_default=True, help="How many people may use it.")
@click.option("--days", type=float, default=14, show_default=True, help="Days until it expires.")
def invite(org_id: int, role: str, uses: int, days: float) -> None:
    """Print a join code; the person sends `join CODE` to svbot in any chat."""
    from svbot.support.invites import InviteError, create_invite

    async def work(db: async_sessionmaker[AsyncSession]) -> Any:
        async with db() as session, session.begin():
            try:
                return await create_invite(session, org_id, utcnow(), role=role, uses=uses, days=days)
            except InviteError as exc:
                raise UserError(str(exc)) from None

    made = with_db(work)
    click.echo(made.code)
    link = _telegram_link(made.code)
    if link:
        click.echo(link)
    times = "once" if made.max_uses == 1 else f"{made.max_uses} times"
    on_telegram = f"; on Telegram, one tap on {link} joins" if link else ""
    click.echo(
        f"Joins {made.organisation_name} as {made.role}; works {times}, until {made.expires_at:%Y-%m-%d %H:%M} UTC. "
        f"Send it as: join {made.code}{on_telegram}",
        err=True,
    )


def _telegram_link(code: str) -> str | None:
    """t.me/<bot>?start=CODE when Telegram is set up: the person taps it and presses Start."""
    from svbot.channels import telegram

    settings = get_settings()
    if not telegram.CHANNEL.enabled(settings):
        return None
    from svbot.channels.telegram.sender import TelegramSetupError
    from svbot.channels.telegram.setup import invite_link

    try:
        return asyncio.run(invite_link(settings, code))
    except TelegramSetupError as exc:  # the code still works typed: say why there is no link, and go on
        click.echo(f"svbot: no Telegram link: {exc} (or set TELEGRAM_BOT_USERNAME)", err=True)
        return None


# ---------------------------------------------------------------- broadcasts


@click.command(cls=FriendlyCommand)
@click.option("--to", "audience_text", required=True, help="all, overdue, programme:CODE or org:ID.")
@click.option("--message", required=True, help="The text to send.")
@click.option("--support-org", type=SUPPORT_ORG_ID, default=None, help="Which support organisation (if several).")
@click.option("--send", "send_now", is_flag=True, help="Send it now, showing progress (else the clock sends it).")
def broadcast(audience_text: str, message: str, support_org: int | None, send_now: bool) -> None:
    """Queue a message to members: one outbox row per person we can reach."""
    from svbot.support import broadcasts

    settings = get_settings()
    today = utcnow().astimezone(ZoneInfo(settings.timezone)).date()

    async def work(db: async_sessionmaker[AsyncSession]) -> tuple[int, int, str]:
        async with db() as session, session.begin():
            sid = await _pick_support_org(session, support_org)
            try:
                audience = broadcasts.parse_audience(audience_text)
                text = broadcasts.check_message(message)
                row = await broadcasts.draft(session, sid, audience, text)
                count = await broadcasts.queue(session, row, utcnow(), today)
            except broadcasts.BroadcastError as exc:
                raise UserError(str(exc)) from None
            return row.id, count, await broadcasts.describe(session, sid, audience)

    async def queue_and_maybe_send(app: App) -> tuple[int, int, str]:
        db = app.bot.sessionmaker
        queued = await work(db)
        click.echo(f"Broadcast {queued[0]}: queued for {queued[1]:,} people ({queued[2]}).")
        if send_now and queued[1]:
            await _send_all(app, workers=8)
            await _print_status(db, queued[0])
        return queued

    _, count, _ = with_app(queue_and_maybe_send, settings)
    if count and not send_now:
        click.echo("svbot clock (or svbot broadcasts send) delivers it.", err=True)


@click.group(cls=FriendlyCommands)
def broadcasts() -> None:
    """Deliver broadcasts and see how they went."""


@broadcasts.command("send")
@click.option("--workers", type=int, default=8, show_default=True, help="Messages in flight at once.")
@click.option("--telegram-rate", type=float, default=None, help="Telegram messages a second (default 29.5).")
@click.option(
    "--slack-interval", type=float, default=1.0, show_default=True, help="Seconds between two to one channel."
)
@click.option("--watch", type=float, default=None, help="Keep running: look for new work every this many seconds.")
def broadcasts_send(workers: int, telegram_rate: float | None, slack_interval: float, watch: float | None) -> None:
    """Send everything waiting in the outbox at the platforms' limits, with progress reports to the
    admins who asked, until nothing is left. With --watch it keeps going and also plans the weekly
    digest; a process restarted after a crash picks up the dead one's messages when its claims expire."""
    settings = get_settings()

    changes: dict[str, dict[str, Any]] = {"slack": {"per_chat_interval": slack_interval}}
    if telegram_rate is not None:
        changes["telegram"] = {"per_second": telegram_rate}

    async def work(app: App) -> None:
        from svbot.support import clock_pass

        while True:
            await clock_pass(app.bot.sessionmaker, utcnow(), settings.timezone)
            await _send_all(app, workers=workers, limits=changes)
            if watch is None:
                return
            await asyncio.sleep(watch)

    try:
        with_app(work, settings)
    except KeyboardInterrupt:
        click.echo("svbot broadcasts send: stopped.", err=True)


@broadcasts.command("status")
@click.argument("broadcast_id", type=int)
def broadcasts_status(broadcast_id: int) -> None:
    """The delivery report of one broadcast: sent, failed (with reasons) and still pending."""

    async def work(db: async_sessionmaker[AsyncSession]) -> None:
        await _print_status(db, broadcast_id)

    with_db(work)


async def _send_all(app: App, *, workers: int, limits: dict[str, dict[str, Any]] | None = None) -> None:
    from svbot.app import close_senders
    from svbot.support.broadcasts import follow_up
    from svbot.support.sending import send_outbox

    db = app.bot.sessionmaker
    senders = app.senders(workers=workers)
    if not senders:
        raise UserError("no chat platform is set up (TELEGRAM_BOT_TOKEN, SLACK_BOT_TOKEN): nothing can be sent")
    limiter = app.limiter(**(limits or {}))

    async def progress(total: Any) -> None:
        await follow_up(db)
        click.echo(f"sent {total.sent:,}, failed {total.failed:,}, will retry {total.retried:,}", err=True)

    try:
        while True:
            await send_outbox(db, senders, limiter=limiter, workers=workers, on_batch=progress)
            if not await follow_up(db):  # the final reports are outbox rows too: send them as well
                break
    finally:
        await close_senders(senders)


async def _print_status(db: async_sessionmaker[AsyncSession], broadcast_id: int) -> None:
    from svbot.support.broadcasts import delivery_report, describe, format_report, parse_audience
    from svbot.support.models import Broadcast

    async with db() as session:
        row = await session.get(Broadcast, broadcast_id)
        if row is None:
            raise UserError(f"there is no broadcast with id {broadcast_id}")
        report = await delivery_report(session, broadcast_id)
        what = await describe(session, row.support_org_id, parse_audience(row.audience))
    click.echo(format_report(report, what, final=report.finished, limit=1000))
    click.echo(f"sent {report.sent}, failed {len(report.failed)}, pending {report.pending}, total {report.total}")


# ---------------------------------------------------------------- digest


@click.group(cls=FriendlyCommands)
def digest() -> None:
    """The weekly digest of overdue reports, for support admins."""


@digest.command("run")
@click.option("--now", "now_text", default=None, help="Act as if it were this time (ISO; default: now).")
@click.option("--send/--no-send", default=True, show_default=True, help="Also send what was queued.")
def digest_run(now_text: str | None, send: bool) -> None:
    """Queue this week's digests (from Monday 09:00) and send them. Safe to run every few minutes."""
    settings = get_settings()
    now = _parse_when(now_text, settings.timezone) if now_text else utcnow()

    async def work(app: App) -> tuple[int, int]:
        from svbot.app import close_senders
        from svbot.delivery.dispatcher import Dispatcher
        from svbot.support.digest import plan_digests

        db = app.bot.sessionmaker
        queued = await plan_digests(db, now, settings.timezone)
        if not send:
            return queued, 0
        senders = app.senders()
        try:
            return queued, (await Dispatcher(db, senders, app.limiter()).drain(now)).sent
        finally:
            await close_senders(senders)

    queued, sent = with_app(work, settings)
    click.echo(f"Queued {queued} digests; sent {sent} messages.")


# ---------------------------------------------------------------- the annual report

FOREWORD_LIMIT = 1024 * 1024  # a foreword is a page or two of text
LOGO_LIMIT = 10 * 1024 * 1024


@click.command(cls=FriendlyCommand)
@click.option("--support-org", type=SUPPORT_ORG_ID, required=True, help="The support organisation's id.")
@click.option("--period", required=True, help="The report year, like 2026-27 (April to March).")
@click.option("--framework", default=None, help="Framework id (default: the support organisation's).")
@click.option("--format", "fmt", type=click.Choice(["html", "docx"]), default="html", show_default=True)
@click.option("--out", type=click.Path(path_type=Path), default=None, help="File to write ('-' for stdout).")
@force_option
@click.option(
    "--foreword",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="A UTF-8 text file with your foreword and recommendations (paragraphs split by blank lines).",
)
@click.option(
    "--logo", type=click.Path(path_type=Path, dir_okay=False), default=None, help="A PNG or JPEG for the title page."
)
def report(
    support_org: int,
    period: str,
    framework: str | None,
    fmt: str,
    out: Path | None,
    foreword: Path | None,
    logo: Path | None,
    force: bool,
) -> None:
    """The annual social value report across members' statements and monitoring reports of the year."""
    from svbot.knowledge import default_knowledge
    from svbot.support.report import ReportError, build_report, has_png_charts, render_report

    settings = get_settings()
    now = utcnow()
    today = now.astimezone(ZoneInfo(settings.timezone)).date()
    words = None
    # Read as imports are (svbot.files): a FIFO or /dev/zero named here must not hang or fill memory.
    if foreword is not None:
        try:
            words = read_regular(foreword, FOREWORD_LIMIT).decode("utf-8")
        except (FileRefused, UnicodeDecodeError) as exc:
            raise UserError(f"cannot read the foreword: {exc}") from None
    picture = None
    if logo is not None:
        try:
            picture = read_regular(logo, LOGO_LIMIT)
        except FileRefused as exc:
            raise UserError(f"cannot read the logo: {exc}") from None

    async def work(db: async_sessionmaker[AsyncSession]) -> Any:
        async with db() as session:
            try:
                return await build_report(
                    session,
                    support_org,
                    period.strip(),
                    knowledge,
                    framework_id=framework,
                    today=today,
                    foreword=words,
                    logo=picture,
                )
            except ReportError as exc:
                raise UserError(str(exc)) from None

    knowledge = default_knowledge()
    made = with_db(work, settings)
    content = render_report(made, fmt, created=now)
    data = content.encode("utf-8") if isinstance(content, str) else content
    if out is not None and str(out) == "-":
        sys.stdout.buffer.write(data)
        return
    target = out or Path(f"social-value-report-{made.period}.{fmt}")
    write_file(target, data, force=force)
    click.echo(
        f"Wrote {one_line(target)}: {made.statements} of {made.members} members, "
        f"{len(made.covered)} objectives covered.",
        err=True,
    )
    if fmt == "docx" and not has_png_charts():
        click.echo("The Word file has no charts: pip install 'svbot[charts]' adds them (the HTML has its own).",
                   err=True)  # fmt: skip


# ---------------------------------------------------------------- helpers


def _name(name: str) -> str:
    name = name.strip()
    if not name:
        raise UserError("the name is empty")
    return name[:300]


def _check_framework(framework: str | None) -> None:
    if framework is None:
        return
    from svbot.knowledge import default_knowledge

    known = default_knowledge().frameworks
    if framework not in known:
        raise UserError(f"there is no framework {framework!r}; known: {', '.join(known)}")


async def _support_org(session: AsyncSession, support_org_id: int) -> Organisation:
    organisation = await session.get(Organisation, support_org_id)
    if organisation is None or organisation.kind != "support":
        raise UserError(f"there is no support organisation with id {support_org_id}")
    return organisation


async def _pick_support_org(session: AsyncSession, support_org_id: int | None) -> int:
    if support_org_id is not None:
        return (await _support_org(session, support_org_id)).id
    ids = (await session.scalars(select(Organisation.id).where(Organisation.kind == "support"))).all()
    if len(ids) == 1:
        return ids[0]
    if not ids:
        raise UserError("there is no support organisation yet: svbot support create NAME")
    raise UserError("there are several support organisations: say which with --support-org ID")


def _parse_when(text: str, timezone: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise UserError(f"{text!r} is not a time; write it like 2027-01-28T09:00") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=ZoneInfo(timezone))


COMMANDS = (support, invite, broadcast, broadcasts, digest, report)
