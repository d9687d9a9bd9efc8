"""Slack, as the composition root sees it: settings, send limits, and the parts built on demand.

Importing this package loads no slack-bolt: `adapter` (Events API, Socket Mode, OAuth, sending) and
`render` (Block Kit) are imported when the web process, a worker or a sender needs them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from svbot.delivery.ratelimit import Limits

if TYPE_CHECKING:
    from svbot.channels.base import ChatCore, WebMount, Worker
    from svbot.config import Settings
    from svbot.messages import Sender


class SlackChannel:
    name = "slack"
    limits = Limits(per_chat_interval=1.0)  # chat.postMessage: about one a second per channel
    message_size = 2900  # a section block takes 3,000 characters

    def enabled(self, settings: Settings) -> bool:
        """One workspace (a bot token) or many (OAuth: each workspace's token is in the database)."""
        return bool(settings.slack_bot_token or settings.slack_oauth_enabled)

    def web_mount(self, bot: ChatCore, settings: Settings) -> WebMount | None:
        if settings.slack_signing_secret is None:
            return None  # Socket Mode only: Slack never calls us over HTTP
        from svbot.channels.slack.setup import slack_mount

        return slack_mount(bot, settings)

    def sender(self, settings: Settings, *, workers: int = 1) -> Sender | None:
        from svbot.channels.slack.sender import SlackSender

        return SlackSender(settings)

    def worker(self, bot: ChatCore, settings: Settings) -> Worker | None:
        if settings.slack_app_token is None:
            return None
        from svbot.channels.slack.setup import socket_mode_worker

        return socket_mode_worker(bot, settings)


CHANNEL = SlackChannel()
