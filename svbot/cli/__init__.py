"""The `svbot` command: every sub-command and process entry point lives in this package.

Here: the group, `db upgrade`, and the commands that run a conversation or a process (chat, serve, the
Slack and Telegram workers, statement export). `deadlines` and `support` hold the grant, reminder and
support-organisation commands. Each builds the app through `svbot.app` (see `common.with_app`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import click
from pydantic import ValidationError

from svbot.clean import one_line
from svbot.cli import dashboard as dashboard_commands
from svbot.cli import data as data_commands
from svbot.cli import deadlines as deadline_commands
from svbot.cli import demo as demo_commands
from svbot.cli import monitoring as monitoring_commands
from svbot.cli import orgs as org_commands
from svbot.cli import programmes as programme_commands
from svbot.cli import support as support_commands
from svbot.cli.common import (
    ORG_ID,
    force_option,
    guard_stdout,
    setting_problems_text,
    stop_on_signals,
    with_app,
    write_file,
)
from svbot.cli.doctor import doctor
from svbot.config import get_settings, settings_despite_problems
from svbot.errors import UserError

if TYPE_CHECKING:
    from svbot.app import App


class FriendlyGroup(click.Group):
    """Turn errors a user can cause into one line on stderr and a non-zero exit, not a traceback."""

    def invoke(self, ctx: click.Context):  # type: ignore[no-untyped-def]
        try:
            return super().invoke(ctx)
        except (click.ClickException, click.exceptions.Exit, click.exceptions.Abort, SystemExit):
            raise
        except KeyboardInterrupt:
            raise SystemExit(130) from None
        except UserError as exc:
            click.echo(f"svbot: {one_line(exc)}", err=True)  # a file's name or a stored name may be in it
            raise SystemExit(1) from None
        except ValidationError as exc:  # a wrong setting (svbot/config.py): one line each
            click.echo(setting_problems_text(exc), err=True)
            raise SystemExit(1) from None


@click.group(cls=FriendlyGroup)
@click.version_option(package_name="svbot")
@click.pass_context
def main(ctx: click.Context) -> None:
    """svbot: show your social value and never miss a monitoring report."""
    from svbot.logging import secrets_from_settings, setup_logging

    # Processes that run unattended log what they do; the rest only warnings (a chat stays readable).
    quiet = ctx.invoked_subcommand not in ("serve", "clock", "telegram-poll", "slack-socket", "db")
    # Settings with a wrong one replaced by its default: the command itself then says what is wrong
    # (and `svbot doctor` still runs), while every secret that is set is redacted from the start.
    secrets = secrets_from_settings(settings_despite_problems()[0])
    # In the terminal chat the log shares the screen with the conversation: only errors show there.
    level = "ERROR" if ctx.invoked_subcommand == "chat" else "WARNING" if quiet else "INFO"
    setup_logging(default_level=level, secrets=secrets)
    if ctx.invoked_subcommand != "chat":  # the console channel cleans what it shows itself, with styles
        guard_stdout()  # listings show names stored from files: no escape code in them reaches the terminal


@main.group()
def db() -> None:
    """Database commands."""


@db.command("upgrade")
def db_upgrade() -> None:
    """Apply database migrations."""
    import asyncio

    from svbot.cli.common import reach_database
    from svbot.db import upgrade

    url = get_settings().database_url
    asyncio.run(reach_database(url))  # a server that is down: one line, not Alembic's traceback
    upgrade(url)
    click.echo("Database is up to date.")


@main.command()
@click.option("--user", default=None, help="Who you are in this chat (default: your login name).")
def chat(user: str | None) -> None:
    """Talk to svbot in the terminal. Reads one answer per line when input is piped."""
    from svbot.channels.console import ConsoleChannel, default_user

    async def work(app: App) -> None:
        await ConsoleChannel(app.bot, user or default_user()).run()

    with_app(work)


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8000, show_default=True, type=int, envvar="PORT", help="Port (or $PORT).")
def serve(host: str, port: int) -> None:
    """The web process: POST /slack/events, POST /telegram/webhook, GET /healthz."""
    import uvicorn

    from svbot.web_limits import quiet_repeats, raise_open_files_limit, uvicorn_options

    async def work(app: App) -> None:
        # log_config=None: uvicorn's records go through svbot's logging (JSON lines, redacted). The
        # limits (svbot/web_limits.py, docs/deploy.md) keep slow or greedy clients from taking it down.
        options = uvicorn_options(raise_open_files_limit(app.settings.max_connections))
        config = uvicorn.Config(app.web_app(), host=host, port=port, log_level="info", log_config=None, **options)
        quiet_repeats()
        await uvicorn.Server(config).serve()

    with_app(work)


@main.group()
def statement() -> None:
    """Draft evidence statements."""


@statement.command("export")
@click.option("--org", "org_id", required=True, type=ORG_ID, help="The organisation's id.")
@click.option("--format", "fmt", type=click.Choice(["md", "html", "docx", "txt"]), default="md", show_default=True)
@click.option("--out", type=click.Path(dir_okay=False), help="Write to this file (default: print).")
@force_option
def statement_export(org_id: int, fmt: str, out: str | None, force: bool) -> None:
    """The organisation's latest draft evidence statement, as Markdown, HTML, Word or plain text."""

    async def work(app: App) -> str | bytes:
        from svbot.evidence import export, latest_statement

        async with app.bot.sessionmaker() as session:
            record = await latest_statement(session, org_id)
        if record is None:
            raise UserError(f"organisation {org_id} has no statement yet (finish a walk-through in chat first)")
        return export(record, app.bot.knowledge, fmt)

    content = with_app(work)
    if out:
        data = content if isinstance(content, bytes) else content.encode("utf-8")
        write_file(out, data, force=force)
        click.echo(f"Wrote {one_line(out)}")
    elif isinstance(content, bytes):
        raise UserError("a Word file can't be printed: add --out statement.docx")
    else:
        click.echo(content, nl=False)


@main.command("slack-socket")
def slack_socket() -> None:
    """Talk to Slack over Socket Mode (for installs without a public URL)."""
    _run_worker("slack", "svbot is listening to Slack over Socket Mode. Press Ctrl+C to stop.")


@main.command("telegram-poll")
def telegram_poll() -> None:
    """Talk to Telegram by long polling (for installs without a public URL)."""
    _run_worker("telegram", "svbot is listening to Telegram. Press Ctrl+C to stop.")


def _run_worker(name: str, greeting: str) -> None:
    """Run a channel's own loop (polling, Socket Mode) until SIGINT or SIGTERM."""
    from svbot.app import CHANNELS

    channel = next(channel for channel in CHANNELS if channel.name == name)

    async def work(app: App) -> None:
        try:
            worker = channel.worker(app.bot, app.settings) if channel.enabled(app.settings) else None
        except ValueError as exc:  # the channel's set-up errors: one line a person can act on
            raise UserError(str(exc)) from None
        if worker is None:
            raise UserError(_WORKER_NEEDS[name])
        click.echo(greeting)
        try:
            await worker(stop_on_signals())
        except ValueError as exc:
            raise UserError(str(exc)) from None

    with_app(work)


_WORKER_NEEDS = {
    "slack": "set SLACK_APP_TOKEN (xapp-...) and SLACK_BOT_TOKEN to use Socket Mode",
    "telegram": "TELEGRAM_BOT_TOKEN is not set: create a bot with @BotFather and set it",
}


@main.group()
def telegram() -> None:
    """Telegram set-up."""


@telegram.command("set-webhook")
@click.argument("url")
def telegram_set_webhook(url: str) -> None:
    """Tell Telegram to send updates to URL (https://.../telegram/webhook), with TELEGRAM_WEBHOOK_SECRET."""

    async def work(app: App) -> None:
        from svbot.channels.telegram.setup import TelegramSetupError, set_webhook

        try:
            await set_webhook(app.settings, url, app.bot)
        except TelegramSetupError as exc:
            raise UserError(str(exc)) from None

    with_app(work)
    click.echo(f"Telegram will send updates to {url}")


for command in (*dashboard_commands.COMMANDS, *deadline_commands.COMMANDS, *monitoring_commands.COMMANDS,
                *programme_commands.COMMANDS, *support_commands.COMMANDS, *data_commands.COMMANDS,
                *demo_commands.COMMANDS):  # fmt: skip
    main.add_command(command)
main.add_command(org_commands.orgs)
main.add_command(doctor)
