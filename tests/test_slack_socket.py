"""The Slack channel over Socket Mode: svbot's worker (`run_socket_mode`, `svbot slack-socket`) with the
real slack_sdk Socket Mode client, against the fake's Web API and websocket on 127.0.0.1
(tests/fakes/slack_api.py). The fake hands out a ws:// URL from `apps.connections.open`, says hello,
delivers the envelopes a test pushes and records every acknowledgement. The core is the real Bot on a
migrated SQLite file (or PostgreSQL, with the suite's database setting)."""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from svbot.app import close_bot, create_bot
from svbot.channels.slack.adapter import SEE_DM
from svbot.channels.slack.render import TICK
from svbot.channels.slack.setup import run_socket_mode
from svbot.config import Settings
from tests.fakes.slack_api import APP_ID, BOT_USER_ID, TEAM_ID, Call, FakeSlack
from tests.test_slack import labels, shown

DATA = Path(__file__).parent / "data"
APP_TOKEN = "xapp-1-A0000001-1-fake"
BOT_TOKEN = "xoxb-test-token"
USER = "U0000042"
DM = "D0000042"
_ids = itertools.count(1)


# -- fixtures ---------------------------------------------------------------------------------------


@pytest.fixture
async def fake() -> AsyncIterator[FakeSlack]:
    async with FakeSlack() as server:
        yield server


@pytest.fixture
def settings(db_url: str, fake: FakeSlack) -> Settings:
    # No signing secret: Socket Mode needs none (nothing reaches us over HTTP).
    return Settings(
        DATABASE_URL=db_url,
        SVBOT_DIALOGUES_DIR=DATA / "dialogues",
        SLACK_BOT_TOKEN=BOT_TOKEN,
        SLACK_APP_TOKEN=APP_TOKEN,
        SLACK_API_URL=fake.api_url,
    )


@pytest.fixture
async def bot(settings: Settings) -> AsyncIterator[Any]:
    bot = await create_bot(settings, start_dialogue="every_type", migrate=False)
    yield bot
    await close_bot(bot)


class Worker:
    """svbot's Socket Mode worker running as a task in this event loop."""

    def __init__(self, bot: Any, settings: Settings) -> None:
        self.stop = asyncio.Event()
        self.task = asyncio.create_task(run_socket_mode(bot, settings, self.stop))

    async def finish(self, timeout: float = 15.0) -> None:
        self.stop.set()
        async with asyncio.timeout(timeout):
            await self.task  # re-raises whatever went wrong inside


@pytest.fixture
async def worker(
    bot: Any, settings: Settings, fake: FakeSlack, caplog: pytest.LogCaptureFixture
) -> AsyncIterator[Worker]:
    caplog.set_level(logging.WARNING)
    running = Worker(bot, settings)
    await fake.wait_connected(timeout=10)
    yield running
    if not running.task.done():
        await running.finish()
    await fake.wait_disconnected()  # the worker closed its websocket
    assert not problems(caplog), problems(caplog)


def problems(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [f"{r.name}: {r.getMessage()}" for r in caplog.records if r.levelno >= logging.WARNING]


# -- Slack's side: envelopes -----------------------------------------------------------------------


def envelope(kind: str, payload: dict, envelope_id: str | None = None, **extra: Any) -> dict:
    return {
        "envelope_id": envelope_id or f"env-{next(_ids)}",
        "type": kind,
        "payload": payload,
        "accepts_response_payload": kind != "events_api",
        **extra,
    }


def dm_event(text: str, event_id: str | None = None, retry_attempt: int = 0, envelope_id: str | None = None) -> dict:
    payload = {
        "token": "legacy",
        "team_id": TEAM_ID,
        "api_app_id": APP_ID,
        "type": "event_callback",
        "event_id": event_id or f"Ev{next(_ids):08d}",
        "event_time": int(time.time()),
        "event": {"type": "message", "channel": DM, "channel_type": "im", "user": USER, "text": text, "ts": _ts()},
    }
    retry = {"retry_attempt": retry_attempt, "retry_reason": "timeout" if retry_attempt else ""}
    return envelope("events_api", payload, envelope_id, **retry)


def slash_command(text: str, fake: FakeSlack, channel: str = DM) -> dict:
    payload = {
        "token": "legacy",
        "team_id": TEAM_ID,
        "team_domain": "fake",
        "channel_id": channel,
        "channel_name": "x",
        "user_id": USER,
        "user_name": "sam",
        "command": "/svbot",
        "text": text,
        "api_app_id": APP_ID,
        "is_enterprise_install": "false",
        "response_url": fake.response_url("cmd"),
        "trigger_id": f"{next(_ids)}.trigger",
    }
    return envelope("slash_commands", payload)


def button_press(message: Call, label: str, fake: FakeSlack) -> dict:
    """The block_actions envelope for pressing the button labelled `label` on a message svbot posted."""
    button = next(
        element
        for block in message.args["blocks"]
        for element in [*block.get("elements", ()), block.get("accessory") or {}]
        if element.get("type") == "button" and element["text"]["text"].removeprefix(TICK) == label
    )
    channel = message.args["channel"]
    payload = {
        "type": "block_actions",
        "api_app_id": APP_ID,
        "token": "legacy",
        "user": {"id": USER, "username": "sam", "team_id": TEAM_ID},
        "team": {"id": TEAM_ID, "domain": "fake"},
        "channel": {"id": channel, "name": "x"},
        "container": {"type": "message", "message_ts": message.ts, "channel_id": channel, "is_ephemeral": False},
        "trigger_id": f"{next(_ids)}.trigger",
        "message": {
            "type": "message",
            "ts": message.ts,
            "text": message.args.get("text", ""),
            "blocks": message.args["blocks"],
            "user": BOT_USER_ID,
        },
        "response_url": fake.response_url("act"),
        "actions": [{**button, "block_id": "b", "action_ts": _ts()}],
    }
    return envelope("interactive", payload)


async def deliver(fake: FakeSlack, env: dict) -> dict:
    """Push an envelope and wait for svbot to acknowledge it; return the ack."""
    await fake.socket_send(env)
    return await fake.wait_for_ack(env["envelope_id"], timeout=5)


def _ts() -> str:
    return f"{time.time():.6f}"


def posts(fake: FakeSlack) -> list[Call]:
    return fake.ok_calls("chat.postMessage")


# -- tests ------------------------------------------------------------------------------------------


async def test_connects_with_the_app_token_and_answers_a_dm(worker: Worker, fake: FakeSlack) -> None:
    opened = fake.ok_calls("apps.connections.open")
    assert len(opened) == 1 and opened[0].token == APP_TOKEN  # the app-level token, not the bot token

    ack = await deliver(fake, dm_event("hi"))
    assert set(ack) == {"envelope_id"}  # an event's ack carries nothing else
    question = await fake.wait_for("chat.postMessage")
    assert "What is your group called?" in shown(question)
    assert question.args["channel"] == DM and question.token == BOT_TOKEN


async def test_slash_commands_in_a_dm_and_from_a_channel(worker: Worker, fake: FakeSlack) -> None:
    await deliver(fake, slash_command("help", fake))
    help_text = shown(await fake.wait_for("chat.postMessage"))
    assert "statement" in help_text and "due" in help_text

    await deliver(fake, slash_command("start", fake))
    await fake.wait_for("chat.postMessage", count=2)
    assert "What is your group called?" in shown(posts(fake)[-1])

    await deliver(fake, slash_command("status", fake, channel="C0000777"))  # answered privately
    note = await fake.wait_for("respond")
    assert note.args["text"] == SEE_DM and note.args["response_type"] == "ephemeral"
    status = await fake.wait_for("chat.postMessage", count=3)
    assert status.args["channel"] == DM and "question 1 of" in shown(status)


async def test_typed_answers_then_a_button(worker: Worker, fake: FakeSlack) -> None:
    answers = ["hi", "Bob's Club", "skip", "40", "12.5", "skip", "2027-03-31"]
    for number, text in enumerate(answers, start=1):
        await deliver(fake, dm_event(text))
        await fake.wait_for("chat.postMessage", count=number)
    size = posts(fake)[-1]
    assert "How big is Bob's Club?" in shown(size)

    ack = await deliver(fake, button_press(size, "Under £10,000 a year", fake))
    assert set(ack) == {"envelope_id"}
    groups = await fake.wait_for("chat.postMessage", count=len(answers) + 1)
    assert labels(groups)[:3] == ["Older people", "Young people", "Carers"]
    pressed = await fake.wait_for("chat.update")
    assert pressed.args["ts"] == size.ts and not labels(pressed)  # the old buttons are gone
    assert "Under £10,000 a year" in json.dumps(pressed.args["blocks"], ensure_ascii=False)


async def test_an_envelope_delivered_twice_is_answered_once(worker: Worker, fake: FakeSlack) -> None:
    first = dm_event("hi", event_id="EvSAME0001")
    await deliver(fake, first)
    await deliver(fake, first)  # the same envelope again
    retried = dm_event("hi", event_id="EvSAME0001", retry_attempt=1)  # Slack's retry: a new envelope
    await deliver(fake, retried)
    assert len(fake.acks_for(first["envelope_id"])) == 2  # every delivery is acknowledged

    await fake.wait_for("chat.postMessage")
    await fake.wait_quiet(0.5)
    assert len(posts(fake)) == 1  # the greeting and first question, once


async def test_reconnects_when_slack_asks(worker: Worker, fake: FakeSlack) -> None:
    await fake.socket_disconnect()
    await fake.wait_connected(timeout=10, count=2)
    assert len(fake.ok_calls("apps.connections.open")) == 2  # a fresh URL for the new connection
    await deliver(fake, dm_event("hi"))
    assert "What is your group called?" in shown(await fake.wait_for("chat.postMessage"))


class HeldBot:
    """The real Bot, but each turn waits until the test lets it go: so a stop can arrive mid-turn."""

    def __init__(self, bot: Any) -> None:
        self.bot = bot
        self.started = asyncio.Event()
        self.go = asyncio.Event()

    async def handle(self, inbound: Any) -> Any:
        self.started.set()
        await self.go.wait()
        return await self.bot.handle(inbound)


async def test_stopping_lets_acknowledged_turns_finish(
    bot: Any, settings: Settings, fake: FakeSlack, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    held = HeldBot(bot)
    worker = Worker(held, settings)
    await fake.wait_connected(timeout=10)
    await deliver(fake, dm_event("hi"))
    async with asyncio.timeout(5):
        await held.started.wait()
    worker.stop.set()  # mid-turn
    await fake.wait_quiet(0.3)
    assert not worker.task.done() and not posts(fake)  # still finishing the turn Slack was told we took
    held.go.set()
    await worker.finish()
    assert len(posts(fake)) == 1  # answered before the worker returned
    await fake.wait_disconnected()
    assert not problems(caplog), problems(caplog)


async def test_cancelling_the_task_stops_it_cleanly(
    bot: Any, settings: Settings, fake: FakeSlack, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    task = asyncio.create_task(run_socket_mode(bot, settings))
    await fake.wait_connected(timeout=10)
    await deliver(fake, dm_event("hi"))
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert len(posts(fake)) == 1
    await fake.wait_disconnected()
    assert not problems(caplog), problems(caplog)


async def test_a_refused_app_token_is_logged_and_the_worker_still_stops(
    bot: Any, settings: Settings, fake: FakeSlack, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    wrong = settings.model_copy(update={"slack_app_token": SecretStr(BOT_TOKEN)})  # a bot token by mistake
    worker = Worker(bot, wrong)
    refused = await fake.wait_for("apps.connections.open", timeout=10, include_failed=True)
    assert refused.response["error"] == "not_allowed_token_type"
    async with asyncio.timeout(5):  # slack_sdk says why, then waits to try again
        while not any("not_allowed_token_type" in line for line in problems(caplog)):
            await asyncio.sleep(0.01)
    await worker.finish(timeout=5)  # not stuck retrying
    assert fake.socket_connections == 0


async def test_without_an_app_token_it_refuses_to_start(bot: Any, settings: Settings) -> None:
    with pytest.raises(ValueError, match="SLACK_APP_TOKEN"):
        await run_socket_mode(bot, settings.model_copy(update={"slack_app_token": None}))


# -- the command, as a process -------------------------------------------------------------------------


async def test_svbot_slack_socket_answers_and_exits_on_sigterm(fake: FakeSlack, db_url: str, tmp_path: Path) -> None:
    env = dict(os.environ)
    for name in ("SLACK_SIGNING_SECRET", "SLACK_CLIENT_ID", "SLACK_CLIENT_SECRET", "TELEGRAM_BOT_TOKEN"):
        env.pop(name, None)
    env |= {
        "DATABASE_URL": db_url,
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_APP_TOKEN": APP_TOKEN,
        "SLACK_API_URL": fake.api_url,
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "svbot.cli",
        "slack-socket",
        env=env,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        await fake.wait_connected(timeout=30)
        await deliver(fake, dm_event("hi"))
        first = await fake.wait_for("chat.postMessage", timeout=10)
        assert first.args["channel"] == DM and first.token == BOT_TOKEN
        process.send_signal(signal.SIGTERM)
        async with asyncio.timeout(20):
            out, err = await process.communicate()
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    assert process.returncode == 0, err.decode()
    assert "Socket Mode" in out.decode()
    assert "Traceback" not in err.decode()
    await fake.wait_disconnected()
