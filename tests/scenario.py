"""Scenario tests read like a chat transcript, running the real engine on a real database.

    bot = await scenario(tmp_path)
    await bot.say("hello")
    assert "What is your group called?" in bot.last
    await bot.press("Yes")

In the spirit of Bot Framework's DialogTestClient and errbot's testbot.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from itertools import count
from pathlib import Path

from svbot.app import create_bot
from svbot.config import Settings
from svbot.db import upgrade_async
from svbot.messages import Button, Inbound, Outbound
from svbot.turns import Bot

TEST_DIALOGUES = Path(__file__).parent / "data" / "dialogues"
START = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)


@dataclass
class Clock:
    now: datetime = START

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kwargs: float) -> None:
        self.now += timedelta(**kwargs)


class NoWait:
    """Time that moves only when something sleeps: retries and rate limits tested without waiting."""

    def __init__(self) -> None:
        self.now = 0.0
        self.slept: list[float] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


@dataclass
class ScenarioBot:
    bot: Bot
    user: str = "alice"
    platform: str = "console"
    chat: str | None = None
    replies: list[Outbound] = field(default_factory=list)
    transcript: list[str] = field(default_factory=list)
    _ids: count = field(default_factory=lambda: count(1))

    async def send(self, inbound: Inbound) -> list[Outbound]:
        self.replies = await self.bot.handle(inbound)
        self.transcript.append(f"> {inbound.text if inbound.text is not None else '[' + str(inbound.payload) + ']'}")
        self.transcript.extend(m.text for m in self.replies)
        return self.replies

    def inbound(self, text: str | None = None, payload: str | None = None, event_id: str | None = None) -> Inbound:
        return Inbound(
            platform=self.platform,
            user_id=self.user,
            chat_id=self.chat or self.user,
            text=text,
            payload=payload,
            event_id=event_id,
            user_name=self.user,
        )

    async def say(self, text: str, event_id: str | None = None) -> list[Outbound]:
        return await self.send(self.inbound(text=text, event_id=event_id))

    async def press(self, label: str) -> list[Outbound]:
        """Press the button with this label (or starting with it) on the latest message that has it."""
        return await self.send(self.inbound(payload=self.button(label).payload))

    def button(self, label: str) -> Button:
        for message in reversed(self.replies):
            for button in (*message.buttons, *message.controls):
                if button.label == label or button.label.startswith(label):
                    return button
        raise AssertionError(f"no button {label!r} in {[m.text for m in self.replies]}")

    @property
    def last(self) -> str:
        """The text of the last message of the last turn."""
        assert self.replies, "the bot said nothing"
        return self.replies[-1].text

    @property
    def text(self) -> str:
        """Everything the bot said in the last turn."""
        return "\n".join(m.text for m in self.replies)

    @property
    def last_message(self) -> Outbound:
        assert self.replies, "the bot said nothing"
        return self.replies[-1]


async def make_bot(
    db: Path | str,
    *,
    dialogues_dir: Path = TEST_DIALOGUES,
    clock: Clock | None = None,
    start_dialogue: str | None = None,
    idle_after: timedelta = timedelta(hours=24),
    knowledge_dir: Path | None = None,
) -> Bot:
    """The shipped bot (every feature, through the composition root) on test settings: this
    database, these dialogues, this clock."""
    url = db if isinstance(db, str) else f"sqlite+aiosqlite:///{db}"
    settings = Settings(
        DATABASE_URL=url,
        SVBOT_DIALOGUES_DIR=dialogues_dir,
        SVBOT_KNOWLEDGE_DIR=knowledge_dir,
        SVBOT_IDLE_MINUTES=int(idle_after.total_seconds() // 60),
    )
    await upgrade_async(url)
    return await create_bot(settings, migrate=False, clock=clock or Clock(), start_dialogue=start_dialogue)


LUNCH_CLUB = "We run a weekly lunch club where older neighbours eat together & chat."


def typed_answer(question: str, text: str = LUNCH_CLUB) -> str:
    """A plausible typed answer to any question of the walk-through, for tests that drive it blind."""
    q = question.casefold()
    if "how many" in q or "hours" in q or "number" in q:
        return "about 400"
    if "spend" in q or "how much" in q:
        return "£2,400"
    if "by when" in q or "date" in q or "when " in q:
        return "31/03/2027"
    return text


class RecordingSender:
    """Stands in for a platform's sender: records each message, or raises what a test queued for a chat."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, Outbound]] = []
        self.failures: dict[str, list[Exception]] = {}

    async def send(self, chat_id: str, message: Outbound) -> str | None:
        queued = self.failures.get(chat_id)
        if queued:
            raise queued.pop(0)
        self.sent.append((chat_id, message))
        return f"msg-{len(self.sent)}"
