"""The Telegram channel: python-telegram-bot for the Bot API, svbot's own core for conversation state.

PTB parses updates and talks HTTP; it keeps no state of ours. Each update becomes one
:class:`~svbot.messages.Inbound` (its `update_id` is the de-duplication key), the core answers with
:class:`~svbot.messages.Outbound` messages inside one committed transaction, and we render them as
Telegram HTML with inline keyboards.

Here: `TelegramAdapter`, PTB's handlers. The package's other modules:

    setup.py   svbot telegram-poll -> polling_worker; svbot serve (POST /telegram/webhook) ->
               telegram_mount; svbot telegram set-webhook -> set_webhook; the "/" menu
    sender.py  TelegramSender: replies, reminders and broadcasts
    render.py  Telegram HTML and inline keyboards
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Sequence

import telegram
from telegram.error import (
    InvalidToken,
    TelegramError,
)
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    ChatMemberHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from svbot.channels.base import ChatCore
from svbot.channels.telegram.render import (
    TICK,
    command_text,
    strip_mention,
)
from svbot.channels.telegram.sender import PLATFORM, TelegramSender
from svbot.messages import DeliveryError, Inbound, Outbound, PermanentFailure, RetryLater
from svbot.text import text

log = logging.getLogger("svbot.telegram")




# --- Sending: one place for rendering, retries and error mapping -----------------------------------------












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
                await self.sender.send_many(message.chat.id, [_only_text()])
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
            await self._deliver(inbound, [_sorry()], None, quote)
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


def _sorry() -> Outbound:
    """A turn failed: sorry, in the current locale (the turn's own ended with it)."""
    return Outbound(text("channels.telegram.sorry"), kind="error")


def _only_text() -> Outbound:
    """A photo, sticker or voice note: only typed messages, in the current locale (no turn has read
    the conversation's)."""
    return Outbound(text("channels.telegram.only_text"), kind="error")


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


























