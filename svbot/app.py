"""The composition root: settings in; the bot with every feature, the channels, the senders, the web
app and the workers out.

Every `svbot` command, every test and every benchmark builds through `open_app` (or `build_app`), so
the app the tests run is the app users run: a test may pass other settings, a clock or fake platform
servers, never its own choice of features. One place introduces the parts to each other; the parts
stay unaware of each other.
"""

from __future__ import annotations

import contextlib
import dataclasses
import gc
import logging
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from svbot import evidence, monitoring
from svbot.channels import console, slack, telegram
from svbot.channels.base import Channel, WebMount
from svbot.config import Settings, get_settings
from svbot.dashboard import chat as dashboard_chat
from svbot.db import make_engine, make_sessionmaker, upgrade_async
from svbot.deadlines import chat as deadlines_chat
from svbot.delivery.ratelimit import Limits, RateLimiter
from svbot.dialogue.spec import load_dialogues
from svbot.knowledge import load_knowledge
from svbot.messages import Sender
from svbot.paths import dialogues_dir, knowledge_dir
from svbot.privacy import chat as privacy_chat
from svbot.support import chat as support_chat
from svbot.turns import Bot

if TYPE_CHECKING:
    from starlette.applications import Starlette

log = logging.getLogger(__name__)

# What svbot can do in a conversation: each registers its intents, buttons and completion hooks.
FEATURES: tuple[Callable[[Bot], None], ...] = (
    evidence.install, deadlines_chat.install, support_chat.install, monitoring.install, dashboard_chat.install,
    privacy_chat.install,
)  # fmt: skip

# Where svbot can talk. A channel whose settings are missing is simply off.
CHANNELS: tuple[Channel, ...] = (console.CHANNEL, slack.CHANNEL, telegram.CHANNEL)


@dataclass
class App:
    """Everything a process needs, built once from the settings."""

    settings: Settings
    bot: Bot
    channels: tuple[Channel, ...]  # the ones switched on by the settings

    def channel(self, name: str) -> Channel | None:
        return next((channel for channel in self.channels if channel.name == name), None)

    def senders(self, *, workers: int = 1) -> dict[str, Sender]:
        """One sender per channel that can send unprompted (reminders, broadcasts, digests), with
        connections for `workers` sends at once. Close them with `close_senders`."""
        senders: dict[str, Sender] = {}
        for channel in self.channels:
            sender = channel.sender(self.settings, workers=workers)
            if sender is not None:
                senders[channel.name] = sender
        return senders

    def limiter(self, **changes: dict[str, Any]) -> RateLimiter:
        """The rate limiter for sending, from each channel's own limits (see `send_limits`)."""
        return RateLimiter(send_limits(**changes))

    def web_mounts(self) -> dict[str, WebMount]:
        mounts: dict[str, WebMount] = {}
        for channel in self.channels:
            mount = channel.web_mount(self.bot, self.settings)
            if mount is not None and mount.routes:
                mounts[channel.name] = mount
        return mounts

    def web_app(self) -> Starlette:
        from svbot.web import create_web_app

        return create_web_app(self.bot, self.web_mounts(), self.settings)

    async def close(self) -> None:
        await self.bot.db_engine.dispose()


def send_limits(**changes: dict[str, Any]) -> dict[str, Limits]:
    """Each channel's send limits, by name, whether or not it is switched on. `changes` alter some
    fields of a channel's limits: `send_limits(telegram={"per_second": 10.0})`."""
    return {
        channel.name: dataclasses.replace(channel.limits, **changes.get(channel.name, {})) for channel in CHANNELS
    }


async def build_app(settings: Settings | None = None, *, migrate: bool | None = None, **bot_options: Any) -> App:
    """Build the app. The embedded SQLite default migrates itself; PostgreSQL uses `svbot db upgrade`.

    `bot_options` are for tests and benchmarks: a `clock`, a `start_dialogue`.
    """
    settings = settings or get_settings()
    bot = await create_bot(settings, migrate=migrate, **bot_options)
    channels = tuple(channel for channel in CHANNELS if channel.enabled(settings))
    return App(settings, bot, channels)


@contextlib.asynccontextmanager
async def open_app(settings: Settings | None = None, **options: Any) -> AsyncIterator[App]:
    app = await build_app(settings, **options)
    try:
        yield app
    finally:
        await app.close()


async def create_bot(settings: Settings | None = None, *, migrate: bool | None = None, **bot_options: Any) -> Bot:
    """The bot with every feature installed, on the settings' database."""
    settings = settings or get_settings()
    url = settings.async_database_url
    if migrate is None:
        migrate = url.startswith("sqlite")
    if migrate:
        await upgrade_async(url)
    bot = Bot(
        make_sessionmaker(make_engine(url)),
        load_dialogues(dialogues_dir(settings.dialogues_dir)),
        knowledge=load_knowledge(knowledge_dir(settings.knowledge_dir)),
        timezone=settings.timezone,
        idle_after=timedelta(minutes=settings.idle_minutes),
        message_sizes={channel.name: channel.message_size for channel in CHANNELS},
        **bot_options,
    )
    bot.settings = settings
    for install in FEATURES:
        install(bot)
    # What start-up loaded (dialogues, knowledge, SQLAlchemy's metadata) lives as long as the process:
    # freezing it keeps each garbage collection short, and so the slowest turns quicker.
    gc.collect()
    gc.freeze()
    return bot


async def close_bot(bot: Bot) -> None:
    await bot.db_engine.dispose()


async def close_senders(senders: dict[str, Sender]) -> None:
    for sender in senders.values():
        close = getattr(sender, "close", None)
        if close is None:
            continue
        try:
            await close()
        except Exception:  # closing is best effort: the process is ending anyway
            log.debug("closing a sender failed", exc_info=True)
