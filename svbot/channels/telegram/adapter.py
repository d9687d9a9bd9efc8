"""The Telegram channel: python-telegram-bot for the Bot API, svbot's own core for conversation state.

PTB parses updates and talks HTTP; it keeps no state of ours. Each update becomes one
:class:`~svbot.messages.Inbound` (its `update_id` is the de-duplication key), the core answers with
:class:`~svbot.messages.Outbound` messages inside one committed transaction, and we render them as
Telegram HTML with inline keyboards.

Here: `TelegramAdapter`, PTB's handlers. The package's other modules:

    setup.py   svbot telegram-poll -> polling_worker; svbot serve (POST /telegram/webhook) ->
               telegram_mount; svbot telegram set-webhook -> set_webhook; the "/" menu
    sender.py  TelegramSender: replies, reminders and broadcasts
    buttons.py what a button stands for (long payloads, whose question it is), in the database
    render.py  Telegram HTML and inline keyboards
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import re
from collections.abc import Sequence

import telegram
from telegram.constants import MessageEntityType, MessageLimit
from telegram.error import InvalidToken, TelegramError
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    ChatMemberHandler,
    ContextTypes,
    MessageHandler,
    filters,
)
from telegram.helpers import create_deep_linked_url

from svbot.channels.base import ChatCore
from svbot.channels.telegram.buttons import Owner
from svbot.channels.telegram.render import TICK, strip_mention
from svbot.channels.telegram.sender import PLATFORM, TelegramSender
from svbot.messages import DeliveryError, Inbound, Outbound, PermanentFailure, RetryLater
from svbot.text import text

log = logging.getLogger("svbot.telegram")

# What a t.me/<bot>?start=... link may carry (Telegram's rule): used for join codes and command words.
DEEP_LINK_PAYLOAD = re.compile(rf"[A-Za-z0-9_-]{{1,{int(MessageLimit.DEEP_LINK_LENGTH)}}}")


# --- Receiving: PTB handlers that turn updates into Inbound and replies into messages ---------------------


class TelegramAdapter:
    """The PTB callbacks. Holds no conversation state: everything lives in the database via `bot`."""

    def __init__(self, bot: ChatCore, sender: TelegramSender) -> None:
        self.bot = bot
        self.sender = sender
        # Our commands; in groups, other bots' commands are theirs.
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
        command = parse_command(message, context.bot.username)
        if command is None:
            await self._turn(update, text=message.text)
        elif command.for_us:
            await self._command(update, command)
        # else: "/start@otherbot", addressed to another bot: not ours to answer or store

    async def on_group_message(self, update: telegram.Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """In groups, only commands to us, messages that mention us and replies to our messages."""
        message = update.effective_message
        if message is None or message.from_user is None or not message.text:
            return
        username = context.bot.username
        command = parse_command(message, username)
        if command is not None:
            # An unknown command with no @ourbot may be meant for another bot in the group: stay quiet.
            if command.for_us and (command.addressed or command.name in self.commands):
                await self._command(update, command, quote=message.message_id)
            return
        if _mentions(message, username) or _replies_to(message, context.bot.id):
            said = strip_mention(message.text, username) or "help"  # "@svbot" alone: what do we do?
            await self._turn(update, text=said, quote=message.message_id)

    async def on_button(self, update: telegram.Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.callback_query
        if query is None:
            return
        if query.message is None or query.data is None:
            await _answer(query)
            return  # inline-mode buttons: not ours
        pressed = await self.sender.buttons.decode(query.data)
        if pressed is not None and pressed.owner is not None and pressed.owner.user_id != str(query.from_user.id):
            # Someone else's question in a group: tell them whose, and change nothing.
            name = pressed.owner.first_name
            said = text("channels.telegram.not_your_question", name=name) if name else None
            await _answer(query, said or text("channels.telegram.not_your_question_unnamed"))
            return
        await _answer(query)  # first: the spinner on the button stops
        message_id = query.message.message_id
        if pressed is None:  # a key we never stored: the label says the same thing
            await self._turn(update, text=_label_of(query), edit_message_id=message_id)
            return
        await self._turn(update, payload=pressed.payload, edit_message_id=message_id)

    async def on_my_chat_member(self, update: telegram.Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Telegram tells us when someone blocks (or unblocks) the bot in a private chat."""
        change = update.my_chat_member
        if change is None or change.chat.type != "private":
            return
        status = change.new_chat_member.status
        if status in ("kicked", "member"):
            await self.bot.set_reachable(PLATFORM, str(change.from_user.id), status == "member")

    async def _command(self, update: telegram.Update, command: Command, quote: int | None = None) -> None:
        """One of our commands goes to the core; any other gets the list of what we can do, and nothing is
        stored (so "/settings" is never an answer)."""
        said = command.as_core_text(self.commands)
        if said is not None:
            await self._turn(update, text=said, quote=quote)
            return
        chat = update.effective_chat
        if chat is not None:
            with contextlib.suppress(DeliveryError):
                await self.sender.send_many(chat.id, [Outbound(self.bot.home_help())], reply_to_message_id=quote)

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
        owner = Owner(str(user.id), user.first_name) if inbound.is_group else None
        try:
            replies = await self.bot.handle(inbound)
        except Exception:
            await self._send(inbound, [_sorry()], quote=quote)
            raise  # PTB's error handlers log it with the update
        if inbound.is_group:
            await self._deliver_in_group(inbound, replies, edit_message_id, quote, owner)
        else:
            await self._send(inbound, replies, edit_message_id=edit_message_id)

    async def _deliver_in_group(
        self,
        inbound: Inbound,
        replies: Sequence[Outbound],
        edit_message_id: int | None,
        quote: int | None,
        owner: Owner | None,
    ) -> None:
        """What is for everyone goes in the group; what is for the person alone goes to their private chat,
        with a short note in the group (or, if Telegram won't let us write to them first, a link to open it)."""
        shared = [reply for reply in replies if not (reply.private or reply.take_private)]
        private = [reply for reply in replies if reply.private]
        moved = next((reply for reply in replies if reply.take_private), None)
        await self._send(inbound, shared, edit_message_id=edit_message_id, quote=quote, owner=owner)
        first_name = owner.first_name if owner else ""
        if moved is not None and not await self.sender.can_write_to(inbound.user_id):
            # Not run at all (a join, a report started unseen): the link's Start runs it in private.
            link = self._link(_deep_link_payload(inbound.text, self.commands))
            await self._send(inbound, [_open_private(first_name, link)], quote=quote)
            return
        if moved is not None:  # the core did not run it here: run the same words in the private chat
            alone = dataclasses.replace(
                inbound, chat_id=inbound.user_id, is_group=False, event_id=f"{inbound.event_id}:private"
            )
            private += await self.bot.handle(alone)
            note = moved
        elif private:
            note = _sent_privately(first_name)
        else:
            return
        try:
            await self.sender.send_many(inbound.user_id, private)
        except PermanentFailure:  # never opened a private chat with us (or blocked us): Telegram's rule
            note = _open_private(first_name, self._link(_deep_link_payload(inbound.text, self.commands)))
        except RetryLater as exc:
            log.warning("private reply to a Telegram user not delivered (%s)", exc)
            note = _sorry()
        await self._send(inbound, [note], quote=quote)

    def _link(self, payload: str) -> str:
        return deep_link(self.sender.tg.username, payload)

    async def _send(
        self,
        inbound: Inbound,
        replies: Sequence[Outbound],
        *,
        edit_message_id: int | None = None,
        quote: int | None = None,
        owner: Owner | None = None,
    ) -> None:
        if not replies:
            return  # a repeated update, or nothing to say
        try:
            await self.sender.send_many(
                inbound.chat_id, replies, edit_message_id=edit_message_id, reply_to_message_id=quote, owner=owner
            )
        except PermanentFailure as exc:
            if str(exc) == "blocked" and not inbound.is_group:
                await self.bot.set_reachable(PLATFORM, inbound.user_id, False)
            log.warning("Telegram reply to chat %s not delivered: %s", inbound.chat_id, exc)
        except RetryLater as exc:
            log.warning("Telegram reply to chat %s not delivered (%s); the person can ask again", inbound.chat_id, exc)


# --- Commands, parsed from the bot_command entity Telegram marks (as PTB's CommandHandler does) -----------


@dataclasses.dataclass(frozen=True, slots=True)
class Command:
    name: str  # lower case, without "/" and "@bot"
    args: tuple[str, ...]
    addressed: bool  # "/due@ourbot"
    for_us: bool  # False: "/start@otherbot"

    def as_core_text(self, commands: frozenset[str]) -> str | None:
        """What the core reads for it, or None for a command that is not ours ("/settings", "/privacy").

        A t.me/<bot>?start=PAYLOAD link arrives as "/start PAYLOAD": a command word runs that command (our
        own links to open a private chat), anything else is a join code, from any state."""
        if self.name == "start" and self.args:
            payload = self.args[0]
            return f"/{payload.lower()}" if payload.lower() in commands else f"/join {payload}"
        if self.name not in commands:
            return None
        return " ".join((f"/{self.name}", *self.args))  # "/join X" keeps its slash: always a join code


def parse_command(message: telegram.Message, bot_username: str | None) -> Command | None:
    """The command a message starts with, by its bot_command entity; None if it starts with none."""
    entities = message.parse_entities([MessageEntityType.BOT_COMMAND])
    first = next(((entity, said) for entity, said in entities.items() if entity.offset == 0), None)
    if first is None or message.text is None:
        return None
    entity, said = first
    name, _, target = said[1:].partition("@")
    for_us = not target or bot_username is None or target.lower() == bot_username.lower()
    args = tuple(message.text[entity.length :].split())  # offsets are UTF-16, but the command is ASCII
    return Command(name.lower(), args, addressed=bool(target), for_us=for_us)


def deep_link(bot_username: str, payload: str) -> str:
    """https://t.me/<bot>?start=<payload>: one tap opens a private chat with the bot, and pressing Start
    sends "/start <payload>"."""
    return create_deep_linked_url(bot_username, payload)


def _deep_link_payload(said: str | None, commands: frozenset[str]) -> str:
    """What the "open a private chat" link carries, so pressing Start there does what was asked here:
    the join code, or the command word; otherwise the list of commands."""
    words = (said or "").lstrip("/").split()
    first = words[0].lower() if words else ""
    if first == "join" and len(words) > 1 and DEEP_LINK_PAYLOAD.fullmatch(words[1]):
        return words[1]
    return first if first in commands and first != "start" else "help"


def _sorry() -> Outbound:
    """A turn failed: sorry, in the current locale (the turn's own ended with it)."""
    return Outbound(text("channels.telegram.sorry"), kind="error")


def _only_text() -> Outbound:
    """A photo, sticker or voice note: only typed messages, in the current locale (no turn has read
    the conversation's)."""
    return Outbound(text("channels.telegram.only_text"), kind="error")


def _sent_privately(name: str) -> Outbound:
    said = text("channels.telegram.sent_privately", name=name) if name else None
    return Outbound(said or text("channels.telegram.sent_privately_unnamed"))


def _open_private(name: str, link: str) -> Outbound:
    said = text("channels.telegram.open_private", name=name, link=link) if name else None
    return Outbound(said or text("channels.telegram.open_private_unnamed", link=link))


async def _answer(query: telegram.CallbackQuery, said: str | None = None) -> None:
    try:
        await query.answer(said)
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
    return any(said.lower() == wanted for said in message.parse_entities([MessageEntityType.MENTION]).values())


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
