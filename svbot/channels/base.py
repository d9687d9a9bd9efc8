"""The platform-neutral messages that cross between channel adapters and the core.

Adapters turn a platform update into an :class:`Inbound` and render each :class:`Outbound`
for their platform. Outbound text is plain text: every renderer escapes it for its own target,
so nothing a user typed is ever interpreted as markup.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Literal, Protocol

from svbot.delivery.ratelimit import Limits

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

    from svbot.config import Settings


@dataclass(frozen=True, slots=True)
class Inbound:
    """One thing a person did: typed text or pressed a button."""

    platform: str  # "console", "slack", "telegram"
    user_id: str  # the platform's id for the person
    chat_id: str  # where to answer: a DM, a channel thread, a Telegram chat
    text: str | None = None  # what they typed
    payload: str | None = None  # the value of a button they pressed
    event_id: str | None = None  # the platform's id for this delivery, for de-duplication
    received_at: datetime | None = None
    user_name: str | None = None
    thread_id: str | None = None  # Slack thread, if the conversation lives in one
    is_group: bool = False


@dataclass(frozen=True, slots=True)
class Button:
    label: str
    payload: str
    selected: bool = False  # ticked, in a multi-choice list
    style: Literal["default", "primary", "danger"] = "default"


@dataclass(frozen=True, slots=True)
class FileOut:
    filename: str
    content: bytes
    mime_type: str
    title: str = ""


InputHint = Literal["text", "long_text", "number", "date", "choice", "multi_choice", "yes_no", "none"]


@dataclass(frozen=True, slots=True)
class Outbound:
    """One message to send. Renderers map it to Block Kit, Telegram HTML or numbered console lines."""

    text: str
    buttons: tuple[Button, ...] = ()  # choices and actions, in order
    multi_select: bool = False  # buttons toggle; a Done button submits
    controls: tuple[Button, ...] = ()  # back / skip / help: shown smaller, after the choices
    input_hint: InputHint = "none"  # lets a renderer offer a date picker or a modal
    replace_previous: bool = False  # edit the last message (multi-choice toggles) instead of sending
    markdown: bool = False  # text is Markdown we generated (a statement), not user-facing plain text
    file: FileOut | None = None
    kind: Literal["question", "info", "error", "reminder"] = "info"
    meta: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class MenuEntry:
    """A command a platform may list in its menu (Telegram's "/" list), made from a registered intent."""

    command: str  # without the "/": "due"
    description: str
    roles: frozenset[str] = frozenset()  # empty: everyone; otherwise people with one of these roles


class Sender(Protocol):
    """Sends one message unprompted (a reminder, a broadcast); returns the platform's message id."""

    async def send(self, chat_id: str, message: Outbound) -> str | None: ...


class ChatCore(Protocol):
    """What a channel needs from the core (`svbot.turns.Bot` fits): a turn, and the database."""

    sessionmaker: async_sessionmaker[AsyncSession]

    @property
    def menu(self) -> list[MenuEntry]: ...

    async def handle(self, inbound: Inbound) -> list[Outbound]: ...

    async def chat_menus(self, platform: str) -> dict[str | None, list[MenuEntry]]: ...

    async def set_reachable(self, platform: str, user_id: str, active: bool) -> None: ...


# A long-running loop of a channel (Telegram polling, Slack Socket Mode): it runs until the event is set.
Worker = Callable[[asyncio.Event], Awaitable[None]]


class Channel(Protocol):
    """One chat platform, as the composition root (`svbot.app`) sees it.

    The object is light: importing it loads no platform library; its methods import their
    adapter when they are called, so `svbot chat` never loads python-telegram-bot or Bolt.
    """

    name: str  # the platform's name in Inbound.platform and outbox rows: "slack", "telegram"
    limits: Limits  # how fast the platform lets us send, for reminders and broadcasts alike
    message_size: int  # the longest text we put in one chat message (a statement is split to fit)

    def enabled(self, settings: Settings) -> bool:
        """Are its settings there? A channel that is not enabled is not mounted and sends nothing."""
        ...

    def web_mount(self, bot: ChatCore, settings: Settings) -> WebMount | None:
        """Its routes in the web process (`svbot serve`), if it takes requests over HTTP."""
        ...

    def sender(self, settings: Settings, *, workers: int = 1) -> Sender | None:
        """A sender for unprompted messages, with connections for `workers` sends at once."""
        ...

    def worker(self, bot: ChatCore, settings: Settings) -> Worker | None:
        """Its own long-running loop (polling, Socket Mode), for installs without a public URL."""
        ...


class DeliveryError(Exception):
    """A send failed. Senders raise one of the two kinds below so the dispatcher knows what to do."""


class RetryLater(DeliveryError):
    """The platform asked us to slow down (HTTP 429) or had a passing fault: try again later."""

    def __init__(self, reason: str, retry_after: float = 1.0) -> None:
        super().__init__(reason)
        self.retry_after = retry_after


class PermanentFailure(DeliveryError):
    """It will never work: the user blocked the bot, the channel is gone. Record it, tell an admin."""


def outbound_to_dict(message: Outbound) -> dict:
    """A JSON-safe form, for outbox rows. Files are not stored in the outbox."""
    return {
        "text": message.text,
        "buttons": [_button_to_dict(b) for b in message.buttons],
        "multi_select": message.multi_select,
        "controls": [_button_to_dict(b) for b in message.controls],
        "input_hint": message.input_hint,
        "replace_previous": message.replace_previous,
        "markdown": message.markdown,
        "kind": message.kind,
        "meta": dict(message.meta),
    }


def outbound_from_dict(data: dict) -> Outbound:
    return Outbound(
        text=str(data.get("text", "")),
        buttons=tuple(Button(**b) for b in data.get("buttons", ())),
        multi_select=bool(data.get("multi_select", False)),
        controls=tuple(Button(**b) for b in data.get("controls", ())),
        input_hint=data.get("input_hint", "none"),
        replace_previous=bool(data.get("replace_previous", False)),
        markdown=bool(data.get("markdown", False)),
        kind=data.get("kind", "info"),
        meta=dict(data.get("meta", {})),
    )


def _button_to_dict(button: Button) -> dict:
    return {
        "label": button.label,
        "payload": button.payload,
        "selected": button.selected,
        "style": button.style,
    }


@dataclass
class WebMount:
    """What a channel adds to the web process: its routes, and what to start and stop with it."""

    routes: list = field(default_factory=list)  # starlette routes
    on_startup: list = field(default_factory=list)  # async callables, no arguments
    on_shutdown: list = field(default_factory=list)
