"""Faults: the platforms misbehave (429 storms, 500s, 502s, timeouts, connection resets), svbot processes
are killed with SIGKILL mid-work, the database goes away and comes back. After each: every accepted
turn is stored, every due reminder is sent exactly once, nothing twice.

The platforms are the fakes in tests/fakes, some behind `FaultyHop` (a proxy that resets, hangs or
answers 502). Processes are real `svbot` commands."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select
from telegram.request import HTTPXRequest

from svbot.app import send_limits
from svbot.channels.slack.sender import SlackSender
from svbot.channels.telegram.sender import TelegramSender
from svbot.config import Settings
from svbot.db import make_engine, make_sessionmaker
from svbot.deadlines.planner import plan_reminders
from svbot.delivery.dispatcher import Dispatcher
from svbot.delivery.ratelimit import RateLimiter
from svbot.models import Answer, Conversation, InboundEvent, utcnow
from tests.conftest import IN_CI
from tests.fakes.slack_api import FakeSlack
from tests.fakes.telegram_api import FakeTelegram
from tests.reliability.support import (
    ROOT,
    FaultyHop,
    Proc,
    duplicates,
    free_port,
    kill_clock_while_sending,
    outbox_status,
    pg_control,
    seed_due_reminders,
    svbot_env,
    wait_healthy,
    wait_until,
)
from tests.scenario import NoWait

SECRET = "webhook-secret-for-tests"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
TEST_DIALOGUES = ROOT / "tests" / "data" / "dialogues"


@pytest.fixture
async def telegram() -> AsyncIterator[tuple[FakeTelegram, FaultyHop]]:
    fake = await FakeTelegram().start()
    hop = await FaultyHop(f"http://127.0.0.1:{fake.port}").start()
    yield fake, hop
    await hop.stop()
    await fake.stop()


def delivered(fake: FakeTelegram) -> list[int]:
    return [c.chat_id for c in fake.calls_to("sendMessage") if c.status == 200 and c.chat_id is not None]


async def drain_until_done(dispatcher: Dispatcher, engine, rounds: int = 12) -> None:  # type: ignore[no-untyped-def]
    """Dispatch passes an hour apart (as the clock would, later): back-offs run out, retries happen."""
    moment = utcnow()
    for _ in range(rounds):
        await dispatcher.drain(moment)
        if set(await outbox_status(engine)) <= {"sent", "failed"}:
            return
        moment += timedelta(hours=1)


# -- the platforms misbehave -----------------------------------------------------------------------------


async def test_telegram_storms_resets_and_timeouts_still_deliver_each_reminder_once(
    db_url: str, telegram: tuple[FakeTelegram, FaultyHop]
) -> None:
    fake, hop = telegram
    seeded = await seed_due_reminders(db_url, 30)
    fake.fail("sendMessage", 429, "Too Many Requests: retry after 1", retry_after=1, times=6)
    fake.fail("sendMessage", 500, "Internal Server Error", times=4)
    # Never passed on: the platform did not get these, so sending again is right.
    hop.plan("sendMessage", "pass", "reset", "reset", "502", "pass", "hang", "reset", "pass", "hang")
    settings = Settings(
        DATABASE_URL=db_url, TELEGRAM_BOT_TOKEN=fake.token, TELEGRAM_API_URL=hop.base_url + "/bot"
    )
    quick = HTTPXRequest(connect_timeout=1.0, read_timeout=0.5, write_timeout=1.0, pool_timeout=1.0)
    time = NoWait()
    sender = TelegramSender(settings, request=quick, sleep=time.sleep)
    engine = make_engine(db_url)
    try:
        sessions = make_sessionmaker(engine)
        await plan_reminders(sessions, utcnow())
        limiter = RateLimiter(send_limits(), clock=time.clock, sleep=time.sleep)
        dispatcher = Dispatcher(sessions, {"telegram": sender}, limiter)
        await drain_until_done(dispatcher, engine)
        assert await outbox_status(engine) == {"sent": seeded.deadlines}
    finally:
        hop.release()
        await sender.close()
        await engine.dispose()
    chats = delivered(fake)
    assert duplicates(chats) == {}
    assert sorted(str(c) for c in chats) == sorted(seeded.chat_ids)
    statuses = [c.status for c in fake.calls_to("sendMessage")]
    assert statuses.count(429) == 6 and statuses.count(500) == 4, "every planned fault was met"
    assert hop.faults == {"reset": 3, "502": 1, "hang": 2}


async def test_slack_storms_errors_and_resets_still_deliver_each_reminder_once(db_url: str) -> None:
    async with FakeSlack() as fake:
        hop = await FaultyHop(fake.base_url).start()
        seeded = await seed_due_reminders(db_url, 12, platform="slack")
        fake.rate_limit("chat.postMessage", retry_after=1, times=4)  # more than slack_sdk's own retries
        fake.fail("chat.postMessage", "internal_error", times=2)
        fake.fail("chat.postMessage", "service_unavailable", times=1)
        hop.plan("chat.postMessage", "pass", "reset", "reset", "reset", "502")
        settings = Settings(
            DATABASE_URL=db_url, SLACK_BOT_TOKEN="xoxb-test-token", SLACK_API_URL=hop.base_url + "/api/"
        )
        time = NoWait()
        engine = make_engine(db_url)
        try:
            sessions = make_sessionmaker(engine)
            await plan_reminders(sessions, utcnow())
            sender = SlackSender(settings)
            limiter = RateLimiter(send_limits(), clock=time.clock, sleep=time.sleep)
            dispatcher = Dispatcher(sessions, {"slack": sender}, limiter)
            await drain_until_done(dispatcher, engine)
            assert await outbox_status(engine) == {"sent": seeded.deadlines}
        finally:
            await engine.dispose()
            await hop.stop()
        chats = [str(c.args.get("channel")) for c in fake.ok_calls("chat.postMessage")]
    assert duplicates(chats) == {}
    assert sorted(chats) == sorted(seeded.chat_ids)
    assert hop.faults == {"reset": 3, "502": 1}


# -- processes killed mid-work ----------------------------------------------------------------------------


@pytest.mark.attack(
    "10",
    "The clock killed with SIGKILL 6 times at random moments while sending 700 reminders",
    "None lost; a message is sent twice only if the kill falls between the platform's answer and the mark",
)
async def test_clock_killed_again_and_again_loses_nothing_and_repeats_at_most_one_per_kill(
    db_url: str, tmp_path: Path, telegram: tuple[FakeTelegram, FaultyHop]
) -> None:
    fake, _ = telegram
    seeded = await seed_due_reminders(db_url, 700)
    env = svbot_env(db_url, TELEGRAM_BOT_TOKEN=fake.token, TELEGRAM_API_URL=fake.base_url)
    run = await kill_clock_while_sending(db_url, env, lambda: delivered(fake), seeded, tmp_path, kills=6)
    print(f"\n{run}")
    assert run.kills >= 3 and run.lost == 0
    # The clock sends one message at a time and marks it as soon as the platform answers: a kill can
    # catch at most the one message between those two moments.
    assert run.duplicates <= run.kills
    engine = make_engine(db_url)
    try:
        assert await outbox_status(engine) == {"sent": seeded.deadlines}
    finally:
        await engine.dispose()


async def test_clock_killed_mid_send_then_the_next_pass_sends_the_rest_once(
    db_url: str, tmp_path: Path, telegram: tuple[FakeTelegram, FaultyHop]
) -> None:
    fake, hop = telegram
    seeded = await seed_due_reminders(db_url, 40)
    hop.plan("sendMessage", *["pass"] * 15, "hang")  # the 16th send is in flight when the clock dies
    env = svbot_env(db_url, TELEGRAM_BOT_TOKEN=fake.token, TELEGRAM_API_URL=hop.base_url + "/bot")
    clock = Proc(["clock", "--interval", "0.3"], env, tmp_path / "clock.log").start()
    try:
        await asyncio.wait_for(hop.holding.wait(), 60)
        clock.kill()  # SIGKILL: no clean-up of any kind
    finally:
        clock.kill()
        hop.release()
    assert len(delivered(fake)) == 15
    # Its claims expire after five minutes; the next pass after that picks them up.
    later = (utcnow() + timedelta(minutes=10)).isoformat()
    run = Proc(["reminders", "run", "--now", later], env, tmp_path / "run.log").start()
    assert await run.wait_async() == 0, run.output
    chats = delivered(fake)
    assert duplicates(chats) == {}
    assert sorted(str(c) for c in chats) == sorted(seeded.chat_ids)
    engine = make_engine(db_url)
    try:
        assert await outbox_status(engine) == {"sent": seeded.deadlines}
    finally:
        await engine.dispose()


async def test_web_process_killed_mid_turn_then_the_redelivery_to_another_worker_is_taken_once(
    db_url: str, tmp_path: Path, telegram: tuple[FakeTelegram, FaultyHop]
) -> None:
    fake, hop = telegram
    env = svbot_env(
        db_url, TELEGRAM_BOT_TOKEN=fake.token, TELEGRAM_API_URL=hop.base_url + "/bot",
        TELEGRAM_WEBHOOK_SECRET=SECRET, SVBOT_DIALOGUES_DIR=str(TEST_DIALOGUES),
    )  # fmt: skip
    ports = [free_port(), free_port()]
    first, second = (Proc(["serve", "--port", str(p)], env, tmp_path / f"web{i}.log") for i, p in enumerate(ports))
    first.start(), second.start()
    user = 777
    try:
        await wait_healthy(f"http://127.0.0.1:{ports[0]}", first)
        await wait_healthy(f"http://127.0.0.1:{ports[1]}", second)
        async with httpx.AsyncClient(timeout=30, headers={SECRET_HEADER: SECRET}) as http:
            url = "http://127.0.0.1:{}/telegram/webhook"
            hello = fake.text_update(user_id=user, text="hi")
            assert (await http.post(url.format(ports[0]), json=hello)).status_code == 200
            hop.plan("sendMessage", "hang")  # the reply to the next turn never gets out of the first worker
            answer = fake.text_update(user_id=user, text="Lunch Club")
            pending = asyncio.create_task(http.post(url.format(ports[0]), json=answer))
            await asyncio.wait_for(hop.holding.wait(), 30)
            first.kill()
            with pytest.raises(httpx.HTTPError):
                await pending  # no 200: Telegram keeps the update and delivers it again...
            hop.release()
            # ... to whichever worker is up.
            assert (await http.post(url.format(ports[1]), json=answer)).status_code == 200
            following = fake.text_update(user_id=user, text="We cook")
            assert (await http.post(url.format(ports[1]), json=following)).status_code == 200
        assert fake.last_message(user).text.startswith("How many people came?")
    finally:
        first.kill()
        await second.stop_async()
    engine = make_engine(db_url)
    try:
        async with engine.connect() as connection:
            answers = dict((await connection.execute(select(Answer.key, Answer.value))).all())
            version = await connection.scalar(select(Conversation.version))
            events = await connection.scalar(select(func.count()).select_from(InboundEvent))
    finally:
        await engine.dispose()
    assert answers == {"name": "Lunch Club", "about": "We cook"}, answers
    assert version == 3 and events == 3


# -- the database goes away and comes back -----------------------------------------------------------------


async def test_postgres_restart_mid_run_loses_no_accepted_turn_and_sends_each_reminder_once(
    pg_url: str, tmp_path: Path, telegram: tuple[FakeTelegram, FaultyHop]
) -> None:
    if not os.environ.get("SVBOT_TEST_PG_CONTROL"):
        # A server is configured, but not one this test may stop and start.
        reason = "set SVBOT_TEST_PG_CONTROL=.ci/postgres to let this test restart the server"
        if IN_CI:
            pytest.fail(reason)
        pytest.skip(reason)
    fake, hop = telegram
    seeded = await seed_due_reminders(pg_url, 30)
    # The clock is mid-send when the database goes: its message gets through on a retry while the
    # database is still away, so it must wait to record that, not send it again later.
    hop.plan("sendMessage", *["pass"] * 6, "hang")
    env = svbot_env(
        pg_url, TELEGRAM_BOT_TOKEN=fake.token, TELEGRAM_API_URL=fake.base_url, TELEGRAM_WEBHOOK_SECRET=SECRET,
        SVBOT_DIALOGUES_DIR=str(TEST_DIALOGUES),
    )  # fmt: skip
    port = free_port()
    web = Proc(["serve", "--port", str(port)], env, tmp_path / "web.log").start()
    clock_env = {**env, "TELEGRAM_API_URL": hop.base_url + "/bot"}
    clock = Proc(["clock", "--interval", "0.3"], clock_env, tmp_path / "clock.log").start()
    base = f"http://127.0.0.1:{port}"
    users = [901, 902, 903]
    accepted: dict[int, list[str]] = {u: [] for u in users}
    try:
        await wait_healthy(base, web)
        async with httpx.AsyncClient(timeout=30, headers={SECRET_HEADER: SECRET}) as http:

            async def say(user: int, text: str) -> None:
                before = len(fake.chat(user))
                response = await http.post(base + "/telegram/webhook", json=fake.text_update(user_id=user, text=text))
                replies = fake.chat(user)[before:]
                if response.status_code == 200 and replies and not replies[-1].text.startswith("Sorry"):
                    accepted[user].append(text)

            for user in users:
                await say(user, "hi")
            await asyncio.wait_for(hop.holding.wait(), 60)
            pg_control("down")  # an immediate stop: every connection is cut
            assert (await http.get(base + "/healthz")).status_code == 503
            for user in users:
                await say(user, f"Group {user}")  # told sorry, try again: not accepted
            hop.release()
            # 6 reminders before the hang, a greeting-and-question for each user, 3 sorries: then the 7th.
            await wait_until(lambda: len(delivered(fake)) > 6 + 3 + 3, 30, what="the send in flight goes through")
            await asyncio.sleep(1.0)  # ... and recording it fails for a while
            pg_control("up")
            await wait_until(lambda: _healthy(base), 60, 0.2, "healthz after the restart")
            for user in users:
                await say(user, f"Group {user}")
                await say(user, "We cook")
        engine = make_engine(pg_url)
        try:
            await wait_until(lambda: _all_sent(engine, seeded.deadlines), 90, 0.2, "the clock to catch up")
        finally:
            await engine.dispose()
        assert clock.process is not None and clock.process.poll() is None, clock.output[-3000:]
    finally:
        clock.kill()
        hop.release()
        await web.stop_async()
        pg_control("up")  # even when the test failed half-way: the rest of the suite needs the server
    # What the dead claims held goes out in the next pass after they expire.
    later = (utcnow() + timedelta(minutes=10)).isoformat()
    run = Proc(["reminders", "run", "--now", later], env, tmp_path / "run.log").start()
    assert await run.wait_async() == 0, run.output
    reminded = [str(c) for c in delivered(fake) if c not in users]  # the users' own chats had replies
    assert duplicates(reminded) == {}
    assert sorted(reminded) == sorted(seeded.chat_ids)
    engine = make_engine(pg_url)
    try:
        async with engine.connect() as connection:
            rows = (await connection.execute(
                select(Conversation.key, Answer.value).join(Answer, Answer.conversation_id == Conversation.id)
            )).all()  # fmt: skip
    finally:
        await engine.dispose()
    for user in users:
        assert accepted[user] == ["hi", f"Group {user}", "We cook"], accepted
        stored = sorted(value for key, value in rows if key == f"telegram:{user}:{user}")
        assert stored == sorted([f"Group {user}", "We cook"])
    assert "recording outbox row" in clock.output and "trying again" in clock.output


async def _all_sent(engine, count: int) -> bool:  # type: ignore[no-untyped-def]
    return await outbox_status(engine) == {"sent": count}


async def _healthy(base: str) -> bool:
    try:
        async with httpx.AsyncClient(timeout=5) as http:
            return (await http.get(base + "/healthz")).status_code == 200
    except httpx.HTTPError:
        return False
