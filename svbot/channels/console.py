"""The console channel: talk to svbot in a terminal, or pipe answers in one per line.

Interactive mode numbers the buttons, so typing "2" presses the second one. Piped mode (stdin
is not a terminal) prints plain text, one reply block per line read, so it can be scripted.
"""

from __future__ import annotations

import asyncio
import getpass
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import TextIO

from rich.console import Console

from svbot.channels.base import ChatCore, WebMount, Worker
from svbot.clean import terminal
from svbot.config import Settings
from svbot.delivery.ratelimit import Limits
from svbot.messages import Inbound, Outbound, Sender
from svbot.text import text
from svbot.turns import Bot

PLATFORM = "console"


class ConsolePlatform:
    """The terminal (`svbot chat`): always there, answers only the person typing, sends nothing later."""

    name = PLATFORM
    limits = Limits()
    message_size = 20_000  # a terminal takes a whole statement at once

    def enabled(self, settings: Settings) -> bool:
        return True

    def web_mount(self, bot: ChatCore, settings: Settings) -> WebMount | None:
        return None

    def sender(self, settings: Settings, *, workers: int = 1) -> Sender | None:
        return None  # nobody is at the terminal later: reminders for console people wait in the outbox

    def worker(self, bot: ChatCore, settings: Settings) -> Worker | None:
        return None


CHANNEL = ConsolePlatform()


def default_user() -> str:
    try:
        return getpass.getuser()
    except Exception:  # no user name in some containers
        return "console"


class ConsoleChannel:
    def __init__(self, bot: Bot, user: str, *, out: TextIO | None = None, files_dir: Path | None = None,
                 interactive: bool | None = None) -> None:  # fmt: skip
        self.bot = bot
        self.user = user
        self.files_dir = files_dir or Path.cwd()
        self.interactive = sys.stdin.isatty() if interactive is None else interactive
        self.console = Console(file=out or sys.stdout, highlight=False, soft_wrap=True)
        self._last: Outbound | None = None

    async def run(self, lines: Iterable[str] | None = None) -> None:
        if self.interactive:
            self.console.print(
                text("channels.console.hello"), style="dim", markup=False
            )
        await self.show_waiting()
        if self.interactive:
            await self.say("start")
            while True:
                try:
                    line = await asyncio.to_thread(input, "> ")
                except (EOFError, KeyboardInterrupt):
                    self.console.print("\n" + text("channels.console.bye"), markup=False)
                    return
                if line.strip().lower() in ("quit", "exit", ":q"):
                    self.console.print(text("channels.console.bye"), markup=False)
                    return
                await self.say(line)
        else:
            for line in lines if lines is not None else sys.stdin:
                await self.say(line.rstrip("\n"))

    async def show_waiting(self) -> None:
        """Reminders that fell due while the person was away: nobody is at a terminal later, so they
        wait in the outbox for this moment. One planning pass first (as `svbot clock` would make),
        so a console-only install needs no clock running; then this person's rows, marked sent."""
        from svbot.deadlines.planner import plan_reminders
        from svbot.delivery.dispatcher import Dispatcher
        from svbot.delivery.ratelimit import RateLimiter

        now = self.bot.clock()
        sessionmaker = self.bot.sessionmaker
        await plan_reminders(sessionmaker, now, str(self.bot.tz))
        screen = _Screen(self)
        await Dispatcher(sessionmaker, {PLATFORM: screen}, RateLimiter({PLATFORM: Limits()})).deliver_waiting(
            PLATFORM, self.user, now
        )
        shown = [m for m in screen.shown if m.buttons or m.controls]
        if shown:  # "1" presses the latest reminder's first button
            self._last = shown[-1]

    async def say(self, line: str) -> None:
        replies = await self.bot.handle(self.inbound(line))
        for message in replies:
            self.show(message)
        if replies:  # numbers press the buttons of what was said last, never of something older
            self._last = next((m for m in reversed(replies) if m.buttons or m.controls), None)

    def inbound(self, line: str) -> Inbound:
        payload = self._button_for(line)
        return Inbound(
            platform=PLATFORM,
            user_id=self.user,
            chat_id=self.user,
            text=None if payload else line,
            payload=payload,
            user_name=self.user,
        )

    def _button_for(self, line: str) -> str | None:
        """"2" presses button 2 of the last message, and so does typing its label (except in a
        multi-choice, where "1, 3" is typed). Piped input works the same, so scripts can press too."""
        last = self._last
        said = line.strip()
        if last is None or last.multi_select:
            return None
        if said.isdigit():
            index = int(said) - 1
            return last.buttons[index].payload if 0 <= index < len(last.buttons) else None
        return next((b.payload for b in last.buttons if b.label.casefold() == said.casefold()), None)

    def show(self, message: Outbound) -> None:
        print_ = self.console.print
        style = "red" if message.kind == "error" else ("bold" if message.kind == "question" else None)
        # Names in messages may come from imported files: no escape codes reach the terminal.
        print_(terminal(message.text), style=style if self.interactive else None, markup=False)
        for number, button in enumerate(message.buttons, start=1):
            tick = ("[x] " if button.selected else "[ ] ") if message.multi_select else ""
            print_(f"  {number}. {tick}{terminal(button.label)}", markup=False)
        if message.controls:
            words = " · ".join(terminal(b.label) for b in message.controls)
            print_(f"  ({words})", style="dim" if self.interactive else None, markup=False)
        if message.file is not None:
            path = self.files_dir / Path(message.file.filename).name
            path.write_bytes(message.file.content)
            print_("  " + text("channels.console.saved", title=message.file.title or text("channels.console.file"),
                                path=str(path)), markup=False)
        if not self.interactive:
            print_("", markup=False)


class _Screen:
    """The console's sender while a chat is open: "sending" a waiting message shows it."""

    def __init__(self, channel: ConsoleChannel) -> None:
        self.channel = channel
        self.shown: list[Outbound] = []

    async def send(self, chat_id: str, message: Outbound) -> str | None:
        self.channel.show(message)
        self.shown.append(message)
        return None
