"""The composition root: settings in, a ready Bot (and the channel senders) out.

One place wires the parts together, so the parts stay unaware of each other.
"""

from __future__ import annotations

import gc
from datetime import timedelta
from typing import Any

from svbot.config import Settings, get_settings
from svbot.db import make_engine, make_sessionmaker, upgrade_async
from svbot.dialogue.spec import load_dialogues
from svbot.knowledge import Knowledge, load_knowledge
from svbot.paths import dialogues_dir, knowledge_dir
from svbot.turns import Bot


async def create_bot(
    settings: Settings | None = None, *, migrate: bool | None = None, **bot_options: Any
) -> Bot:
    """Build the Bot. The embedded SQLite default migrates itself; PostgreSQL uses `svbot db upgrade`."""
    settings = settings or get_settings()
    url = settings.async_database_url
    if migrate is None:
        migrate = url.startswith("sqlite")
    if migrate:
        await upgrade_async(url)
    engine = make_engine(url)
    dialogues = load_dialogues(dialogues_dir(settings.dialogues_dir))
    bot = Bot(
        make_sessionmaker(engine),
        dialogues,
        knowledge=_load_knowledge(settings),
        timezone=settings.timezone,
        idle_after=timedelta(minutes=settings.idle_minutes),
        **bot_options,
    )
    install_features(bot)
    # What start-up loaded (dialogues, knowledge, SQLAlchemy's metadata) lives as long as the process:
    # freezing it keeps each garbage collection short, and so the slowest turns quicker.
    gc.collect()
    gc.freeze()
    return bot


def install_features(bot: Bot) -> None:
    """Each feature registers its intents, button handlers and completion hooks on the bot."""
    import importlib

    for module_name in FEATURES:
        importlib.import_module(module_name).install(bot)


# Features that plug into conversations. A module here has `install(bot)`.
FEATURES: list[str] = ["svbot.evidence", "svbot.deadlines.chat"]


def _load_knowledge(settings: Settings) -> Knowledge:
    return load_knowledge(knowledge_dir(settings.knowledge_dir))


def build_senders(settings: Settings) -> dict[str, Any]:
    """The channels that can send unprompted messages (reminders, broadcasts), by platform."""
    senders: dict[str, Any] = {}
    if settings.telegram_bot_token:
        from svbot.channels.telegram import TelegramSender

        senders["telegram"] = TelegramSender(settings)
    if settings.slack_bot_token or _slack_oauth_enabled():
        from svbot.channels.slack import SlackSender

        senders["slack"] = SlackSender(settings)
    return senders


def _slack_oauth_enabled() -> bool:
    """Multi-workspace installs have no single bot token: each workspace's comes from the store."""
    from svbot.channels.slack import SlackOAuthEnv

    return SlackOAuthEnv().enabled


async def close_bot(bot: Bot) -> None:
    await bot.db_engine.dispose()
