"""Telegram, as the composition root sees it: settings, send limits, and the parts built on demand.

Importing this package loads no python-telegram-bot: `adapter` (receiving and sending) and `render`
(Telegram HTML and inline keyboards) are imported when the web process, a worker or a sender needs them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from svbot.delivery.ratelimit import Limits, telegram_group

if TYPE_CHECKING:
    from svbot.channels.base import ChatCore, WebMount, Worker
    from svbot.config import Settings
    from svbot.messages import Sender

# Telegram counts about 30 messages a second overall over a sliding second, so we pace evenly just
# under it (no burst); one a second per chat and 20 a minute per group.
RATE = 29.5
WINDOW = 29  # messages in any second, as Telegram would count them (see SlidingWindow)
# An answer back within this long means the message went straight out: count it from when it was let
# through. Counting every message until its answer would cost a round trip's worth of rate.
WINDOW_GRACE = 0.010


class TelegramChannel:
    name = "telegram"
    limits = Limits(
        per_second=RATE, burst=1.0, per_chat_interval=1.0, group_limit=20, group_window=60.0, is_group=telegram_group
    )
    message_size = 3900  # Telegram's limit is 4,096 characters; room for the HTML our renderer adds

    def enabled(self, settings: Settings) -> bool:
        return bool(settings.telegram_bot_token and settings.telegram_bot_token.get_secret_value())

    def web_mount(self, bot: ChatCore, settings: Settings) -> WebMount | None:
        from svbot.channels.telegram.setup import telegram_mount

        return telegram_mount(bot, settings)

    def sender(self, settings: Settings, *, workers: int = 1) -> Sender | None:
        from telegram.request import HTTPXRequest

        from svbot.channels.telegram.sender import TelegramSender
        from svbot.delivery.ratelimit import SlidingWindow

        request = HTTPXRequest(connection_pool_size=workers + 2, pool_timeout=30.0)
        # max_wait=0: a 429 comes straight back, so the rate limiter pauses every send, not just one.
        sender = TelegramSender(settings, request=request, max_wait=0.0)
        # Pacing decides when a message *should* go; the window makes sure a stall of the event loop
        # (a checkpoint, a garbage collection) cannot release held-back messages as one burst.
        return SlidingWindow(sender, WINDOW, grace=WINDOW_GRACE)

    def worker(self, bot: ChatCore, settings: Settings) -> Worker | None:
        from svbot.channels.telegram.setup import polling_worker

        return polling_worker(bot, settings)


CHANNEL = TelegramChannel()
