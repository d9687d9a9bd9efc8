"""Slack in the web process and the Socket Mode worker: what the channel's package hands the root."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from svbot.channels.base import ChatCore, WebMount
from svbot.channels.slack.adapter import SlackChannel
from svbot.config import Settings


def slack_mount(bot: ChatCore, settings: Settings) -> WebMount:
    """The routes Slack needs in the web process; an empty mount when Slack is not configured."""
    if settings.slack_signing_secret is None or not (settings.slack_bot_token or settings.slack_oauth_enabled):
        return WebMount()
    return SlackChannel(bot, settings).mount()


async def run_socket_mode(bot: ChatCore, settings: Settings, stop: asyncio.Event | None = None) -> None:
    """Serve Slack over Socket Mode until `stop` is set or the task is cancelled (the `svbot slack-socket`
    worker). Either way, turns already acknowledged finish first: Slack will not send them again."""
    from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler

    if settings.slack_app_token is None or settings.slack_bot_token is None:
        raise ValueError("Socket Mode needs SLACK_APP_TOKEN (xapp-...) and SLACK_BOT_TOKEN.")
    channel = SlackChannel(bot, settings, socket_mode=True)
    channel.share_session()
    handler = AsyncSocketModeHandler(channel.app, settings.slack_app_token.get_secret_value())
    # Until Slack takes the app token, slack_sdk keeps trying to connect (and logs why it cannot): connect
    # alongside the wait, so a worker that never got through still stops when told.
    connecting = asyncio.create_task(handler.connect_async())
    try:
        await (stop or asyncio.Event()).wait()
    finally:
        connecting.cancel()
        await asyncio.wait([connecting])
        await handler.close_async()
        await channel.close()


def socket_mode_worker(bot: ChatCore, settings: Settings) -> Callable[[asyncio.Event], Awaitable[None]]:
    """The `svbot slack-socket` worker: Socket Mode until the stop event is set."""
    if settings.slack_app_token is None or settings.slack_bot_token is None:
        raise SlackSetupError("set SLACK_APP_TOKEN (xapp-...) and SLACK_BOT_TOKEN to use Socket Mode")

    async def work(stop: asyncio.Event) -> None:
        await run_socket_mode(bot, settings, stop)

    return work


async def whoami(settings: Settings) -> str:
    """`svbot doctor`: one auth.test call with SLACK_BOT_TOKEN; who the bot is, or SlackSetupError."""
    import aiohttp
    from slack_sdk.errors import SlackApiError

    from svbot.channels.slack.sender import make_web_client

    token = settings.slack_bot_token.get_secret_value() if settings.slack_bot_token else ""
    client = make_web_client(settings, token)
    try:
        answer = await client.auth_test()
    except SlackApiError as exc:
        code = exc.response.get("error", "an error") if exc.response is not None else "an error"
        raise SlackSetupError(f"Slack refused SLACK_BOT_TOKEN ({code}): copy the Bot User OAuth Token again") from None
    except (aiohttp.ClientError, OSError) as exc:
        raise SlackSetupError(f"could not reach Slack at SLACK_API_URL ({type(exc).__name__})") from None
    return f"{answer.get('user', 'the bot')} in {answer.get('team', 'its workspace')}"


class SlackSetupError(ValueError):
    """Something the operator can fix in the settings; one line, no secrets."""
