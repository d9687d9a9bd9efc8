"""Support organisations: roles and access checks, join codes, broadcasts, the weekly digest of
overdue reports and the annual social value report. `install(bot)` adds the chat side."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from svbot.turns import Bot


def install(bot: Bot) -> None:
    from svbot.support.chat import install as install_chat

    install_chat(bot)
