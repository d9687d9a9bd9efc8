"""Sending to Telegram: the adapter's replies, reminders and broadcasts, through one `TelegramSender`.

It renders an Outbound as Telegram HTML with an inline keyboard, splits long text at Telegram's limit,
edits the message a pressed button was on when asked, and turns Telegram's errors into the core's
kinds: a 429 is waited out and then becomes `RetryLater`; a 403 (blocked) is `PermanentFailure`.
"""

from __future__ import annotations

import asyncio
import html
import io
import logging
import warnings
from collections.abc import Awaitable, Callable, Sequence
from datetime import timedelta
from typing import TYPE_CHECKING, Any, TypeVar

import telegram
from telegram import InlineKeyboardMarkup
from telegram.constants import ChatAction, ParseMode
from telegram.error import BadRequest, ChatMigrated, Forbidden, InvalidToken, NetworkError, RetryAfter, TelegramError
from telegram.request import BaseRequest
from telegram.warnings import PTBDeprecationWarning

from svbot.channels.telegram.buttons import ButtonStore, Owner
from svbot.channels.telegram.render import CAPTION_LIMIT, KeyboardButton, render, utf16_len
from svbot.db import make_engine, make_sessionmaker
from svbot.messages import Outbound, PermanentFailure, RetryLater
from svbot.text import text

if TYPE_CHECKING:
    from svbot.config import Settings

PLATFORM = "telegram"
log = logging.getLogger("svbot.telegram")
# Statements and reports quote links people typed: a preview card would push the text off a phone screen.
# (Given as the Bot API's own JSON, like the keyboards: PTB turning its objects into JSON on every call
# was about a third of the cost of a send, `bench/telegram_turns.py`.)
NO_PREVIEW = {"is_disabled": True}


# PTB warns when `Bot.do_api_request` makes a call it has a function of its own for, to steer people to that
# function. svbot sends and edits text that way on purpose (`TelegramSender._send_text`), so the warning
# would only fill the log. (pytest keeps its own filters: pyproject.toml says the same for the tests.)
warnings.filterwarnings("ignore", r"Please use 'Bot\.(sendMessage|editMessageText)' instead", UserWarning)

T = TypeVar("T")


Sleep = Callable[[float], Awaitable[None]]


class TelegramSetupError(ValueError):
    """Something the operator can fix (no token, a rejected token, no webhook secret); one line, no secrets."""


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
        buttons: ButtonStore | None = None,
        tries: int = 3,
        max_wait: float = 30.0,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        if tg_bot is None:
            if settings is None or not telegram_enabled(settings):
                raise ValueError("TelegramSender needs settings with TELEGRAM_BOT_TOKEN, or a tg_bot")
            tg_bot = make_tg_bot(settings, request=request)
        self.tg = tg_bot
        self._engine = None
        if buttons is None:
            if settings is None:
                raise ValueError("TelegramSender needs settings (for its database) or a ButtonStore")
            self._engine = make_engine(settings.async_database_url)
            buttons = ButtonStore(make_sessionmaker(self._engine))
        self.buttons = buttons
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
        owner: Owner | None = None,
    ) -> str | None:
        """Send messages in order. `edit_message_id`: the message a pressed button was on; an Outbound
        with `replace_previous` edits it instead of sending a new one. `owner`: in a group, the person the
        questions are for: each names them, and their buttons remember whose they are."""
        await self._ensure_initialized()
        target: int | str = _chat(chat_id)
        last: int | None = None
        for message in messages:
            for _ in range(2):
                try:
                    sent = await self._send_one(target, message, edit_message_id, reply_to_message_id, owner)
                    last = sent if sent is not None else last
                    break
                except ChatMigrated as exc:  # a group became a supergroup: same chat, new id
                    target = exc.new_chat_id
                except BadRequest as exc:
                    raise PermanentFailure(f"Telegram refused the message: {exc.message}") from exc
            reply_to_message_id = None  # only the first message of a group reply quotes the question
        return None if last is None else str(last)

    async def can_write_to(self, chat_id: str | int) -> bool:
        """Whether Telegram lets us write to a person's private chat: only once they have pressed Start.
        Asked by showing "typing…" there, which Telegram refuses (403) just as it would a message."""
        await self._ensure_initialized()
        try:
            await self._call(lambda: self.tg.send_chat_action(_chat(chat_id), ChatAction.TYPING))
        except (PermanentFailure, BadRequest):
            return False
        except RetryLater:
            return True  # Telegram is busy, not refusing: the message itself will tell
        return True

    async def close(self) -> None:
        await self.tg.shutdown()
        if self._engine is not None:
            await self._engine.dispose()

    async def connect(self) -> None:
        """Log in (getMe) before a paced batch, so the first message does not arrive late and bunch
        up the ones behind it (`svbot.support.sending.warm_up` calls this)."""
        await self._ensure_initialized()

    async def _ensure_initialized(self) -> None:
        if not self._initialized:
            try:
                await self._call(self.tg.initialize)
            except InvalidToken:  # PTB's message quotes the token: never pass it on
                raise RetryLater("Telegram rejected the bot token", 300) from None
            self._initialized = True

    async def _send_one(
        self,
        chat_id: int | str,
        message: Outbound,
        edit_message_id: int | None,
        reply_to: int | None,
        owner: Owner | None = None,
    ) -> int | None:
        is_question = bool(message.buttons or message.controls) or message.kind == "question"
        prefix = _named(owner, message.meta.get("locale")) if owner is not None and is_question else ""
        rendered = render(message, prefix=prefix)
        markup = await self._markup(rendered.keyboard, owner)
        if message.file is not None:
            return await self._send_file(chat_id, message, rendered.chunks, markup)
        if message.replace_previous and edit_message_id is not None and len(rendered.chunks) == 1:
            if await self._edit(chat_id, edit_message_id, rendered.chunks[0], markup):
                return edit_message_id
        # Telegram refuses a message with buttons and no text: "Please choose:", in the message's locale.
        choose = [text("channels.telegram.choose", message.meta.get("locale"))] if markup else []
        chunks = [chunk for chunk in rendered.chunks if chunk] or choose
        message_id = None
        for index, chunk in enumerate(chunks):
            is_last = index == len(chunks) - 1
            quote = reply_to if index == 0 else None
            message_id = await self._send_text(chat_id, chunk, markup if is_last else None, quote)
        return message_id

    # Text is sent and edited with `do_api_request`, PTB's documented way to make a Bot API call as given,
    # which hands back Telegram's reply as it came: svbot needs only the new message's id, and building
    # PTB's Message from the reply (what `send_message` does) was most of the cost of a reply
    # (`bench/telegram_turns.py`). Errors, retries and the rate limiter are PTB's as before.

    async def _send_text(self, chat_id: int | str, text: str, markup: Any, quote: int | None = None) -> int:
        sent = await self._call(
            lambda: self.tg.do_api_request(
                "sendMessage",
                {
                    "chat_id": chat_id,
                    "text": text,
                    "parse_mode": ParseMode.HTML,
                    "reply_markup": markup,
                    "reply_parameters": _quote(quote),
                    "link_preview_options": NO_PREVIEW,
                },
            )
        )
        return int(sent["message_id"])

    async def _edit(self, chat_id: int | str, message_id: int, text: str, markup: Any) -> bool:
        try:
            await self._call(
                lambda: self.tg.do_api_request(
                    "editMessageText",
                    {
                        "chat_id": chat_id,
                        "message_id": message_id,
                        "text": text,
                        "parse_mode": ParseMode.HTML,
                        "reply_markup": markup,
                        "link_preview_options": NO_PREVIEW,
                    },
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
                reply_markup=InlineKeyboardMarkup.de_json(markup, self.tg) if markup else None,
            )
        )
        return sent.message_id

    async def _markup(self, rows: Sequence[Sequence[KeyboardButton]], owner: Owner | None) -> dict[str, Any] | None:
        """The inline keyboard, as the Bot API's JSON."""
        if not rows:
            return None
        data = await self.buttons.callback_data((b.payload for row in rows for b in row), owner)
        return {"inline_keyboard": [[{"text": b.text, "callback_data": data[b.payload]} for b in row] for row in rows]}

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
    """PTB 22 is moving `retry_after` from int to timedelta: read either, without the deprecation warning."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PTBDeprecationWarning)
        value = exc.retry_after
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


def _named(owner: Owner, locale: str | None) -> str:
    """ "For Ann:" as HTML, Ann a mention that tells her the question is hers."""
    mention = f'<a href="tg://user?id={int(owner.user_id)}">{html.escape(owner.first_name or owner.user_id)}</a>'
    return html.escape(text("channels.telegram.question_for", locale, name="\x00")).replace("\x00", mention) + "\n"


def _quote(message_id: int | None) -> dict[str, Any] | None:
    if message_id is None:
        return None
    return {"message_id": message_id, "allow_sending_without_reply": True}


def _chat(chat_id: str | int) -> int | str:
    try:
        return int(chat_id)
    except (TypeError, ValueError):
        return str(chat_id)  # "@channelname"


def make_tg_bot(settings: Settings, *, request: BaseRequest | None = None) -> telegram.Bot:
    token = _token(settings)
    return telegram.Bot(
        token,
        base_url=settings.telegram_api_url,
        base_file_url=file_url(settings.telegram_api_url),
        request=request,
    )


def file_url(api_url: str) -> str:
    """https://api.telegram.org/bot -> https://api.telegram.org/file/bot (downloads must not go elsewhere)."""
    base = api_url.rstrip("/")
    if base.endswith("/bot"):
        return base[: -len("/bot")] + "/file/bot"
    return base + "/file/bot"


def telegram_enabled(settings: Settings) -> bool:
    return bool(settings.telegram_bot_token and settings.telegram_bot_token.get_secret_value())


def _token(settings: Settings) -> str:
    if not telegram_enabled(settings):
        raise TelegramSetupError("TELEGRAM_BOT_TOKEN is not set: create a bot with @BotFather and set it")
    assert settings.telegram_bot_token is not None
    return settings.telegram_bot_token.get_secret_value()
