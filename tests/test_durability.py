"""State lives in the database: restarts, duplicate deliveries, damaged state and a killed process."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from sqlalchemy import select, text

from svbot.models import Answer, Conversation
from tests.conftest import table_names
from tests.scenario import TEST_DIALOGUES, Clock, ScenarioBot, make_bot


async def new_bot(db_url: str) -> ScenarioBot:
    return ScenarioBot(await make_bot(db_url, clock=Clock(), start_dialogue="every_type"))


async def close(bot: ScenarioBot) -> None:
    await bot.bot.db_engine.dispose()  # type: ignore[attr-defined]


async def test_a_new_process_resumes_exactly_where_the_user_was(db_url: str) -> None:
    db = db_url
    first = await new_bot(db)
    for said in ["hi", "Lunch Club", "We cook", "about 20 x 2"]:
        await first.say(said)
    assert "Shall I put about 40?" in first.last
    await close(first)

    second = await new_bot(db)  # as if the process had restarted
    await second.say("yes")
    assert "How many hours?" in second.last
    await second.say("back")
    assert "(Your answer now: about 40)" in second.last, "the \"about\" held for the check survives the restart"
    await close(second)


async def test_the_same_event_twice_gets_one_reply(db_url: str) -> None:
    bot = await new_bot(db_url)
    await bot.say("hi", event_id="ev-1")
    assert "What is your group called?" in bot.last
    await bot.say("Lunch Club", event_id="ev-2")
    assert await bot.say("Lunch Club", event_id="ev-2") == [], "a repeat delivery is answered once"
    await bot.say("We cook", event_id="ev-3")
    assert "How many people came?" in bot.last, "the repeat did not move the conversation on"
    # Another platform may reuse the same id: it is a different event.
    other = ScenarioBot(bot.bot, user="bob", platform="telegram")
    assert await other.say("hi", event_id="ev-2") != []
    await close(bot)


async def test_concurrent_turns_for_one_conversation_are_applied_one_after_the_other(db_url: str) -> None:
    bot = await new_bot(db_url)
    await bot.say("hi")
    await bot.say("Lunch Club")
    first, second = await asyncio.gather(bot.bot.handle(bot.inbound("We cook")), bot.bot.handle(bot.inbound("12")))
    async with bot.bot.sessionmaker() as session:
        answers = dict((await session.execute(select(Answer.key, Answer.value))).all())
    # Whichever came first answered "what do you do", the other the next question: none was lost.
    in_order = answers.get("about") == "We cook" and answers.get("people") == 12
    reversed_order = answers.get("about") == "12" and "people" not in answers
    assert in_order or reversed_order, answers
    assert first and second, "both turns were answered"
    await close(bot)


async def test_damaged_state_is_reported_and_restart_recovers_without_touching_other_data(db_url: str) -> None:
    bot = await new_bot(db_url)
    neighbour = ScenarioBot(bot.bot, user="bob")
    for said in ["hi", "Lunch Club", "We cook"]:
        await bot.say(said)
    await neighbour.say("hi")
    await neighbour.say("Bob's Band")
    async with bot.bot.sessionmaker() as session, session.begin():
        await session.execute(text("UPDATE conversations SET state = '{\"v\": 99, \"mode\": 7}' WHERE key = :k"),
                              {"k": "console:alice:alice"})  # fmt: skip
    await bot.say("12")
    assert "couldn't pick up where we left off" in bot.last and "restart" in bot.last
    assert "Traceback" not in bot.text
    async with bot.bot.sessionmaker() as session:
        answers = dict((await session.execute(select(Answer.key, Answer.value))).all())
    assert answers["about"] == "We cook", "the evidence bank is untouched"
    await neighbour.say("They play music")
    assert "How many people came?" in neighbour.last, "other conversations carry on"
    await bot.press("Restart")
    assert "What is your group called?" in bot.last and "Last time you told me: Lunch Club" in bot.last
    async with bot.bot.sessionmaker() as session:
        state = await session.scalar(select(Conversation.state).where(Conversation.key == "console:alice:alice"))
    assert state["v"] == 1 and state["mode"] == "confirm"
    await close(bot)


async def test_a_dialogue_removed_since_is_treated_as_damaged_state(db_url: str) -> None:
    bot = await new_bot(db_url)
    await bot.say("hi")
    del bot.bot.dialogues["every_type"]
    await bot.say("Lunch Club")
    assert "couldn't pick up" in bot.last
    await close(bot)


def test_migrations_apply_to_an_empty_database_and_again_as_a_no_op(tmp_path: Path, empty_db_url: str) -> None:
    env = {**os.environ, "DATABASE_URL": empty_db_url}
    for _ in range(2):
        done = subprocess.run([sys.executable, "-m", "svbot.cli", "db", "upgrade"], capture_output=True, text=True,
                              env=env, cwd=tmp_path, timeout=120)  # fmt: skip
        assert done.returncode == 0, done.stderr
        assert "up to date" in done.stdout
    tables = table_names(empty_db_url)
    assert {"conversations", "answers", "inbound_events", "identities", "statements"} <= tables


def test_a_killed_console_process_resumes_at_the_same_question(tmp_path: Path, db_url: str) -> None:
    """SIGKILL mid-conversation, then start again: the next answer lands on the right question."""
    env = {**os.environ, "SVBOT_DIALOGUES_DIR": str(TEST_DIALOGUES), "DATABASE_URL": db_url,
           "PYTHONUNBUFFERED": "1"}  # fmt: skip
    command = [sys.executable, "-m", "svbot.cli", "chat", "--user", "kim"]
    process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env, cwd=tmp_path)
    assert process.stdin and process.stdout
    seen: list[str] = []
    for said, wait_for in [("hi", "What is your group called?"), ("Lunch Club", "What does Lunch Club do?"),
                           ("We cook", "How many people came?")]:  # fmt: skip
        process.stdin.write(said + "\n")
        process.stdin.flush()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            line = process.stdout.readline()
            seen.append(line)
            if wait_for in line:
                break
        else:
            raise AssertionError(f"never saw {wait_for!r}: {seen}")
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)

    done = subprocess.run(command, input="42\n", capture_output=True, text=True, env=env, cwd=tmp_path, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "How many hours?" in done.stdout, done.stdout


async def test_old_delivery_keys_are_forgotten_but_recent_ones_kept(db_url: str) -> None:
    from datetime import UTC, datetime, timedelta

    from svbot.models import InboundEvent
    from svbot.turns import EVENT_MEMORY, forget_events_before

    bot = await new_bot(db_url)
    await bot.say("hi", event_id="recent")
    async with bot.bot.sessionmaker() as session, session.begin():
        month_ago = datetime.now(UTC) - timedelta(days=30)
        session.add(InboundEvent(platform="console", event_id="old", received_at=month_ago))
    async with bot.bot.sessionmaker() as session, session.begin():
        assert await forget_events_before(session, datetime.now(UTC) - EVENT_MEMORY) == 1
    async with bot.bot.sessionmaker() as session:
        assert set(await session.scalars(select(InboundEvent.event_id))) == {"recent"}
    assert await bot.say("hi", event_id="recent") == [], "a recent delivery is still recognised"
    await close(bot)


async def test_a_checkpoint_moves_the_write_ahead_log_into_the_database(db_url: str) -> None:
    import os

    from sqlalchemy import make_url

    from svbot.db import checkpoint

    bot = await new_bot(db_url)
    for n in range(30):
        other = ScenarioBot(bot.bot, user=f"user{n}")
        await other.say("hi")
        await other.say(f"Club {n} " + "x" * 200)
    if bot.bot.db_engine.dialect.name != "sqlite":
        await checkpoint(bot.bot.db_engine)  # nothing to do on PostgreSQL, and no error
        await close(bot)
        return
    path = make_url(db_url).database
    before = os.path.getsize(path)
    assert os.path.getsize(path + "-wal") > 0, "the turns are in the write-ahead log"
    await checkpoint(bot.bot.db_engine)
    assert os.path.getsize(path) > before, "the checkpoint copied them into the database file"
    await close(bot)
