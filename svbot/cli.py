"""The `svbot` command. Each feature adds its sub-commands here with `main.add_command`."""

from __future__ import annotations

import sys

import click

from svbot.config import get_settings
from svbot.errors import UserError


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
            click.echo(f"svbot: {exc}", err=True)
            raise SystemExit(1) from None


@click.group(cls=FriendlyGroup)
@click.version_option(package_name="svbot")
@click.pass_context
def main(ctx: click.Context) -> None:
    """svbot: show your social value and never miss a monitoring report."""
    from svbot.logging import secrets_from_settings, setup_logging

    # Processes that run unattended log what they do; the rest only warnings (a chat stays readable).
    quiet = ctx.invoked_subcommand not in ("serve", "clock", "telegram-poll", "slack-socket", "db")
    setup_logging(default_level="WARNING" if quiet else "INFO", secrets=secrets_from_settings(get_settings()))


@main.group()
def db() -> None:
    """Database commands."""


@db.command("upgrade")
def db_upgrade() -> None:
    """Apply database migrations."""
    from svbot.db import upgrade

    upgrade(get_settings().database_url)
    click.echo("Database is up to date.")


@main.command()
@click.option("--user", default=None, help="Who you are in this chat (default: your login name).")
def chat(user: str | None) -> None:
    """Talk to svbot in the terminal. Reads one answer per line when input is piped."""
    from svbot.channels.console import ConsoleChannel, default_user

    async def run() -> None:
        from svbot.app import close_bot, create_bot

        bot = await create_bot(get_settings())
        try:
            await ConsoleChannel(bot, user or default_user()).run()
        finally:
            await close_bot(bot)

    _run_async(run())


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8000, show_default=True, type=int, envvar="PORT", help="Port (or $PORT).")
def serve(host: str, port: int) -> None:
    """The web process: POST /slack/events, POST /telegram/webhook, GET /healthz."""
    import uvicorn

    from svbot.web import create_web_app

    async def run() -> None:
        from svbot.app import close_bot, create_bot

        settings = get_settings()
        bot = await create_bot(settings)
        try:
            # log_config=None: uvicorn's records go through svbot's logging (JSON lines, redacted).
            app = create_web_app(bot, settings)
            config = uvicorn.Config(app, host=host, port=port, log_level="info", log_config=None)
            await uvicorn.Server(config).serve()
        finally:
            await close_bot(bot)

    _run_async(run())


@main.group()
def statement() -> None:
    """Draft evidence statements."""


@statement.command("export")
@click.option("--org", "org_id", required=True, type=int, help="The organisation's id.")
@click.option("--format", "fmt", type=click.Choice(["md", "html", "docx", "txt"]), default="md", show_default=True)
@click.option("--out", type=click.Path(dir_okay=False, writable=True), help="Write to this file (default: print).")
def statement_export(org_id: int, fmt: str, out: str | None) -> None:
    """The organisation's latest draft evidence statement, as Markdown, HTML, Word or plain text."""

    async def run() -> str | bytes:
        from svbot.app import close_bot, create_bot
        from svbot.evidence import export, latest_statement

        bot = await create_bot(get_settings())
        try:
            async with bot.sessionmaker() as session:
                record = await latest_statement(session, org_id)
            if record is None:
                raise UserError(f"organisation {org_id} has no statement yet (finish a walk-through in chat first)")
            return export(record, bot.knowledge, fmt)
        finally:
            await close_bot(bot)

    content = _run_async(run())
    if out:
        data = content if isinstance(content, bytes) else content.encode("utf-8")
        with open(out, "wb") as file:
            file.write(data)
        click.echo(f"Wrote {out}")
    elif isinstance(content, bytes):
        raise UserError("a Word file can't be printed: add --out statement.docx")
    else:
        click.echo(content, nl=False)


@main.command("slack-socket")
def slack_socket() -> None:
    """Talk to Slack over Socket Mode (for installs without a public URL)."""
    from svbot.channels.slack import slack_socket_main

    slack_socket_main()


@main.command("telegram-poll")
def telegram_poll() -> None:
    """Talk to Telegram by long polling (for installs without a public URL)."""
    from svbot.channels.telegram import TelegramSetupError, run_polling_forever

    try:
        _run_async(run_polling_forever(get_settings()))
    except TelegramSetupError as exc:
        raise UserError(str(exc)) from None


@main.group()
def telegram() -> None:
    """Telegram set-up."""


@telegram.command("set-webhook")
@click.argument("url")
def telegram_set_webhook(url: str) -> None:
    """Tell Telegram to send updates to URL (https://.../telegram/webhook), with TELEGRAM_WEBHOOK_SECRET."""
    from svbot.channels.telegram import TelegramSetupError, set_webhook_main

    try:
        _run_async(set_webhook_main(get_settings(), url))
    except TelegramSetupError as exc:
        raise UserError(str(exc)) from None
    click.echo(f"Telegram will send updates to {url}")


def _run_async(coro):  # type: ignore[no-untyped-def]
    import asyncio

    from svbot.dialogue.spec import DialogueError
    from svbot.knowledge import KnowledgeError

    try:
        return asyncio.run(coro)
    except DialogueError as exc:
        raise UserError(f"a dialogue file is wrong: {exc}") from None
    except KnowledgeError as exc:
        raise UserError(f"a knowledge file is wrong: {exc}") from None


def _register_deadlines() -> None:
    from svbot.deadlines import cli as deadlines_cli

    main.add_command(deadlines_cli.grants)
    main.add_command(deadlines_cli.deadlines)
    main.add_command(deadlines_cli.reminders)
    main.add_command(deadlines_cli.clock)


_register_deadlines()


def _register_support() -> None:
    from svbot.support import cli as support_cli

    for command in support_cli.COMMANDS:
        main.add_command(command)


_register_support()


if __name__ == "__main__":  # pragma: no cover
    # Run the imported module's `main`, not this copy's: under `python -m svbot.cli` this file is
    # loaded twice, and errors raised by feature modules belong to the imported copy.
    from svbot import cli as _cli

    sys.exit(_cli.main())
