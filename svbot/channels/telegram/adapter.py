"""The Telegram channel: python-telegram-bot for the Bot API, svbot's own core for conversation state.

PTB parses updates and talks HTTP; it keeps no state of ours. Each update becomes one
:class:`~svbot.channels.base.Inbound` (its `update_id` is the de-duplication key), the core answers with
:class:`~svbot.channels.base.Outbound` messages inside one committed transaction, and we render them as
Telegram HTML with inline keyboards.

    svbot telegram-poll                    -> polling_worker(bot, settings)(stop)
    svbot serve  (POST /telegram/webhook)  -> telegram_mount(bot, settings)
    svbot telegram set-webhook URL         -> set_webhook(settings, url, bot)
    reminders and broadcasts               -> TelegramSender(settings).send(chat_id, outbound)
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import io
import json
import logging
from collections.abc import Awaitable, Callable, Sequence
from datetime import timedelta
from typing import TYPE_CHECKING, Any, TypeVar

import telegram
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route
from telegram import BotCommand, BotCommandScopeChat, InlineKeyboardButton, InlineKeyboardMarkup
from telegram.constants import ParseMode
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TelegramError,
)
from telegram.ext import (
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    ChatMemberHandler,
    ContextTypes,
    MessageHandler,
    filters,
)
from telegram.request import BaseRequest

from svbot.channels.base import ChatCore, WebMount
from svbot.channels.telegram.render import (
    CAPTION_LIMIT,
    TICK,
    CallbackTable,
    KeyboardButton,
    command_text,
    render,
    strip_mention,
    utf16_len,
)
from svbot.messages import DeliveryError, Inbound, Outbound, PermanentFailure, RetryLater

if TYPE_CHECKING:
    from svbot.config import Settings

PLATFORM = "telegram"
WEBHOOK_PATH = "/telegram/webhook"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
ALLOWED_UPDATES = ["message", "callback_query", "my_chat_member"]
CHOOSE = "Please choose:"  # Telegram refuses a message with buttons and no text
SORRY = "Sorry, something went wrong on our side. Please try again in a moment."
ONLY_TEXT = "Sorry, I can only read typed messages and button presses."

log = logging.getLogger("svbot.telegram")
# Long button payloads travel as digests; one table per process, so replies and reminders share it.
SHARED_TABLE = CallbackTable()
T = TypeVar("T")
Sleep = Callable[[float], Awaitable[None]]


class TelegramSetupError(ValueError):
    """Something the operator can fix (no token, a rejected token, no webhook secret); one line, no secrets."""


# --- Sending: one place for rendering, retries and error mapping -----------------------------------------


class TelegramSender:
    """Sends Outbound messages to Telegram chats: replies in a conversation, reminders and broadcasts.

    Errors come out as the dispatcher's kinds: a 429 is waited out (up to `max_wait` seconds, `tries`
    times) and then becomes `RetryLater(reason, retry_after)`; a 403 (the user blocked the bot) becomes
    `PermanentFailure("blocked")`; network errors are retried with back-off, then `RetryLater`.
    """

    platform = PLATFORM

    def __init__(
        self,
        settings: Settings | None = None,
        *,
        tg_bot: telegram.Bot | None = None,
        request: BaseRequest | None = None,
        table: CallbackTable | None = None,
        tries: int = 3,
        max_wait: float = 30.0,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        if tg_bot is None:
            if settings is None or not telegram_enabled(settings):
                raise ValueError("TelegramSender needs settings with TELEGRAM_BOT_TOKEN, or a tg_bot")
            tg_bot = make_tg_bot(settings, request=request)
        self.tg = tg_bot
        self.table = table or SHARED_TABLE
        self._initialized = False
        self.tries = max(1, tries)
        self.max_wait = max_wait
        self.sleep = sleep

    async def send(self, chat_id: str, message: Outbound) -> str | None:
        """Send one message; returns the id of the last Telegram message it became."""
        return await self.send_many(chat_id, [message])

    async def send_many(
        self,
        chat_id: str | int,
        messages: Sequence[Outbound],
        *,
        edit_message_id: int | None = None,
        reply_to_message_id: int | None = None,
    ) -> str | None:
        """Send messages in order. `edit_message_id`: the message a pressed button was on; an Outbound
        with `replace_previous` edits it instead of sending a new one."""
        await self._ensure_initialized()
        target: int | str = _chat(chat_id)
        last: int | None = None
        for message in messages:
            for _ in range(2):
                try:
                    sent = await self._send_one(target, message, edit_message_id, reply_to_message_id)
                    last = sent if sent is not None else last
                    break
                except ChatMigrated as exc:  # a group became a supergroup: same chat, new id
                    target = exc.new_chat_id
                except BadRequest as exc:
                    raise PermanentFailure(f"Telegram refused the message: {exc.message}") from exc
            reply_to_message_id = None  # only the first message of a group reply quotes the question
        return None if last is None else str(last)

    async def close(self) -> None:
        await self.tg.shutdown()

    async def _ensure_initialized(self) -> None:
        if not self._initialized:
            try:
                await self._call(self.tg.initialize)
            except InvalidToken:  # PTB's message quotes the token: never pass it on
                raise RetryLater("Telegram rejected the bot token", 300) from None
            self._initialized = True

    async def _send_one(
        self, chat_id: int | str, message: Outbound, edit_message_id: int | None, reply_to: int | None
    ) -> int | None:
        rendered = render(message, self.table)
        markup = _markup(rendered.keyboard)
        if message.file is not None:
            return await self._send_file(chat_id, message, rendered.chunks, markup)
        if message.replace_previous and edit_message_id is not None and len(rendered.chunks) == 1:
            if await self._edit(chat_id, edit_message_id, rendered.chunks[0], markup):
                return edit_message_id
        chunks = [chunk for chunk in rendered.chunks if chunk] or ([CHOOSE] if markup else [])
        message_id = None
        for index, chunk in enumerate(chunks):
            is_last = index == len(chunks) - 1
            quote = reply_to if index == 0 else None
            message_id = await self._send_text(chat_id, chunk, markup if is_last else None, quote)
        return message_id

    async def _send_text(self, chat_id: int | str, text: str, markup: Any, quote: int | None = None) -> int:
        sent = await self._call(
            lambda: self.tg.send_message(
                chat_id, text, parse_mode=ParseMode.HTML, reply_markup=markup, reply_parameters=_quote(quote)
            )
        )
        return sent.message_id

    async def _edit(self, chat_id: int | str, message_id: int, text: str, markup: Any) -> bool:
        try:
            await self._call(
                lambda: self.tg.edit_message_text(
                    text,
                    chat_id=chat_id,
                    message_id=message_id,
                    parse_mode=ParseMode.HTML,
                    reply_markup=markup,
                )
            )
        except BadRequest as exc:
            if "not modified" in exc.message.lower():
                return True  # the same toggle pressed twice: the message already shows this
            log.info("could not edit Telegram message %s, sending a new one: %s", message_id, exc.message)
            return False
        return True

    async def _send_file(self, chat_id: int | str, message: Outbound, chunks: Sequence[str], markup: Any) -> int:
        assert message.file is not None
        caption: str | None = None
        if len(chunks) == 1 and chunks[0] and utf16_len(message.text) <= CAPTION_LIMIT:
            caption = chunks[0]
        else:
            for chunk in chunks:
                if chunk:
                    await self._send_text(chat_id, chunk, None)
        content, filename = message.file.content, message.file.filename
        sent = await self._call(
            lambda: self.tg.send_document(
                chat_id,
                telegram.InputFile(io.BytesIO(content), filename=filename),
                caption=caption,
                parse_mode=ParseMode.HTML if caption else None,
                reply_markup=markup,
            )
        )
        return sent.message_id

    async def _call(self, make_call: Callable[[], Awaitable[T]]) -> T:
        """One Bot API call with svbot's retry policy. BadRequest and ChatMigrated pass through."""
        attempt = 0
        while True:
            attempt += 1
            try:
                return await make_call()
            except RetryAfter as exc:
                wait = retry_after_seconds(exc)
                if attempt >= self.tries or wait > self.max_wait:
                    raise RetryLater("Telegram asked us to slow down", wait) from exc
                log.info("Telegram flood control: waiting %.0f s", wait)
                await self.sleep(wait)
            except Forbidden as exc:
                raise PermanentFailure("blocked") from exc
            except (BadRequest, ChatMigrated, InvalidToken):
                raise
            except NetworkError as exc:  # includes TimedOut; BadRequest is caught above
                if attempt >= self.tries:
                    raise RetryLater(f"Telegram unreachable: {type(exc).__name__}", 30) from exc
                await self.sleep(0.5 * 2 ** (attempt - 1))
            except TelegramError as exc:
                raise RetryLater(f"Telegram error: {type(exc).__name__}", 60) from exc


def retry_after_seconds(exc: RetryAfter) -> float:
    """PTB 22 is moving `retry_after` from int to timedelta; read it without the deprecation warning."""
    value = getattr(exc, "_retry_after", None)
    if isinstance(value, timedelta):
        return value.total_seconds()
    return float(exc.retry_after.total_seconds() if isinstance(exc.retry_after, timedelta) else exc.retry_after)


def _markup(rows: Sequence[Sequence[KeyboardButton]]) -> InlineKeyboardMarkup | None:
    if not rows:
        return None
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(b.text, callback_data=b.callback_data) for b in row] for row in rows]
    )


def _quote(message_id: int | None) -> telegram.ReplyParameters | None:
    if message_id is None:
        return None
    return telegram.ReplyParameters(message_id=message_id, allow_sending_without_reply=True)


def _chat(chat_id: str | int) -> int | str:
    try:
        return int(chat_id)
    except (TypeError, ValueError):
        return str(chat_id)  # "@channelname"


# --- Receiving: PTB handlers that turn updates into Inbound and replies into messages ---------------------


class TelegramAdapter:
    """The PTB callbacks. Holds no conversation state: everything lives in the database via `bot`."""

    def __init__(self, bot: ChatCore, sender: TelegramSender) -> None:
        self.bot = bot
        self.sender = sender
        # Commands we answer in groups; other bots' commands are theirs.
        self.commands = frozenset(entry.command for entry in bot.menu)

    def add_handlers(self, application: Application) -> None:
        new_message = filters.UpdateType.MESSAGE  # edits of old messages are not new answers
        application.add_handler(CallbackQueryHandler(self.on_button))
        application.add_handler(MessageHandler(new_message & filters.ChatType.PRIVATE, self.on_private_message))
        group_text = new_message & filters.ChatType.GROUPS & filters.TEXT
        application.add_handler(MessageHandler(group_text, self.on_group_message))
        application.add_handler(ChatMemberHandler(self.on_my_chat_member, ChatMemberHandler.MY_CHAT_MEMBER))
        application.add_error_handler(_log_error)

    async def on_private_message(self, update: telegram.Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        message = update.effective_message
        if message is None or message.from_user is None:
            return
        if not message.text:  # a photo, sticker or voice note: nothing for the core to read
            with contextlib.suppress(DeliveryError):
                await self.sender.send_many(message.chat.id, [Outbound(ONLY_TEXT, kind="error")])
            return
        text = command_text(message.text, context.bot.username) or message.text
        await self._turn(update, text=text)

    async def on_group_message(self, update: telegram.Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """In groups, only commands to us, messages that mention us and replies to our messages."""
        message = update.effective_message
        if message is None or message.from_user is None or not message.text:
            return
        username = context.bot.username
        if message.text.startswith("/"):
            text = command_text(message.text, username)
            if text is None or text.split()[0] not in self.commands:
                return  # another bot's command, or none of ours
        elif _mentions(message, username) or _replies_to(message, context.bot.id):
            text = strip_mention(message.text, username) or "help"  # "@svbot" alone: what do we do?
        else:
            return
        await self._turn(update, text=text, quote=message.message_id)

    async def on_button(self, update: telegram.Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.callback_query
        if query is None:
            return
        await _answer(query)  # always, first: the spinner on the button stops
        if query.message is None or query.data is None:
            return  # inline-mode buttons: not ours
        payload = self.sender.table.decode(query.data)
        if payload is None:  # a long payload from before a restart: the label says the same thing
            await self._turn(update, text=_label_of(query), edit_message_id=query.message.message_id)
            return
        await self._turn(update, payload=payload, edit_message_id=query.message.message_id)

    async def on_my_chat_member(self, update: telegram.Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Telegram tells us when someone blocks (or unblocks) the bot in a private chat."""
        change = update.my_chat_member
        if change is None or change.chat.type != "private":
            return
        status = change.new_chat_member.status
        if status in ("kicked", "member"):
            await self.bot.set_reachable(PLATFORM, str(change.from_user.id), status == "member")

    async def _turn(
        self,
        update: telegram.Update,
        *,
        text: str | None = None,
        payload: str | None = None,
        edit_message_id: int | None = None,
        quote: int | None = None,
    ) -> None:
        user, chat = update.effective_user, update.effective_chat
        if user is None or chat is None:
            return
        inbound = Inbound(
            platform=PLATFORM,
            user_id=str(user.id),
            chat_id=str(chat.id),
            text=text,
            payload=payload,
            event_id=str(update.update_id),
            user_name=user.full_name,
            is_group=chat.type != "private",
        )
        try:
            replies = await self.bot.handle(inbound)
        except Exception:
            await self._deliver(inbound, [Outbound(SORRY, kind="error")], None, quote)
            raise  # PTB's error handlers log it with the update
        await self._deliver(inbound, replies, edit_message_id, quote)

    async def _deliver(
        self, inbound: Inbound, replies: Sequence[Outbound], edit_message_id: int | None, quote: int | None
    ) -> None:
        if not replies:
            return  # a repeated update, or nothing to say
        try:
            await self.sender.send_many(
                inbound.chat_id, replies, edit_message_id=edit_message_id, reply_to_message_id=quote
            )
        except PermanentFailure as exc:
            if str(exc) == "blocked" and not inbound.is_group:
                await self.bot.set_reachable(PLATFORM, inbound.user_id, False)
            log.warning("Telegram reply to chat %s not delivered: %s", inbound.chat_id, exc)
        except RetryLater as exc:
            log.warning("Telegram reply to chat %s not delivered (%s); the person can ask again", inbound.chat_id, exc)


async def _answer(query: telegram.CallbackQuery) -> None:
    try:
        await query.answer()
    except TelegramError as exc:  # too old, or Telegram busy: the turn still goes ahead
        log.info("could not answer callback query: %s", type(exc).__name__)


def _label_of(query: telegram.CallbackQuery) -> str | None:
    markup = getattr(query.message, "reply_markup", None)
    for row in markup.inline_keyboard if markup else ():
        for button in row:
            if button.callback_data == query.data:
                return button.text.removeprefix(TICK)
    return None


def _mentions(message: telegram.Message, username: str | None) -> bool:
    if not username:
        return False
    wanted = "@" + username.lower()
    return any(text.lower() == wanted for text in message.parse_entities(["mention"]).values())


def _replies_to(message: telegram.Message, bot_id: int) -> bool:
    replied = message.reply_to_message
    return replied is not None and replied.from_user is not None and replied.from_user.id == bot_id


async def _log_error(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    update_id = getattr(update, "update_id", None)
    error = context.error
    if isinstance(error, InvalidToken):  # its message quotes the token
        log.error("Telegram rejected the bot token (update %s)", update_id)
        return
    log.error("error handling Telegram update %s", update_id, exc_info=error)


# --- Wiring: the PTB application, polling, the webhook and the commands menu -------------------------------


def make_tg_bot(settings: Settings, *, request: BaseRequest | None = None) -> telegram.Bot:
    token = _token(settings)
    return telegram.Bot(
        token,
        base_url=settings.telegram_api_url,
        base_file_url=file_url(settings.telegram_api_url),
        request=request,
    )


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
    )
    if request is not None:
        builder = builder.request(request).get_updates_request(get_updates_request or request)
    if not with_updater:
        builder = builder.updater(None)
    application = builder.build()
    sender = TelegramSender(tg_bot=application.bot, **(sender_options or {}))
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
        try:
            data = json.loads(await request.body())
            update = telegram.Update.de_json(data, application.bot)
        except (ValueError, TypeError, KeyError, AttributeError):
            return PlainTextResponse("Not a Telegram update", status_code=400)
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


async def set_webhook(settings: Settings, url: str, bot: ChatCore | None = None) -> None:
    """`svbot telegram set-webhook URL`: register the webhook with our secret, and the commands menu.
    Raises TelegramSetupError with a one-line reason a person can act on."""
    secret = _webhook_secret(settings)
    tg = make_tg_bot(settings)
    try:
        await tg.initialize()
        await tg.set_webhook(url=url, secret_token=secret, allowed_updates=ALLOWED_UPDATES)
        if bot is not None:
            await publish_commands(tg, bot)
    except InvalidToken:
        raise TelegramSetupError("Telegram rejected TELEGRAM_BOT_TOKEN") from None
    except BadRequest as exc:
        raise TelegramSetupError(f"Telegram refused the webhook: {exc.message}") from None
    except NetworkError as exc:
        raise TelegramSetupError(f"could not reach Telegram ({type(exc).__name__})") from None
    finally:
        await tg.shutdown()


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


def file_url(api_url: str) -> str:
    """https://api.telegram.org/bot -> https://api.telegram.org/file/bot (downloads must not go elsewhere)."""
    base = api_url.rstrip("/")
    if base.endswith("/bot"):
        return base[: -len("/bot")] + "/file/bot"
    return base + "/file/bot"


def _webhook_secret(settings: Settings) -> str:
    secret = settings.telegram_webhook_secret.get_secret_value() if settings.telegram_webhook_secret else ""
    if not secret:
        raise TelegramSetupError("set TELEGRAM_WEBHOOK_SECRET first (1-256 letters, digits, _ or -)")
    if len(secret) > 256 or not all(ch.isascii() and (ch.isalnum() or ch in "_-") for ch in secret):
        raise TelegramSetupError("TELEGRAM_WEBHOOK_SECRET must be 1-256 letters, digits, _ or -")
    return secret


def telegram_enabled(settings: Settings) -> bool:
    return bool(settings.telegram_bot_token and settings.telegram_bot_token.get_secret_value())


def _token(settings: Settings) -> str:
    if not telegram_enabled(settings):
        raise TelegramSetupError("TELEGRAM_BOT_TOKEN is not set: create a bot with @BotFather and set it")
    assert settings.telegram_bot_token is not None
    return settings.telegram_bot_token.get_secret_value()


def _quiet_http_logs() -> None:
    # httpx logs every request URL at INFO, and Bot API URLs contain the token.
    logging.getLogger("httpx").setLevel(logging.WARNING)
