"""SQLite never freezes the process: while another process holds the write lock, svbot keeps answering.

SQLite runs on the event loop's thread (svbot/sqlite_inloop.py), so a statement that waited for the lock
there would stop everything: no Slack ack, no /healthz. Writes wait for the lock with asyncio instead
(bounded, then "database is locked" as before), reads that need no lock take none, and a turn that had to
wait still happens, once, when the lock is free. SQLite only: PostgreSQL has no database-wide write lock.
"""

from __future__ import annotations

import asyncio
import sqlite3
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Iterator
from contextlib import asynccontextmanager, contextmanager
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, insert, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine

import svbot.db
from svbot.db import make_engine, make_sessionmaker, read_only
from svbot.models import Answer, InboundEvent, Person
from svbot.turn_sql import TurnQueries, transaction
from svbot.turns import SORRY
from tests.conftest import ON_POSTGRES
from tests.fakes.slack_api import TEAM_ID, FakeSlack
from tests.reliability.support import Proc, free_port, slack_headers, slack_message, svbot_env, wait_healthy

pytestmark = pytest.mark.skipif(ON_POSTGRES, reason="SQLite's database-wide write lock; PostgreSQL locks rows")

SLACK_TOKEN = "xoxb-1111-2222-locktesttoken"
SLACK_SECRET = "slack-signing-secret-for-lock-tests"
HOLD = 2.0  # seconds the other process keeps the write lock, as a long `svbot clock` pass might
# Seconds within which svbot must still answer meanwhile. A blocked loop would stall for the whole
# hold (at least 1 s); half a second leaves room for a busy machine (garbage collection, other jobs).
PROMPT = 0.5

# Another process, as users run one: takes the write lock, writes, holds it, commits.
HOLDER = """
import sqlite3, sys, time
db = sqlite3.connect(sys.argv[1], isolation_level=None)
db.execute("BEGIN IMMEDIATE")
db.execute("UPDATE alembic_version SET version_num = version_num")
print("locked", flush=True)
time.sleep(float(sys.argv[2]))
db.execute("COMMIT")
print("released", flush=True)
"""


def sqlite_path(db_url: str) -> str:
    database = make_url(db_url).database
    assert database, db_url
    return database


async def say_in_slack(http: httpx.AsyncClient, text: str, event_id: str) -> httpx.Response:
    """Slack delivers a direct message to svbot: a signed `event_callback`."""
    body = slack_message(text, event_id, TEAM_ID)
    return await http.post("/slack/events", content=body, headers=slack_headers(body, SLACK_SECRET))


@asynccontextmanager
async def lock_held_by_another_process(path: str, seconds: float) -> AsyncIterator[float]:
    """A second process holds SQLite's write lock for `seconds`; yields when it took it (monotonic time).
    On leaving, waits for that process to commit and end."""
    holder = await asyncio.create_subprocess_exec(
        sys.executable, "-c", HOLDER, path, str(seconds), stdout=asyncio.subprocess.PIPE
    )
    assert holder.stdout is not None
    try:
        line = await asyncio.wait_for(holder.stdout.readline(), 30)
        assert line.strip() == b"locked", line
        yield time.monotonic()
        assert (await asyncio.wait_for(holder.stdout.readline(), 30)).strip() == b"released"
        assert await asyncio.wait_for(holder.wait(), 30) == 0
    finally:
        if holder.returncode is None:
            holder.kill()
            await holder.wait()


async def timed(request: Awaitable[httpx.Response]) -> tuple[httpx.Response, float]:
    started = time.monotonic()
    response = await request
    return response, time.monotonic() - started


async def test_serve_keeps_acking_slack_and_answering_healthz_while_another_process_holds_the_lock(
    db_url: str, tmp_path: Path
) -> None:
    async with FakeSlack() as slack:
        env = svbot_env(db_url, SLACK_BOT_TOKEN=SLACK_TOKEN, SLACK_SIGNING_SECRET=SLACK_SECRET,
                        SLACK_API_URL=slack.api_url)  # fmt: skip
        port = free_port()
        web = Proc(["serve", "--port", str(port)], env, tmp_path / "web.log").start()
        base = f"http://127.0.0.1:{port}"
        try:
            await wait_healthy(base, web)
            async with httpx.AsyncClient(base_url=base, timeout=30) as http:
                # A first exchange, as on any running install (Bolt checks its token on the first request).
                assert (await say_in_slack(http, "hi", "Ev-lock-1")).status_code == 200
                await slack.wait_for("chat.postMessage", timeout=30)
                await slack.wait_quiet(0.3)
                posted = len(slack.ok_calls("chat.postMessage"))

                async with lock_held_by_another_process(sqlite_path(db_url), HOLD) as locked_at:
                    health, health_took = await timed(http.get("/healthz"))
                    ack, ack_took = await timed(say_in_slack(http, "Hollybush Lunch Club", "Ev-lock-2"))
                    # The turn now waits for the lock in svbot; everything else must go on meanwhile.
                    probes: list[tuple[int, float]] = []
                    while time.monotonic() - locked_at < HOLD - 0.5:
                        response, took = await timed(http.get("/healthz"))
                        probes.append((response.status_code, took))
                        await asyncio.sleep(0.1)
                    still_locked = time.monotonic() - locked_at < HOLD  # so all the above ran under the lock
                    posted_meanwhile = len(slack.ok_calls("chat.postMessage")) - posted
                assert health.status_code == 200 and health.json()["status"] == "ok", health.text
                assert health_took < PROMPT, f"/healthz took {health_took:.3f} s while the lock was held"
                assert ack.status_code == 200, ack.text
                assert ack_took < PROMPT, f"the Slack ack took {ack_took:.3f} s while the lock was held"
                assert len(probes) >= 5
                assert all(status == 200 for status, _ in probes), probes
                slowest = max(took for _, took in probes)
                assert slowest < PROMPT, f"/healthz took up to {slowest:.3f} s while a turn waited for the lock"
                assert still_locked, "all of the above happened while the other process held the lock"
                assert posted_meanwhile == 0, "the turn waited for the lock: no reply, not even an apology, yet"

                # Once the lock is free the waiting turn goes through, and its reply is posted: nothing lost.
                await slack.wait_for("chat.postMessage", timeout=30, count=posted + 1)
                await slack.wait_quiet(0.3)
                replies = slack.ok_calls("chat.postMessage")[posted:]
                assert all(reply.args["channel"] == "D0000042" for reply in replies)
                assert all(SORRY not in str(reply.args.get("text")) for reply in replies), replies
        finally:
            await web.stop_async()
        assert "database is locked" not in web.output, web.output[-3000:]

    engine = make_engine(db_url)
    try:
        async with engine.connect() as connection:
            events = (await connection.execute(select(InboundEvent.event_id).order_by(InboundEvent.id))).scalars()
            assert list(events) == ["Ev-lock-1", "Ev-lock-2"]
            answers = (await connection.execute(select(Answer.value))).scalars().all()
            assert "Hollybush Lunch Club" in answers, answers
    finally:
        await engine.dispose()


# -- the same rules, in one process ---------------------------------------------------------------------


@contextmanager
def other_connection(db_url: str) -> Iterator[sqlite3.Connection]:
    """Another connection to the file, outside svbot's engine: for SQLite's locks, as good as another
    process, and easier to time."""
    other = sqlite3.connect(sqlite_path(db_url), isolation_level=None, timeout=0)
    try:
        yield other
    finally:
        other.close()


@asynccontextmanager
async def loop_watch() -> AsyncIterator[list[float]]:
    """Yields a list that ends up holding the longest time the event loop went without running a task."""
    longest = [0.0]
    running = True

    async def tick() -> None:
        last = time.monotonic()
        while running:
            await asyncio.sleep(0.005)
            now = time.monotonic()
            longest[0] = max(longest[0], now - last)
            last = now

    task = asyncio.create_task(tick())
    try:
        yield longest
    finally:
        running = False
        await task


@pytest.fixture
async def engine(db_url: str) -> AsyncIterator[AsyncEngine]:
    engine = make_engine(db_url)
    yield engine
    await engine.dispose()


async def add_person(engine: AsyncEngine, name: str) -> None:
    async with transaction(engine) as connection:
        await connection.execute(insert(Person).values(display_name=name))


async def release_after(other: sqlite3.Connection, seconds: float) -> None:
    await asyncio.sleep(seconds)
    other.execute("COMMIT")


async def test_a_turn_waits_for_the_lock_without_blocking_the_loop_and_then_commits(
    db_url: str, engine: AsyncEngine
) -> None:
    with other_connection(db_url) as other:
        other.execute("BEGIN IMMEDIATE")
        other.execute("INSERT INTO people (display_name, created_at) VALUES ('theirs', '2026-01-01')")
        async with loop_watch() as longest:
            started = time.monotonic()
            release = asyncio.create_task(release_after(other, 1.0))
            async with transaction(engine) as connection:  # a turn's transaction, on the driver path
                queries = await TurnQueries.bind(connection)
                waited = time.monotonic() - started
                # It took the lock before reading: it sees what the other connection committed.
                rows = await connection.execute(select(Person.display_name))
                assert rows.scalars().all() == ["theirs"]
                await queries.run("event", {"platform": "test", "event_id": "1", "received_at": datetime.now(UTC)})
            await release
        assert waited >= 0.95, "it waited for the other connection's commit"
        assert longest[0] < PROMPT, f"the event loop stalled for {longest[0]:.3f} s"
    async with engine.connect() as connection:
        assert await connection.scalar(select(func.count()).select_from(InboundEvent)) == 1


async def test_a_read_then_write_session_takes_the_lock_before_it_reads(db_url: str, engine: AsyncEngine) -> None:
    """An ordinary transaction may write after reading, so it must read the newest data: it waits."""
    with other_connection(db_url) as other:
        other.execute("BEGIN IMMEDIATE")
        other.execute("INSERT INTO people (display_name, created_at) VALUES ('theirs', '2026-01-01')")
        release = asyncio.create_task(release_after(other, 0.3))
        async with make_sessionmaker(engine)() as session, session.begin():
            count = await session.scalar(select(func.count()).select_from(Person))
            session.add(Person(display_name=f"number {count + 1}"))
        await release
    async with engine.connect() as connection:
        names = (await connection.execute(select(Person.display_name).order_by(Person.id))).scalars().all()
    assert names == ["theirs", "number 2"]


async def test_reads_and_select_1_answer_at_once_while_the_lock_is_held_and_a_writer_waits(
    db_url: str, engine: AsyncEngine
) -> None:
    await add_person(engine, "committed before")
    sessions = make_sessionmaker(engine)
    with other_connection(db_url) as other:
        other.execute("BEGIN IMMEDIATE")
        other.execute("INSERT INTO people (display_name, created_at) VALUES ('not yet', '2026-01-01')")
        writer = asyncio.create_task(add_person(engine, "mine"))
        await asyncio.sleep(0.05)  # the writer holds a connection, waiting for the lock
        assert not writer.done()
        started = time.monotonic()
        async with sessions() as session:  # what /healthz does
            assert await session.scalar(text("SELECT 1")) == 1
        async with read_only(engine).connect() as connection:  # declared read-only: a snapshot, no lock
            names = (await connection.execute(select(Person.display_name))).scalars().all()
        async with make_sessionmaker(read_only(engine))() as session:
            assert await session.scalar(select(func.count()).select_from(Person)) == 1
        took = time.monotonic() - started
        assert names == ["committed before"]
        assert took < PROMPT, f"reads took {took:.3f} s while the lock was held"
        assert not writer.done()
        other.execute("COMMIT")
        await asyncio.wait_for(writer, 5)
    async with read_only(engine).connect() as connection:
        assert await connection.scalar(select(func.count()).select_from(Person)) == 3


async def test_a_write_in_a_read_only_transaction_fails_at_once(engine: AsyncEngine) -> None:
    async with read_only(engine).connect() as connection:
        await connection.execute(select(Person.id))
        with pytest.raises(OperationalError, match="readonly"):
            await connection.execute(insert(Person).values(display_name="no"))
    # The connection went back to the pool writable again.
    await add_person(engine, "yes")
    async with engine.connect() as connection:
        assert (await connection.execute(select(Person.display_name))).scalars().all() == ["yes"]


async def test_writers_in_one_process_queue_for_the_lock_in_the_order_they_asked(
    db_url: str, engine: AsyncEngine
) -> None:
    with other_connection(db_url) as other:
        other.execute("BEGIN IMMEDIATE")
        writers = []
        for number in range(6):
            writers.append(asyncio.create_task(add_person(engine, f"w{number}")))
            await asyncio.sleep(0.01)
        other.execute("COMMIT")
        await asyncio.wait_for(asyncio.gather(*writers), 10)
    async with engine.connect() as connection:
        names = (await connection.execute(select(Person.display_name).order_by(Person.id))).scalars().all()
    assert names == [f"w{number}" for number in range(6)]


async def test_after_the_bounded_wait_it_says_database_is_locked_as_before_and_recovers(
    db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(svbot.db, "LOCK_TIMEOUT", 0.4)
    engine = make_engine(db_url)
    try:
        with other_connection(db_url) as other:
            other.execute("BEGIN IMMEDIATE")
            async with loop_watch() as longest:
                started = time.monotonic()
                with pytest.raises(OperationalError, match="database is locked"):
                    await add_person(engine, "too late")
                took = time.monotonic() - started
            other.execute("COMMIT")
        assert 0.35 <= took < 2.0, took
        assert longest[0] < PROMPT, f"the event loop stalled for {longest[0]:.3f} s"
        await add_person(engine, "in time")  # nothing left half-held: the next write goes through
        async with engine.connect() as connection:
            assert (await connection.execute(select(Person.display_name))).scalars().all() == ["in time"]
    finally:
        await engine.dispose()
