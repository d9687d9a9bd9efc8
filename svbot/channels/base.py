"""What a channel is to the composition root (`Channel`), and what it may use of the core (`ChatCore`).

Only packages under `svbot/channels/` import this module or a platform library; the core's message
types live in `svbot.messages`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from svbot.delivery.ratelimit import Limits
from svbot.messages import Inbound, MenuEntry, Outbound, Sender

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

    from svbot.config import Settings


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


@dataclass
class WebMount:
    """What a channel adds to the web process: its routes, and what to start and stop with it."""

    routes: list = field(default_factory=list)  # starlette routes
    on_startup: list = field(default_factory=list)  # async callables, no arguments
    on_shutdown: list = field(default_factory=list)
