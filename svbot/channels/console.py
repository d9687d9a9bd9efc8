"""The console channel: talk to svbot in a terminal, or pipe answers in one per line.

What it looks like: a statement or report (Markdown svbot wrote) is drawn with Rich as text styles,
headings bold, lists with bullets, tables in columns; everything else is plain text, never read as
markup. A question's choices are numbered and its controls (Back, Skip, Help...) have a letter each:

    Roughly how much does your group spend in a year?
      1. Under £10,000
      2. £10,000 to £100,000
      b. Back · s. Skip / I don't know · h. Help

Typing "2" or "£10,000 to £100,000" picks the second choice; "b" or "back" goes back. Controls get
letters, not the next numbers, because a number must stay an answer: at "How many volunteers?" 3 is
three volunteers, and at the review 3 changes answer 3. Back is b at every question, Skip s, Help h.
The console turns a number or a letter into the button's payload here, so the core only ever sees
what a Slack or Telegram press would send.

Colours and styles are Rich's to decide: on in a terminal, off when output is piped or redirected
(then the text is plain, with no escape codes and nothing of the Markdown syntax), colours off with
NO_COLOR, on with FORCE_COLOR. Input is read a line at a time either way, so scripts can answer too.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import getpass
import re
import signal
import sys
import threading
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import ClassVar, TextIO

from rich.console import Console, ConsoleOptions, RenderableType, RenderResult
from rich.markdown import Heading, HorizontalRule, Markdown
from rich.segment import Segment
from rich.text import Text
from rich.theme import Theme

from svbot.channels.base import ChatCore, WebMount, Worker
from svbot.clean import terminal
from svbot.config import Settings
from svbot.delivery.ratelimit import Limits
from svbot.dialogue.payloads import Action, decode
from svbot.dialogue.words import simplify
from svbot.messages import Button, Inbound, Outbound, Sender
from svbot.text import text
from svbot.turns import Bot

PLATFORM = "console"
READABLE_WIDTH = 100  # in a wide terminal, lines longer than this are hard to read
UNWRAPPED = 10_000  # piped output: a paragraph stays one line (it is pasted into a bid form whole)
RESERVED_KEYS = frozenset("yn")  # typed at a yes/no question they mean yes and no: never a control's letter
# The engine's controls, lettered by what they do (mostly their label's initial), the same at every question.
ACTION_KEYS = {
    Action.BACK: "b", Action.SKIP: "s", Action.HELP: "h", Action.DONE: "d", Action.KEEP: "k",
    Action.REVIEW_OK: "a", Action.CHANGE: "c", Action.STATUS: "w", Action.CANCEL: "x", Action.RESTART: "r",
}  # fmt: skip

# Styles in a terminal. Rich drops them all when output is not a terminal, and the colours alone with
# NO_COLOR; bold and underline carry the meaning, colour only helps.
THEME = Theme({
    "svbot.question": "bold", "svbot.error": "bold red",
    "svbot.key": "bold cyan", "svbot.ticked": "bold green", "svbot.unticked": "dim",
    "svbot.control": "dim", "svbot.note": "dim",
    "markdown.h1": "bold underline", "markdown.h2": "bold", "markdown.h3": "bold", "markdown.h4": "bold italic",
    "markdown.block_quote": "italic", "markdown.hr": "dim", "markdown.link_url": "underline",
})  # fmt: skip


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


QUIT = ("quit", "exit", ":q")  # leave the chat: never sent to svbot


class ConsoleChannel:
    """One person at the terminal. `interactive`: a person typing (a prompt, a greeting); default:
    whether stdin is a terminal. `terminal`: whether output takes styles; default: Rich decides
    (is stdout a terminal, FORCE_COLOR, TTY_COMPATIBLE)."""

    def __init__(self, bot: Bot, user: str, *, out: TextIO | None = None, files_dir: Path | None = None,
                 interactive: bool | None = None, terminal: bool | None = None) -> None:  # fmt: skip
        self.bot = bot
        self.user = user
        self.files_dir = files_dir or Path.cwd()
        self.interactive = sys.stdin.isatty() if interactive is None else interactive
        # emoji=False: a user's ":smile:" stays as typed; highlight=False: no colours guessed from numbers.
        self.console = Console(file=out or sys.stdout, force_terminal=terminal, theme=THEME, highlight=False,
                               emoji=False, markup=False)  # fmt: skip
        if not self.console.is_terminal:  # piped: each paragraph one line, for a file or a program to wrap
            self.console.width = UNWRAPPED
        self._last: Outbound | None = None

    async def run(self, lines: Iterable[str] | None = None) -> None:
        if not self.interactive:
            await self.show_waiting()
            for line in lines if lines is not None else sys.stdin:
                if simplify(line) in QUIT:  # a script ends as a person would
                    break
                await self.say(line.rstrip("\n"))
            return
        _line_editing()
        with _terminal_kept():
            self._print(Text(text("channels.console.hello"), style="svbot.note"))
            await self.show_waiting()
            await self.say("start")
            await self._conversation()

    async def _conversation(self) -> None:
        """Line after line until quit, Ctrl-D or Ctrl-C. Ctrl-C while svbot is answering lets the
        answer finish (and be saved) first; at the prompt it leaves at once."""
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        with contextlib.suppress(NotImplementedError, RuntimeError):  # Windows: Ctrl-C stays Python's
            loop.add_signal_handler(signal.SIGINT, stop.set)
        try:
            while (line := await _typed(stop)) is not None:
                if simplify(line) in QUIT:
                    break
                await self.say(line)
                if stop.is_set():
                    break
            else:
                self.console.line()  # after "^D" or "^C", so "Bye" starts a line of its own
            self._print(Text(text("channels.console.bye")))
        finally:
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.remove_signal_handler(signal.SIGINT)

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
        if (note := self._no_such_key(line)) is not None:
            self._print(Text(note, style="svbot.error"))
            self.console.line()  # as after a reply: the next prompt or answer reads as new
            return
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
        """The payload of the button typed, as its number, its letter or its label, on the message
        shown last; None sends the line as typed. In a multi-choice the choices stay text ("1, 3"
        ticks two at once, which the engine reads), while its controls ("d" for Done) are pressed."""
        last = self._last
        said = simplify(line)
        if last is None or not said:
            return None
        for key, button in zip(control_keys(last.controls), last.controls, strict=True):
            if said in (key, simplify(button.label)):
                return button.payload
        if last.multi_select:
            return None
        if said.isdigit():
            index = int(said) - 1
            return last.buttons[index].payload if 0 <= index < len(last.buttons) else None
        return next((b.payload for b in last.buttons if simplify(b.label) == said), None)

    def _no_such_key(self, line: str) -> str | None:
        """What to say to a letter typed that is none of the controls shown ("s" where nothing can be
        skipped), rather than take it as an answer (a group called "s"); None for anything else. A
        one-letter answer is never meant: y and n, yes and no, are not controls' letters."""
        said = simplify(line)
        last = self._last
        if last is None or not last.controls or len(said) != 1 or not "a" <= said <= "z" or said in RESERVED_KEYS:
            return None
        keys = control_keys(last.controls)
        if said in keys:
            return None
        shown = ", ".join(text("channels.console.key", letter=key, label=button.label)
                          for key, button in zip(keys, last.controls, strict=True) if key)  # fmt: skip
        return text("channels.console.no_key", letter=said, keys=shown)

    def show(self, message: Outbound) -> None:
        """One message: its text, its numbered choices, its controls with their letters, its file."""
        message = _for_terminal(message)
        if self.interactive:
            self.console.line()  # a blank line between what was typed and the answer
        if message.markdown:
            self._print(_Markdown(message.text, justify="default", hyperlinks=False))
        else:
            self._print(_styled(message))
        for number, button in enumerate(message.buttons, start=1):
            self._print(_choice_line(number, button, message.multi_select))
        if message.controls:
            self._print(_controls_line(message.controls))
        if message.file is not None:
            path = self.files_dir / Path(message.file.filename).name
            path.write_bytes(message.file.content)
            title = message.file.title or text("channels.console.file")
            self._print(Text("  " + text("channels.console.saved", title=title, path=str(path)), style="svbot.note"))
        if not self.interactive:
            self.console.line()  # piped: a blank line after each reply, so a transcript reads in blocks

    def _print(self, renderable: RenderableType) -> None:
        """In a terminal, wrapped at words to the window (at most READABLE_WIDTH); piped, each line as
        it is, never wrapped: the text is for a file or another program, which wrap for themselves."""
        terminal = self.console.is_terminal
        self.console.print(_Trimmed(renderable), width=min(self.console.width, READABLE_WIDTH) if terminal else None)


def control_keys(controls: Iterable[Button]) -> list[str]:
    """A letter for each control. The engine's controls have theirs whatever the question (ACTION_KEYS:
    "s" is always Skip, never "Stop for now"), so a letter learnt once keeps working; any other
    control takes its label's first free letter, initials first, never y or n."""
    controls = list(controls)
    taken = set(RESERVED_KEYS)
    keys: list[str] = []
    for button in controls:
        press = decode(button.payload)
        keys.append(ACTION_KEYS.get(press.action, "") if press is not None else "")
    taken.update(keys)
    for index, button in enumerate(controls):
        if not keys[index]:
            words = re.findall(r"[a-z]+", button.label.casefold())
            letters = [word[0] for word in words] + [letter for word in words for letter in word]
            keys[index] = next((letter for letter in letters if letter not in taken), "")
            taken.add(keys[index])
    return keys


def _styled(message: Outbound) -> Text:
    """Plain text, never read as markup. In a question only the question stands out: its last
    paragraph is bold, not what came before ("Thanks", a privacy note), nor a line in brackets
    ("(Your answer now: 40)"). An error is red down to the question it asks again."""
    said, kind = message.text, message.kind
    if kind not in ("question", "error", "reminder"):
        return Text(said)
    before, gap, last = said.rpartition("\n\n")
    if kind == "error" and not before:
        return Text(said, style="svbot.error")
    styled = Text()
    styled.append(before + gap, style="svbot.error" if kind == "error" else "")
    for number, line in enumerate(last.split("\n")):
        aside = line.startswith("(") and line.endswith(")")
        styled.append(("\n" if number else "") + line, style="" if aside else "svbot.question")
    return styled


def _choice_line(number: int, button: Button, multi_select: bool) -> Text:
    line = Text("  ")
    line.append(f"{number}.", style="svbot.key")
    line.append(" ")
    if multi_select:
        line.append("[x]" if button.selected else "[ ]", style="svbot.ticked" if button.selected else "svbot.unticked")
        line.append(" ")
    line.append(button.label)
    return line


def _controls_line(controls: tuple[Button, ...]) -> Text:
    """ "  b. Back · s. Skip / I don't know · h. Help": one line, quieter than the choices."""
    line = Text("  ")
    for index, (key, button) in enumerate(zip(control_keys(controls), controls, strict=True)):
        if index:
            line.append(" · ", style="svbot.control")
        if key:
            line.append(f"{key}.", style="svbot.key")
            line.append(" ")
        line.append(button.label, style="svbot.control")
    return line


async def _typed(stop: asyncio.Event) -> str | None:
    """The next line typed at the "> " prompt, or None at Ctrl-D or once `stop` is set (Ctrl-C).
    `input()` runs in a daemon thread: a thread of asyncio's pool would be waited for at exit, and
    `input()` cannot be interrupted, so Ctrl-C would hang until Enter was pressed."""
    loop = asyncio.get_running_loop()
    typed: asyncio.Future[str | None] = loop.create_future()

    def give(line: str | None) -> None:
        if not typed.done():
            typed.set_result(line)

    def read() -> None:
        try:
            line: str | None = input("> ")
        except (EOFError, KeyboardInterrupt, OSError, ValueError):  # ValueError: stdin closed
            line = None
        with contextlib.suppress(RuntimeError):  # the loop has closed: svbot is leaving anyway
            loop.call_soon_threadsafe(give, line)

    threading.Thread(target=read, name="console-input", daemon=True).start()
    stopped = asyncio.ensure_future(stop.wait())
    try:
        await asyncio.wait({typed, stopped}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        stopped.cancel()
    return typed.result() if typed.done() else None


def _line_editing() -> None:
    """Arrow keys and history at the prompt: `input()` uses readline once it is imported (not on
    Windows, where the console edits lines itself)."""
    with contextlib.suppress(ImportError):
        import readline  # noqa: F401


@contextlib.contextmanager
def _terminal_kept() -> Iterator[None]:
    """The terminal's settings as they were, put back on leaving: after Ctrl-C, readline may still be
    reading a line, with echo off, and the person's shell would show nothing they type."""
    try:
        import termios

        saved = termios.tcgetattr(sys.stdin.fileno())
    except (ImportError, OSError, ValueError, AttributeError):  # Windows, or stdin is not a terminal
        yield
        return
    try:
        yield
    finally:
        with contextlib.suppress(OSError, termios.error):
            termios.tcsetattr(sys.stdin.fileno(), termios.TCSADRAIN, saved)


class _LeftHeading(Heading):
    """Every heading at the left margin (Rich centres the first level), like the Word and HTML forms."""

    LEVEL_ALIGN: ClassVar = dict.fromkeys(("h1", "h2", "h3", "h4", "h5", "h6"), "left")


class _ShortRule(HorizontalRule):
    """A rule of at most 40 characters: piped output is not wrapped, so a full-width rule would be
    10,000 dashes; in a terminal a short rule reads as a break, not as a frame."""

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        yield Text("─" * min(options.max_width, 40), style="markdown.hr")
        yield Text()


class _Markdown(Markdown):
    elements: ClassVar = {**Markdown.elements, "heading_open": _LeftHeading, "hr": _ShortRule}


class _Trimmed:
    """A renderable without the spaces Rich pads its lines with up to the width, and with one blank
    line at most between its parts (a table's blank edges and the gap after it made two), none at
    its ends: piped text keeps no trailing blanks, and text copied from a terminal none either."""

    def __init__(self, renderable: RenderableType) -> None:
        self.renderable = renderable

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        lines: list[list[Segment]] = []
        for line in console.render_lines(self.renderable, options, pad=False):
            line = _rstrip(line)
            if _blank(line) and (not lines or _blank(lines[-1])):
                continue
            lines.append(line)
        while lines and _blank(lines[-1]):
            lines.pop()
        for line in lines:
            yield from line
            yield Segment.line()


def _blank(line: list[Segment]) -> bool:
    return not any(segment.text for segment in line)


def _rstrip(line: list[Segment]) -> list[Segment]:
    while line and not line[-1].control and not line[-1].text.rstrip():
        line = line[:-1]
    if line and not line[-1].control:
        last = line[-1]
        line = [*line[:-1], Segment(last.text.rstrip(), last.style)]
    return line


class _Screen:
    """The console's sender while a chat is open: "sending" a waiting message shows it."""

    def __init__(self, channel: ConsoleChannel) -> None:
        self.channel = channel
        self.shown: list[Outbound] = []

    async def send(self, chat_id: str, message: Outbound) -> str | None:
        self.channel.show(message)
        self.shown.append(message)
        return None


def _for_terminal(message: Outbound) -> Outbound:
    """Names in messages may come from imported files: no escape codes reach the terminal."""

    def clean(buttons: Iterable[Button]) -> tuple[Button, ...]:
        return tuple(dataclasses.replace(button, label=terminal(button.label)) for button in buttons)

    return dataclasses.replace(
        message, text=terminal(message.text), buttons=clean(message.buttons), controls=clean(message.controls)
    )
