"""Security: forged and replayed Slack requests, Telegram webhook calls without or with a wrong secret,
a member pressing buttons with another organisation's ids, /healthz when the database is down, and no
token or secret in any log line of a real `svbot serve` process."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import make_url

from svbot.app import build_app, close_bot, create_bot
from svbot.config import Settings
from svbot.db import make_engine
from svbot.deadlines.chat import NOT_FOUND
from svbot.deadlines.models import Deadline, Snooze
from svbot.messages import Inbound
from svbot.models import InboundEvent
from tests.fakes.slack_api import FakeSlack
from tests.fakes.telegram_api import FakeTelegram
from tests.reliability.support import (
    ROOT,
    Proc,
    free_port,
    seed_due_reminders,
    slack_message,
    svbot_env,
    wait_healthy,
    wait_until,
)
from tests.reliability.support import slack_headers as signed_headers

SLACK_TOKEN = "xoxb-1111-2222-securitytesttoken"
SLACK_SECRET = "slack-signing-secret-for-security-tests"
TG_SECRET = "telegram-webhook-secret-for-security-tests"
TEST_DIALOGUES = ROOT / "tests" / "data" / "dialogues"
SNOOZE_REFUSED = "That report isn't waiting on you any more, so there's nothing to snooze."


def slack_headers(body: str, *, secret: str = SLACK_SECRET, age: int = 0) -> dict[str, str]:
    return signed_headers(body, secret, age=age)


@pytest.mark.attack(
    "0", "Forged, replayed and unsigned Slack and Telegram requests",
    "Refused (Slack signature and age, Telegram secret token), logged without any secret",
)
async def test_forged_replayed_and_unsigned_requests_are_refused_logged_and_no_secret_is_logged(
    db_url: str, tmp_path: Path
) -> None:
    telegram = await FakeTelegram().start()
    async with FakeSlack() as slack:
        env = svbot_env(
            db_url, SLACK_BOT_TOKEN=SLACK_TOKEN, SLACK_SIGNING_SECRET=SLACK_SECRET, SLACK_API_URL=slack.api_url,
            TELEGRAM_BOT_TOKEN=telegram.token, TELEGRAM_API_URL=telegram.base_url, TELEGRAM_WEBHOOK_SECRET=TG_SECRET,
            SVBOT_DIALOGUES_DIR=str(TEST_DIALOGUES), SVBOT_LOG_LEVEL="DEBUG",
        )  # fmt: skip
        port = free_port()
        web = Proc(["serve", "--port", str(port)], env, tmp_path / "web.log").start()
        base = f"http://127.0.0.1:{port}"
        try:
            await wait_healthy(base, web)
            async with httpx.AsyncClient(base_url=base, timeout=30) as http:
                real = slack_message("hi", "Ev-real-1")
                forged = slack_message("hi", "Ev-forged")
                assert (await http.post("/slack/events", content=forged,
                                        headers=slack_headers(forged, secret="not-the-secret"))).status_code == 401
                assert (await http.post("/slack/events", content=forged,
                                        headers={"Content-Type": "application/json"})).status_code == 401
                # A request captured and sent again ten minutes later: signed, but stale.
                stale = slack_message("hi", "Ev-stale")
                assert (await http.post("/slack/events", content=stale,
                                        headers=slack_headers(stale, age=600))).status_code == 401
                # A request replayed at once: its signature still holds, the event id gives it away.
                for _ in range(2):
                    assert (await http.post("/slack/events", content=real,
                                            headers=slack_headers(real))).status_code == 200
                await slack.wait_for("chat.postMessage")
                update = telegram.text_update(user_id=31, text="hi")
                assert (await http.post("/telegram/webhook", json=update)).status_code == 403
                assert (await http.post("/telegram/webhook", json=update,
                                        headers={"X-Telegram-Bot-Api-Secret-Token": "wrong"})).status_code == 403
                assert (await http.post("/telegram/webhook", json=update,
                                        headers={"X-Telegram-Bot-Api-Secret-Token": TG_SECRET})).status_code == 200
            await slack.wait_quiet(0.5)
        finally:
            await web.stop_async()
            await telegram.stop()
        replies = [c for c in slack.ok_calls("chat.postMessage") if c.args.get("channel") == "D0000042"]
    engine = make_engine(db_url)
    try:
        async with engine.connect() as connection:
            events = dict((await connection.execute(
                select(InboundEvent.platform, func.count()).group_by(InboundEvent.platform)
            )).all())  # fmt: skip
    finally:
        await engine.dispose()
    assert events == {"slack": 1, "telegram": 1}, "only the genuine requests were taken, each once"
    assert len(replies) == len({c.args.get("text") for c in replies}), "the replay got no second answer"

    log = web.output
    records = [json.loads(line) for line in log.splitlines() if line.startswith("{")]
    assert records, log[:2000]
    refused = [r["message"] for r in records if r.get("logger") == "uvicorn.access"]
    assert sum('"POST /slack/events HTTP/1.1" 401' in m for m in refused) == 3, refused
    assert sum('"POST /telegram/webhook HTTP/1.1" 403' in m for m in refused) == 2, refused
    secrets = [SLACK_TOKEN, SLACK_SECRET, TG_SECRET, telegram.token]
    password = make_url(db_url).password
    if password:
        secrets.append(password)
    for secret in secrets:
        assert secret not in log, f"a secret ({secret[:6]}...) is in the log"


@pytest.mark.attack(
    "0", "A member uses another organisation's deadline ids", "Refused as if the id did not exist, and logged"
)
async def test_a_member_cannot_use_another_organisations_deadline_ids(db_url: str, caplog) -> None:  # type: ignore[no-untyped-def]
    await seed_due_reminders(db_url, 2)  # two organisations: telegram users 10000 (deadline 1) and 10001 (2)
    bot = await create_bot(Settings(DATABASE_URL=db_url, SVBOT_DIALOGUES_DIR=TEST_DIALOGUES), migrate=False)
    try:

        async def press(payload: str) -> str:
            inbound = Inbound(platform="telegram", user_id="10000", chat_id="10000", payload=payload)
            return "\n".join(m.text for m in await bot.handle(inbound))

        with caplog.at_level(logging.INFO):
            for payload in ("dl:submitted:2", "dl:snooze:2:3", "dl:help:2", "dl:submitted:999999999999"):
                answer = await press(payload)
                # Refused, without a word about the other organisation's grant.
                assert answer in (NOT_FOUND, SNOOZE_REFUSED) or answer.startswith("Sorry"), (payload, answer)
                assert "Grant 2" not in answer
        own = await press("dl:submitted:1")
        async with bot.sessionmaker() as session:
            statuses = dict((await session.execute(select(Deadline.id, Deadline.status))).all())
            snoozes = await session.scalar(select(func.count()).select_from(Snooze))
    finally:
        await close_bot(bot)
    assert "submitted" in own.lower()
    assert statuses == {1: "submitted", 2: "upcoming"}
    assert snoozes == 0


async def test_a_refused_deadline_id_is_logged(db_url: str, caplog) -> None:  # type: ignore[no-untyped-def]
    await seed_due_reminders(db_url, 2)
    bot = await create_bot(Settings(DATABASE_URL=db_url, SVBOT_DIALOGUES_DIR=TEST_DIALOGUES), migrate=False)
    try:
        with caplog.at_level(logging.INFO):
            await bot.handle(Inbound(platform="telegram", user_id="10000", chat_id="10000", payload="dl:submitted:2"))
    finally:
        await close_bot(bot)
    assert any("2" in r.getMessage() and r.levelno >= logging.WARNING for r in caplog.records)


# -- /healthz ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["postgresql", "sqlite"])
@pytest.mark.attack(
    "0", "Read the database address from the health check while the database is down",
    "503 with no address, user or password",
)
async def test_healthz_answers_503_when_the_database_is_down_and_hides_how_to_reach_it(
    kind: str, tmp_path: Path
) -> None:
    if kind == "postgresql":
        url = f"postgresql+asyncpg://svbot:hidden-password@127.0.0.1:{free_port()}/svbot"  # nothing listens
    else:
        url = f"sqlite+aiosqlite:///{tmp_path / 'no-such-folder' / 'svbot.db'}"
    svbot = await build_app(Settings(DATABASE_URL=url, SVBOT_DIALOGUES_DIR=TEST_DIALOGUES), migrate=False)
    try:
        transport = httpx.ASGITransport(app=svbot.web_app())
        async with httpx.AsyncClient(transport=transport, base_url="http://svbot") as http:
            response = await http.get("/healthz")
    finally:
        await svbot.close()
    assert response.status_code == 503
    assert response.json() == {"status": "error", "database": "unreachable"}


async def test_healthz_answers_200_when_the_database_answers(db_url: str) -> None:
    svbot = await build_app(Settings(DATABASE_URL=db_url, SVBOT_DIALOGUES_DIR=TEST_DIALOGUES), migrate=False)
    try:
        transport = httpx.ASGITransport(app=svbot.web_app())
        async with httpx.AsyncClient(transport=transport, base_url="http://svbot") as http:
            response = await wait_until(lambda: http.get("/healthz"), 10)
    finally:
        await svbot.close()
    assert response.status_code == 200 and response.json()["database"] == "ok"
