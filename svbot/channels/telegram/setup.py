"""Telegram in the web process (the webhook), the polling worker, `svbot telegram set-webhook` and the
"/" menu: the parts the channel's package hands the composition root."""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

import telegram
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route
from telegram import BotCommand, BotCommandScopeChat
from telegram.error import BadRequest, InvalidToken, NetworkError, TelegramError
from telegram.ext import AIORateLimiter, Application, ApplicationBuilder
from telegram.request import BaseRequest

from svbot.channels.base import ChatCore, WebMount
from svbot.channels.telegram.adapter import TelegramAdapter, deep_link
from svbot.channels.telegram.buttons import ButtonStore
from svbot.channels.telegram.sender import (
    PLATFORM,
    TelegramSender,
    TelegramSetupError,
    _token,
    file_url,
    make_tg_bot,
    telegram_enabled,
)

if TYPE_CHECKING:
    from svbot.config import Settings

WEBHOOK_PATH = "/telegram/webhook"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
ALLOWED_UPDATES = ["message", "callback_query", "my_chat_member"]
log = logging.getLogger("svbot.telegram")
# Refused requests: one line each, at most one a minute of each kind under `svbot serve`.
refused = logging.getLogger("svbot.web.refused")


def build_application(
    bot: ChatCore,
    settings: Settings,
    *,
    request: BaseRequest | None = None,
    get_updates_request: BaseRequest | None = None,
    with_updater: bool = True,
    sender_options: dict[str, Any] | None = None,
) -> Application:
    """A PTB Application wired to svbot's core. `request` lets tests and benchmarks swap the transport."""
    builder = (
        ApplicationBuilder()
        .token(_token(settings))
        .base_url(settings.telegram_api_url)
        .base_file_url(file_url(settings.telegram_api_url))
        # Conversation replies paced within Telegram's limits (30 a second overall, 20 a minute per
        # group). No retries inside it: a 429 comes back to the sender, which waits it out.
        .rate_limiter(AIORateLimiter(max_retries=0))
    )
    if request is not None:
        builder = builder.request(request).get_updates_request(get_updates_request or request)
    if not with_updater:
        builder = builder.updater(None)
    application = builder.build()
    sender = TelegramSender(tg_bot=application.bot, buttons=ButtonStore(bot.sessionmaker), **(sender_options or {}))
    TelegramAdapter(bot, sender).add_handlers(application)
    return application


def polling_worker(bot: ChatCore, settings: Settings) -> Callable[[asyncio.Event], Awaitable[None]]:
    """The `svbot telegram-poll` worker: long polling until the stop event is set."""
    _token(settings)
    _quiet_http_logs()

    async def work(stop: asyncio.Event) -> None:
        await poll(build_application(bot, settings), bot, stop)

    return work


async def poll(
    application: Application,
    bot: ChatCore | None,
    stop: asyncio.Event,
    *,
    timeout: int = 30,
) -> None:
    """Long-poll `getUpdates` and handle each update until `stop` is set. Telegram holds each request
    open up to `timeout` seconds, so an idle bot makes about two requests a minute."""
    if application.updater is None:
        raise ValueError("poll needs an Application built with an updater")
    try:
        await application.initialize()
    except InvalidToken:
        raise TelegramSetupError("Telegram rejected TELEGRAM_BOT_TOKEN") from None
    try:
        if bot is not None:
            await publish_commands(application.bot, bot)
        await application.start()
        await application.updater.start_polling(timeout=timeout, allowed_updates=ALLOWED_UPDATES)
        await stop.wait()
    finally:
        if application.updater.running:
            await application.updater.stop()
        if application.running:
            await application.stop()
        await application.shutdown()


def telegram_mount(bot: ChatCore, settings: Settings, **options: Any) -> WebMount:
    """`POST /telegram/webhook` for the web process. Requests without the right secret header get 403
    and are not read; with no TELEGRAM_WEBHOOK_SECRET configured, every request is refused.
    `options` go to :func:`build_application` (tests pass `configure=` to add an error handler)."""
    if not telegram_enabled(settings):
        return WebMount()
    _quiet_http_logs()
    configure = options.pop("configure", None)
    application = build_application(bot, settings, with_updater=False, **options)
    if configure is not None:
        configure(application)
    secret = settings.telegram_webhook_secret.get_secret_value() if settings.telegram_webhook_secret else ""
    ready = _Startup(application)

    async def webhook(request: Request) -> Response:
        given = request.headers.get(SECRET_HEADER, "")
        if not secret or not hmac.compare_digest(given.encode(), secret.encode()):
            return PlainTextResponse("Forbidden", status_code=403)
        body = await request.body()  # over the web process's limit: refused there (413), unread
        try:
            data = json.loads(body)
        except (ValueError, RecursionError) as exc:  # not JSON, or nested deeper than Python reads
            data = exc
        if not isinstance(data, dict):  # Telegram always sends a JSON object: this did not come from it
            refused.warning("telegram: a webhook body that is not an update was refused (%s)", type(data).__name__)
            return PlainTextResponse("Not a Telegram update", status_code=400)
        try:
            update = telegram.Update.de_json(data, application.bot)
        except (ValueError, TypeError, KeyError, AttributeError, RecursionError) as exc:
            # JSON, with the secret, that python-telegram-bot cannot read as an update. A 4xx would have
            # Telegram send it again and again, holding back the updates queued behind it, and it would
            # fail the same way each time: take it (200) and drop it, with one line in the log.
            refused.warning("telegram: an update svbot could not read was dropped (%s)", type(exc).__name__)
            return Response(status_code=200)
        if not await ready.ensure():
            return PlainTextResponse("Telegram is not reachable yet", status_code=503)  # Telegram retries
        await application.process_update(update)
        return Response(status_code=200)

    return WebMount(
        routes=[Route(WEBHOOK_PATH, webhook, methods=["POST"])],
        on_startup=[ready.start],
        on_shutdown=[ready.stop],
    )


class _Startup:
    """Initialise PTB (it calls getMe) at web start-up, or at the first webhook if Telegram was down."""

    def __init__(self, application: Application) -> None:
        self.application = application
        self._lock = asyncio.Lock()
        self._ready = False

    async def start(self) -> None:
        if not await self.ensure():
            log.warning("Telegram not reachable at start-up; will try again at the first webhook")

    async def ensure(self) -> bool:
        async with self._lock:
            if self._ready:
                return True
            try:
                await self.application.initialize()
            except TelegramError as exc:
                log.warning("could not initialise Telegram: %s", type(exc).__name__)
                return False
            self._ready = True
            return True

    async def stop(self) -> None:
        if self._ready:
            self._ready = False
            await self.application.shutdown()


@asynccontextmanager
async def talking_to_telegram(settings: Settings, refused: str = "Telegram said") -> AsyncIterator[telegram.Bot]:
    """The Bot API for one setup command (getMe done), closed after; its errors as one line a person can
    act on (TelegramSetupError). `refused`: what a refusal of the request itself is called."""
    tg = make_tg_bot(settings)
    try:
        await tg.initialize()  # calls getMe
        yield tg
    except InvalidToken:
        raise TelegramSetupError("Telegram rejected TELEGRAM_BOT_TOKEN: copy it again from @BotFather") from None
    except NetworkError as exc:
        raise TelegramSetupError(f"could not reach Telegram at TELEGRAM_API_URL ({type(exc).__name__})") from None
    except TelegramError as exc:
        raise TelegramSetupError(f"{refused}: {exc.message}") from None
    finally:
        await tg.shutdown()


async def set_webhook(settings: Settings, url: str, bot: ChatCore | None = None) -> None:
    """`svbot telegram set-webhook URL`: register the webhook with our secret, and the commands menu.
    Raises TelegramSetupError with a one-line reason a person can act on."""
    secret = _webhook_secret(settings)
    async with talking_to_telegram(settings, refused="Telegram refused the webhook") as tg:
        await tg.set_webhook(url=url, secret_token=secret, allowed_updates=ALLOWED_UPDATES)
        if bot is not None:
            await publish_commands(tg, bot)


async def invite_link(settings: Settings, code: str) -> str:
    """The one-tap link that opens a private chat with the bot and joins with `code` (`svbot invite`).
    The username is TELEGRAM_BOT_USERNAME, else asked of Telegram (getMe)."""
    username = (settings.telegram_bot_username or "").strip() or await whoami(settings)
    return deep_link(username.lstrip("@"), code)


async def whoami(settings: Settings) -> str:
    """`svbot doctor`: one getMe call; the bot's @username, or TelegramSetupError saying what is wrong."""
    async with talking_to_telegram(settings) as tg:
        return f"@{tg.username}"


async def publish_commands(tg: telegram.Bot, bot: ChatCore) -> None:
    """The "/" menu, made from the core's registered intents: everyone sees the general commands, and
    people whose roles add commands (support admins: /broadcast) see theirs in their own chat."""
    for chat_id, entries in (await bot.chat_menus(PLATFORM)).items():
        commands = [BotCommand(entry.command, entry.description) for entry in entries]
        if chat_id is None:
            await tg.set_my_commands(commands)
            continue
        if not chat_id.lstrip("-").isdigit():
            continue
        try:
            await tg.set_my_commands(commands, scope=BotCommandScopeChat(int(chat_id)))
        except BadRequest as exc:  # that chat is gone: the others still get their menu
            log.info("no admin menu for chat %s: %s", chat_id, exc.message)


def _webhook_secret(settings: Settings) -> str:
    secret = settings.telegram_webhook_secret.get_secret_value() if settings.telegram_webhook_secret else ""
    if not secret:
        raise TelegramSetupError("set TELEGRAM_WEBHOOK_SECRET first (1-256 letters, digits, _ or -)")
    if len(secret) > 256 or not all(ch.isascii() and (ch.isalnum() or ch in "_-") for ch in secret):
        raise TelegramSetupError("TELEGRAM_WEBHOOK_SECRET must be 1-256 letters, digits, _ or -")
    return secret


def _quiet_http_logs() -> None:
    # httpx logs every request URL at INFO, and Bot API URLs contain the token.
    logging.getLogger("httpx").setLevel(logging.WARNING)
