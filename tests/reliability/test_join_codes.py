"""Guessing join codes (issue 21, item 8): attempts are limited per person and per chat in the database,
so the limit holds across web workers; the support admins of an organisation whose codes keep failing
are told, once a day, through the outbox.

Through the shipped bot (`make_bot`, the composition root) on a real database, and through Telegram
(`svbot serve`'s web app, real PTB, the fake Bot API) with `/start CODE` deep links."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from svbot.delivery.models import OutboxMessage
from svbot.messages import Inbound
from svbot.models import Identity, Membership, Organisation
from svbot.paths import dialogues_dir
from svbot.support import attempts
from svbot.support.invites import create_invite, normalise
from svbot.support.models import AttemptCount, Invite
from svbot.turns import Bot
from tests.fakes.telegram_api import FakeTelegram
from tests.scenario import Clock, ScenarioBot, make_bot

TOO_MANY = "That's a lot of tries in a short time."
BAD_CODE = "Sorry, that code doesn't work"


@pytest.fixture
async def clock() -> Clock:
    return Clock(datetime(2026, 11, 23, 10, 0, 5, tzinfo=UTC))


@pytest.fixture
async def bot(db_url: str, clock: Clock) -> AsyncIterator[Bot]:
    made = await make_bot(db_url, dialogues_dir=dialogues_dir(), clock=clock)
    yield made
    await made.db_engine.dispose()  # type: ignore[attr-defined]


async def organisations(bot: Bot) -> tuple[int, int]:
    """A support organisation and one member organisation of it."""
    async with bot.sessionmaker() as session, session.begin():
        support = Organisation(name="Brighton CVS", kind="support")
        session.add(support)
        await session.flush()
        member = Organisation(name="Allotment Friends", kind="member", support_org_id=support.id)
        session.add(member)
        await session.flush()
        return support.id, member.id


async def code_for(bot: Bot, org_id: int, now: datetime, role: str = "member", days: float = 14) -> str:
    async with bot.sessionmaker() as session, session.begin():
        return (await create_invite(session, org_id, now, role=role, days=days)).code


async def members_of(bot: Bot, org_id: int) -> int:
    async with bot.sessionmaker() as session:
        query = select(func.count()).select_from(Membership).where(Membership.organisation_id == org_id)
        return await session.scalar(query) or 0


async def told(bot: Bot) -> list[OutboxMessage]:
    async with bot.sessionmaker() as session:
        return list((await session.scalars(select(OutboxMessage).where(OutboxMessage.kind == attempts.KIND))).all())


def guesses(count: int) -> list[str]:
    return [f"ZZZZ-ZZ{n:04d}".replace("0", "A").replace("1", "B") for n in range(count)]


@pytest.mark.attack(
    "8",
    "100 wrong join codes in one minute from one person, then the right one",
    "After 10 a minute (30 an hour) no code is even looked at: a pause, with the time to try again",
)
async def test_a_guesser_is_paused_after_ten_a_minute_even_for_the_right_code(bot: Bot, clock: Clock) -> None:
    _, member = await organisations(bot)
    mallory = ScenarioBot(bot, user="mallory", platform="telegram")
    answers = []
    for guess in guesses(100):
        await mallory.say(f"join {guess}")
        answers.append(mallory.last)
    assert all(a.startswith(BAD_CODE) for a in answers[:10]), answers[:10]
    paused = answers[10:]
    assert all(a.startswith(TOO_MANY) for a in paused), set(paused)
    assert "please wait until 10:01 and try again" in paused[0], paused[0]
    right = await code_for(bot, member, clock())
    await mallory.say(f"join {right}")
    assert mallory.last.startswith(TOO_MANY) and await members_of(bot, member) == 0, "the pause holds for any code"

    clock.advance(minutes=1)  # the minute is over; but the hour has had 101 tries: paused till 11:00
    await mallory.say(f"join {right}")
    assert mallory.last.startswith(TOO_MANY) and "until 11:00" in mallory.last
    clock.advance(hours=1)
    await mallory.say(f"join {right}")
    assert "Welcome!" in mallory.text and await members_of(bot, member) == 1
    async with bot.sessionmaker() as session:
        rows = await session.scalar(select(func.count()).select_from(AttemptCount))
    assert rows is not None and rows <= 8, "a counter per person, chat and window, not a row per guess"


@pytest.mark.attack(
    "8",
    "Join codes guessed by many new accounts in one chat",
    "The chat has its own limit of 10 a minute, whoever types",
)
async def test_the_limit_is_per_chat_too(bot: Bot) -> None:
    said = []
    for n, guess in enumerate(guesses(15)):
        inbound = Inbound(platform="slack", user_id=f"U{n:07d}", chat_id="C0000001", text=f"join {guess}",
                          event_id=f"e{n}", user_name=f"u{n}")  # fmt: skip
        said.append((await bot.handle(inbound))[-1].text)
    assert sum(s.startswith(BAD_CODE) for s in said) == 10 and all(s.startswith(TOO_MANY) for s in said[10:])


@pytest.mark.attack(
    "8",
    "Join codes guessed through two web workers at once, to double the limit",
    "The counts live in the database (one upsert each): 10 a minute in all, whichever worker answers",
)
async def test_the_limit_holds_across_workers(db_url: str, bot: Bot, clock: Clock) -> None:
    other = await make_bot(db_url, dialogues_dir=dialogues_dir(), clock=clock)  # a second web worker
    try:
        workers = [ScenarioBot(bot, user="mallory", platform="telegram"),
                   ScenarioBot(other, user="mallory", platform="telegram")]  # fmt: skip

        await workers[0].say("hello")  # Mallory is known (two first messages at once: the test below)

        async def guess(n: int, code: str) -> str:
            return (await workers[n % 2].say(f"join {code}", event_id=f"w{n}"))[-1].text

        said = await asyncio.gather(*(guess(n, code) for n, code in enumerate(guesses(40))))
    finally:
        await other.db_engine.dispose()  # type: ignore[attr-defined]
    assert sum(s.startswith(BAD_CODE) for s in said) == 10, said
    assert sum(s.startswith(TOO_MANY) for s in said) == 30


@pytest.mark.attack(
    "8",
    "An old, revoked or mistyped join code of one organisation tried again and again",
    "After 3 in an hour its support admins get one message (an outbox row, once a day); random guesses tell nobody",
)
async def test_support_admins_hear_once_a_day_of_their_codes_failing(bot: Bot, clock: Clock) -> None:
    support, member = await organisations(bot)
    admin = ScenarioBot(bot, user="sue", platform="telegram")
    await admin.say(f"join {await code_for(bot, support, clock(), role='support_admin')}")
    assert "Welcome!" in admin.text

    old = await code_for(bot, member, clock(), days=1)
    clock.advance(days=2)  # the code is out of date (revoked codes are the same: expired now)
    kim = ScenarioBot(bot, user="kim", platform="telegram")
    for guess in guesses(4):  # random guesses belong to no organisation: nobody is told
        await kim.say(f"join {guess}")
    assert await told(bot) == []
    for _ in range(5):
        await kim.say(f"join {old}")
        assert kim.last.startswith(BAD_CODE)
    notices = await told(bot)
    assert [(n.chat_id, n.platform) for n in notices] == [("sue", "telegram")], "to the support admin, once"
    said = notices[0].payload["text"]
    assert "Allotment Friends" in said and old not in said and normalise(old) not in said, "never the code"

    # A near miss of a live code (one character wrong) counts too; but the same day tells no one again.
    clock.advance(hours=2)
    live = normalise(await code_for(bot, member, clock()))
    slip = live[:3] + ("A" if live[3] != "A" else "B") + live[4:]
    ben = ScenarioBot(bot, user="ben", platform="telegram")
    for _ in range(4):
        await ben.say(f"join {slip}")
    assert len(await told(bot)) == 1, "at most once a day"
    clock.advance(days=1)
    for _ in range(3):
        await ben.say(f"join {slip}")
    notices = await told(bot)
    assert len(notices) == 2 and len({n.dedupe_key for n in notices}) == 2
    async with bot.sessionmaker() as session:
        assert await session.scalar(select(func.sum(Invite.uses))) == 1, "only Sue's code was ever used"


def test_near_misses_are_one_slip_away() -> None:
    variants = attempts.near_misses("k7qf-9xwa2b")
    assert len(variants) == 10 * 30 + 9, "every one-character change and every swap of neighbours"
    assert {"K7QF9XWA2C", "7KQF9XWA2B", "K7QF9XWAB2"} <= variants
    assert "K7QF9XWA2B" not in variants and "K7QF9XWACC" not in variants, "itself no, two slips no"


# -- through Telegram --------------------------------------------------------------------------------------


@pytest.mark.attack(
    "8",
    "Telegram deep links t.me/bot?start=CODE with guessed codes, 15 in a row",
    "The same limit as join CODE: the 11th and later are paused, the code not looked at",
)
async def test_deep_link_guesses_on_telegram_are_paused(tmp_path: Path, db_url: str, fake: FakeTelegram) -> None:
    from tests.test_telegram import make_settings
    from tests.test_telegram_people import serving

    while datetime.now(UTC).second > 40:  # the whole burst in one minute window
        await asyncio.sleep(1)
    async with serving(make_settings(tmp_path, db_url, fake), fake) as served:
        for guess in guesses(14):
            await served.say(8101, f"/start {guess}", first_name="Mallory")
        code = await served.new_code("Hollybush Lunch Club")
        await served.say(8101, f"/start {code}", first_name="Mallory")
        said = [m.text for m in fake.chat(8101)]
        async with served.app.bot.sessionmaker() as session:
            joined = await session.scalar(select(func.count()).select_from(Membership))
    assert sum(s.startswith(BAD_CODE) for s in said) == 10, said
    assert sum(s.startswith(TOO_MANY) for s in said) == 5 and said[-1].startswith(TOO_MANY)
    assert joined == 0, "not even the real code got in during the pause"


async def test_the_window_ends_on_time(bot: Bot, clock: Clock) -> None:
    """The pause is until the end of the full window, not for ever: a person who mistyped ten times
    can try again next minute."""
    sam = ScenarioBot(bot, user="sam", platform="console")
    for guess in guesses(11):
        await sam.say(f"join {guess}")
    assert sam.last.startswith(TOO_MANY)
    clock.advance(seconds=60)
    await sam.say("join ZZZZ-ZZZZZZ")
    assert sam.last.startswith(BAD_CODE)
    assert clock() - timedelta(minutes=1) >= datetime(2026, 11, 23, 10, 0, tzinfo=UTC)


async def test_the_clocks_retention_pass_forgets_old_counters(db_url: str, bot: Bot, clock: Clock) -> None:
    from svbot.config import Settings
    from svbot.privacy.retention import apply_retention

    sam = ScenarioBot(bot, user="sam", platform="console")
    await sam.say("join ZZZZ-ZZZZZZ")
    counters = select(func.count()).select_from(AttemptCount)
    async with bot.sessionmaker() as session:
        assert await session.scalar(counters) == 4, "person and chat, minute and hour"
    await apply_retention(bot.sessionmaker, clock() + timedelta(days=3), Settings(DATABASE_URL=db_url), frozenset())
    async with bot.sessionmaker() as session:
        assert await session.scalar(counters) == 0


async def test_two_first_messages_at_once_through_two_workers_are_both_answered(
    db_url: str, bot: Bot, clock: Clock
) -> None:
    """Someone new double-taps: each worker makes the person, one commit loses the race (on PostgreSQL),
    and that turn is run again once instead of answering "sorry"."""
    other = await make_bot(db_url, dialogues_dir=dialogues_dir(), clock=clock)
    try:
        workers = [ScenarioBot(bot, user="newcomer", platform="telegram"),
                   ScenarioBot(other, user="newcomer", platform="telegram")]  # fmt: skip
        said = await asyncio.gather(*(w.say("hello", event_id=f"first{n}") for n, w in enumerate(workers)))
    finally:
        await other.db_engine.dispose()  # type: ignore[attr-defined]
    for replies in said:
        assert replies and not any(r.kind == "error" for r in replies), [r.text for r in replies]
    async with bot.sessionmaker() as session:
        newcomer = Identity.platform_user_id == "newcomer"
        people = await session.scalar(select(func.count()).select_from(Identity).where(newcomer))
    assert people == 1
