"""Several svbot processes on one PostgreSQL database: each reminder sent once, turns for one
conversation applied one after the other. Real `svbot clock` and `svbot serve` processes, the fake
Telegram API in this process."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import httpx
from sqlalchemy import event, func, select
from sqlalchemy.dialects import postgresql

from svbot.app import send_limits
from svbot.db import make_engine, make_sessionmaker
from svbot.deadlines.planner import plan_reminders
from svbot.delivery.dispatcher import Dispatcher
from svbot.delivery.ratelimit import RateLimiter
from svbot.models import Answer, Conversation, utcnow
from svbot.turn_sql import LOAD
from tests.fakes.telegram_api import FakeTelegram
from tests.reliability.support import (
    ROOT,
    Proc,
    duplicates,
    free_port,
    outbox_status,
    seed_due_reminders,
    svbot_env,
    wait_healthy,
    wait_until,
)

SECRET = "webhook-secret-for-tests"
TEST_DIALOGUES = ROOT / "tests" / "data" / "dialogues"


def sent_chats(fake: FakeTelegram) -> list[int]:
    return [c.chat_id for c in fake.calls_to("sendMessage") if c.status == 200 and c.chat_id is not None]


async def test_claims_and_planning_skip_rows_another_worker_holds(pg_url: str) -> None:
    """The statements themselves, as sent to PostgreSQL."""
    await seed_due_reminders(pg_url, 3)
    engine = make_engine(pg_url)
    seen: list[str] = []
    event.listen(engine.sync_engine, "before_cursor_execute", lambda *args: seen.append(args[2]))
    try:
        sessions = make_sessionmaker(engine)
        await plan_reminders(sessions, utcnow())
        claimed = await Dispatcher(sessions, {"telegram": object()}, RateLimiter(send_limits())).claim(utcnow())  # type: ignore[dict-item]
    finally:
        await engine.dispose()
    assert len(claimed) == 3
    locking = [s for s in seen if "FOR UPDATE" in s]
    assert any("FROM deadlines" in s and "SKIP LOCKED" in s for s in locking), seen
    assert any("FROM outbox" in s and "SKIP LOCKED" in s for s in locking), seen
    assert "FOR UPDATE OF conversations" in str(LOAD.compile(dialect=postgresql.dialect()))


async def test_two_clock_processes_send_every_reminder_exactly_once(pg_url: str, tmp_path: Path) -> None:
    seeded = await seed_due_reminders(pg_url, 240)
    fake = await FakeTelegram().start()
    env = svbot_env(pg_url, TELEGRAM_BOT_TOKEN=fake.token, TELEGRAM_API_URL=fake.base_url)
    clocks = [Proc(["clock", "--interval", "0.3"], env, tmp_path / f"clock{i}.log").start() for i in range(2)]
    try:
        await wait_until(lambda: len(sent_chats(fake)) >= seeded.deadlines, 90, what="every reminder sent")
        await asyncio.sleep(1.0)  # a doubled message would arrive now
    finally:
        codes = [await clock.stop_async() for clock in clocks]
        await fake.stop()
    chats = sent_chats(fake)
    assert duplicates(chats) == {}
    assert sorted(str(c) for c in chats) == sorted(seeded.chat_ids)
    engine = make_engine(pg_url)
    try:
        assert await outbox_status(engine) == {"sent": seeded.deadlines}
    finally:
        await engine.dispose()
    assert codes == [0, 0], [c.output[-2000:] for c in clocks]
    per_clock = [sum(int(n) for n in re.findall(r"sent (\d+)", c.output)) for c in clocks]
    assert sum(per_clock) == seeded.deadlines, per_clock  # each clock reports only what it sent itself


async def test_two_web_workers_apply_turns_for_one_conversation_one_after_the_other(
    pg_url: str, tmp_path: Path
) -> None:
    fake = await FakeTelegram().start()
    env = svbot_env(
        pg_url, TELEGRAM_BOT_TOKEN=fake.token, TELEGRAM_API_URL=fake.base_url, TELEGRAM_WEBHOOK_SECRET=SECRET,
        SVBOT_DIALOGUES_DIR=str(TEST_DIALOGUES),
    )  # fmt: skip
    ports = [free_port(), free_port()]
    webs = [Proc(["serve", "--port", str(p)], env, tmp_path / f"web{i}.log").start() for i, p in enumerate(ports)]
    users = list(range(501, 521))
    try:
        for port, web in zip(ports, webs, strict=True):
            await wait_healthy(f"http://127.0.0.1:{port}", web)
        async with httpx.AsyncClient(timeout=30, headers={"X-Telegram-Bot-Api-Secret-Token": SECRET}) as http:

            async def post(port: int, user: int, said: str) -> int:
                update = fake.text_update(user_id=user, text=said)
                return (await http.post(f"http://127.0.0.1:{port}/telegram/webhook", json=update)).status_code

            assert await asyncio.gather(*(post(ports[0], u, "hi") for u in users)) == [200] * len(users)
            # Now two answers from each person at once, one to each worker.
            codes = await asyncio.gather(
                *(post(ports[0], u, f"Alpha {u}") for u in users), *(post(ports[1], u, f"Beta {u}") for u in users)
            )
        assert codes == [200] * 2 * len(users)
    finally:
        for web in webs:
            await web.stop_async()
        await fake.stop()
    engine = make_engine(pg_url)
    try:
        async with engine.connect() as connection:
            versions = dict((await connection.execute(select(Conversation.key, Conversation.version))).all())
            answered = select(Conversation.key, Answer.key, Answer.value).join(
                Answer, Answer.conversation_id == Conversation.id
            )
            rows = (await connection.execute(answered)).all()
            total = await connection.scalar(select(func.count()).select_from(Answer))
    finally:
        await engine.dispose()
    for user in users:
        key = f"telegram:{user}:{user}"
        assert versions[key] == 3, (key, versions[key])  # three turns, none lost to another
        answers = {answer: value for conv, answer, value in rows if conv == key}
        # Whichever came first answered the first question, the other the second: both kept.
        assert sorted(answers.values()) == [f"Alpha {user}", f"Beta {user}"], answers
        assert len(answers) == 2
    assert total == 2 * len(users)
