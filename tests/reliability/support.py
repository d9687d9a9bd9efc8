"""What the reliability suite (and bench/workers.py) share: svbot as real processes, due reminders made
in bulk, a misbehaving HTTP hop in front of the fake platforms, and control of the PostgreSQL server."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web
from sqlalchemy import insert, select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from svbot.db import make_engine
from svbot.deadlines.models import Deadline, Grant, ReminderPolicy
from svbot.delivery.models import OutboxMessage
from svbot.models import Identity, Membership, Organisation, Person

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "123456:TEST-token_for-the-fake"  # the fake Telegram's token (tests/fakes/telegram_api.py)


# -- svbot as a real process ---------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Proc:
    """One `svbot ...` process, its stdout and stderr in a file (so nothing blocks on a full pipe)."""

    args: list[str]
    env: dict[str, str]
    log: Path
    process: subprocess.Popen[bytes] | None = None

    def start(self) -> Proc:
        self.log.parent.mkdir(parents=True, exist_ok=True)
        out = self.log.open("ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "svbot.cli", *self.args], env=self.env, cwd=self.log.parent, stdout=out,
            stderr=subprocess.STDOUT,
        )  # fmt: skip
        out.close()
        return self

    def kill(self, sig: int = signal.SIGKILL) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(sig)
            self.process.wait(timeout=30)

    def stop(self) -> int | None:
        """SIGTERM, then wait; SIGKILL if it will not go."""
        if self.process is None:
            return None
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=15)
        return self.process.returncode

    async def wait_async(self, timeout: float = 120.0) -> int:
        """Wait for the process to end without blocking the loop (the fakes in it must keep answering)."""
        assert self.process is not None
        await wait_until(lambda: self.process.poll() is not None, timeout, 0.05, f"svbot {self.args} to exit")
        return self.process.returncode

    async def stop_async(self, timeout: float = 30.0) -> int | None:
        """SIGTERM and wait without blocking the loop; SIGKILL if it will not go."""
        if self.process is None:
            return None
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                await self.wait_async(timeout)
            except AssertionError:
                self.kill()
        return self.process.returncode

    @property
    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""


def svbot_env(database_url: str, **extra: str) -> dict[str, str]:
    """The environment of an svbot process: this test's database, no platform unless given."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "TELEGRAM_", "SVBOT_"))}
    env.update(DATABASE_URL=database_url, PYTHONUNBUFFERED="1", SVBOT_LOG_FORMAT="json", **extra)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    return env


async def wait_until(condition: Any, timeout: float = 30.0, interval: float = 0.05, what: str = "") -> Any:
    """Poll `condition()` (sync or async) until it is truthy; returns its value."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if asyncio.iscoroutine(value):
            value = await value
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"waited {timeout}s for {what or condition}")
        await asyncio.sleep(interval)


async def wait_healthy(base_url: str, proc: Proc, timeout: float = 60.0) -> None:
    async def ready() -> bool:
        assert proc.process is not None
        if proc.process.poll() is not None:
            raise AssertionError(f"svbot {proc.args} exited {proc.process.returncode}:\n{proc.output[-3000:]}")
        with contextlib.suppress(aiohttp.ClientError, OSError):
            async with aiohttp.ClientSession() as http, http.get(base_url + "/healthz") as response:
                return response.status == 200
        return False

    await wait_until(ready, timeout, 0.1, f"{base_url}/healthz")


# -- due reminders, made in bulk ------------------------------------------------------------------------


@dataclass
class Seeded:
    deadlines: int
    chat_ids: list[str]  # one recipient per deadline, in deadline order


async def seed_due_reminders(
    url: str, count: int, *, first_chat: int = 10_000, now: datetime | None = None, platform: str = "telegram"
) -> Seeded:
    """`count` deadlines due today, each in its own organisation with one member on `platform`: `count`
    reminders due now. A default policy with no quiet hours or weekend rule makes them due whatever
    the time of day (the clock runs on real time)."""
    now = now or datetime.now(UTC)
    engine = make_engine(url)
    try:
        async with engine.begin() as connection:
            await _seed(connection, count, first_chat, now, platform)
            if engine.dialect.name == "postgresql":
                for table in ("people", "identities", "organisations", "memberships", "grants", "deadlines"):
                    # Ids were given explicitly: move each sequence past them for rows svbot adds later.
                    await connection.execute(text(
                        f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))"
                    ))  # fmt: skip
    finally:
        await engine.dispose()
    return Seeded(count, [chat_name(platform, first_chat + i) for i in range(count)])


def chat_name(platform: str, number: int) -> str:
    return f"D{number}" if platform == "slack" else str(number)


async def _seed(connection: Any, count: int, first_chat: int, now: datetime, platform: str) -> None:
    created = now - timedelta(days=1)
    today = now.astimezone(UTC).date()
    midnight = datetime.combine(today, datetime.min.time(), tzinfo=UTC)
    await connection.execute(insert(ReminderPolicy), [{
        "support_org_id": None, "offsets": [0], "send_time": "00:00", "quiet_start": "00:00", "quiet_end": "00:00",
        "weekends": True, "timezone": "UTC", "extra": {},
    }])  # fmt: skip
    ids = range(1, count + 1)
    chunk = 5000
    for start in range(0, count, chunk):
        part = ids[start : start + chunk]
        people = [{"id": i, "display_name": f"p{i}", "created_at": created} for i in part]
        await connection.execute(insert(Person), people)
        await connection.execute(insert(Organisation), [
            {"id": i, "name": f"Group {i}", "kind": "member", "created_at": created} for i in part
        ])  # fmt: skip
        await connection.execute(insert(Identity), [{
            "id": i, "person_id": i, "platform": platform, "platform_user_id": chat_name(platform, first_chat + i - 1),
            "chat_id": chat_name(platform, first_chat + i - 1), "display_name": f"p{i}", "active": True,
            "created_at": created,
        } for i in part])  # fmt: skip
        await connection.execute(insert(Membership), [
            {"id": i, "person_id": i, "organisation_id": i, "role": "member", "created_at": created} for i in part
        ])  # fmt: skip
        await connection.execute(insert(Grant), [{
            "id": i, "external_id": f"360G-rel-{i}", "organisation_id": i, "title": f"Grant {i}", "description": "",
            "funder_id": "", "funder_name": "", "programme": "", "currency": "GBP", "content_hash": "",
            "created_at": created, "updated_at": created,
        } for i in part])  # fmt: skip
        await connection.execute(insert(Deadline), [{
            "id": i, "grant_id": i, "organisation_id": i, "key": "final", "title": "Final report", "due_date": today,
            "status": "upcoming", "next_reminder_at": midnight, "next_offset_index": 0, "created_at": created,
            "updated_at": created,
        } for i in part])  # fmt: skip


async def outbox_status(engine: AsyncEngine) -> Counter[str]:
    async with engine.connect() as connection:
        rows = await connection.execute(select(OutboxMessage.status))
        return Counter(status for (status,) in rows)


def duplicates(chat_ids: Iterable[Any]) -> dict[str, int]:
    counts = Counter(str(c) for c in chat_ids)
    return {chat: n for chat, n in counts.items() if n > 1}


# -- a misbehaving hop between svbot and a fake platform --------------------------------------------------


@dataclass
class FaultyHop:
    """An HTTP proxy in front of a fake platform. By default it passes every request on; `plan` makes
    the next requests whose path ends with a method name fail in one of these ways:

    - "reset": the connection is closed without an answer; the platform never sees the request.
    - "hang": the request is held, never passed on, until `release()` (then the connection is closed):
      a platform that does not answer (a timeout for the client), or a process killed mid-send.
    - "502": an HTTP 502 from a load balancer in the way; the platform never sees the request.
    """

    upstream: str  # e.g. http://127.0.0.1:1234
    port: int = 0
    passed: Counter[str] = field(default_factory=Counter)
    faults: Counter[str] = field(default_factory=Counter)
    _plans: dict[str, list[str]] = field(default_factory=dict)
    _release: asyncio.Event = field(default_factory=asyncio.Event)
    holding: asyncio.Event = field(default_factory=asyncio.Event)
    _runner: web.AppRunner | None = None
    _client: aiohttp.ClientSession | None = None

    async def start(self) -> FaultyHop:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/{path:.*}", self._forward)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self._client = aiohttp.ClientSession()
        return self

    async def stop(self) -> None:
        self._release.set()
        if self._client:
            await self._client.close()
        if self._runner:
            await self._runner.cleanup()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def plan(self, method: str, *actions: str) -> None:
        self._plans.setdefault(method, []).extend(actions)

    def release(self) -> None:
        self._release.set()

    async def _forward(self, request: web.Request) -> web.StreamResponse:
        method = request.path.rsplit("/", 1)[-1]
        body = await request.read()
        queue = self._plans.get(method)
        action = queue.pop(0) if queue else "pass"
        if action != "pass":
            self.faults[action] += 1
        if action == "reset":
            assert request.transport is not None
            request.transport.close()
            return web.Response(status=500)  # never reaches the client
        if action == "502":
            return web.Response(status=502, text="Bad gateway")
        if action == "hang":
            self.holding.set()
            await self._release.wait()
            if request.transport is not None:
                request.transport.close()
            return web.Response(status=500)
        assert self._client is not None
        headers = {k: v for k, v in request.headers.items() if k.lower() not in ("host", "content-length")}
        async with self._client.request(
            request.method, self.upstream + request.path_qs, data=body, headers=headers
        ) as answer:
            self.passed[method] += 1
            payload = await answer.read()
            kept = {k: v for k, v in answer.headers.items() if k.lower() in ("content-type", "retry-after")}
            return web.Response(status=answer.status, body=payload, headers=kept)


# -- the PostgreSQL server itself ----------------------------------------------------------------------------


def pg_control(action: str) -> None:
    """Stop or start the test server through .ci/postgres (`down`: an immediate stop, like a crash)."""
    script = os.environ.get("SVBOT_TEST_PG_CONTROL", "")
    done = subprocess.run(["bash", script, action], capture_output=True, text=True, timeout=120)
    if done.returncode != 0:
        raise AssertionError(f"{script} {action} failed: {done.stderr}")


# -- Slack, as it calls `svbot serve` -------------------------------------------------------------------


def slack_message(text: str, event_id: str, team_id: str = "T0000001") -> str:
    """The body of Slack's `event_callback` for a direct message to svbot."""
    return json.dumps({
        "token": "legacy", "team_id": team_id, "api_app_id": "A0000001", "type": "event_callback",
        "event_id": event_id, "event_time": int(time.time()),
        "event": {"type": "message", "channel": "D0000042", "channel_type": "im", "user": "U0000042", "text": text,
                  "ts": f"{time.time():.6f}"},
    })  # fmt: skip


def slack_headers(body: str, secret: str, *, age: int = 0) -> dict[str, str]:
    """Slack's signature headers for `body` (made `age` seconds ago)."""
    stamp = str(int(time.time()) - age)
    signature = hmac.new(secret.encode(), f"v0:{stamp}:{body}".encode(), hashlib.sha256).hexdigest()
    return {"X-Slack-Request-Timestamp": stamp, "X-Slack-Signature": f"v0={signature}",
            "Content-Type": "application/json"}  # fmt: skip


# -- the clock killed again and again while it sends ------------------------------------------------------


@dataclass
class KillRun:
    """What `kill_clock_while_sending` saw: every reminder is delivered at least once (`lost` is 0);
    `duplicates` were delivered twice (sent, then killed before the mark was committed)."""

    reminders: int
    kills: int
    delivered: int
    duplicates: int
    lost: int
    seconds: float

    @property
    def per_kill(self) -> float:
        return self.duplicates / self.kills if self.kills else 0.0


async def kill_clock_while_sending(
    url: str, env: dict[str, str], sent: Any, seeded: Seeded, folder: Path, kills: int, seed: int = 21
) -> KillRun:
    """Start `svbot clock`, let it send a few messages, SIGKILL it at a random moment mid-send; `kills`
    times. Then one `reminders run` after every claim has expired sends what the dead clocks had
    claimed. `sent()` lists the chat of every message the fake platform accepted."""
    import random

    rng = random.Random(seed)
    started = time.monotonic()
    done = 0
    for number in range(kills):
        clock = Proc(["clock", "--interval", "0.2"], env, folder / f"clock-{number}.log").start()
        target = len(sent()) + 1
        try:
            await wait_until(_sending(sent, target, clock), 120, 0.01, "the clock to send")
            # Sending now: the kill falls at a moment chosen at random, not timed to any one step.
            await asyncio.sleep(rng.uniform(0, 1.0))
        finally:
            clock.kill()
        done += 1
        if await _pending(url) == 0:
            break  # every row is sent or held by a dead clock's claim
    later = (datetime.now(UTC) + timedelta(minutes=10)).isoformat()
    run = Proc(["reminders", "run", "--now", later], env, folder / "run.log").start()
    if await run.wait_async(600) != 0:
        raise AssertionError(run.output[-3000:])
    chats = [str(c) for c in sent()]
    return KillRun(seeded.deadlines, done, len(chats), sum(n - 1 for n in Counter(chats).values()),
                   len(set(seeded.chat_ids) - set(chats)), time.monotonic() - started)  # fmt: skip


def _sending(sent: Any, target: int, clock: Proc) -> Any:
    """True once `target` messages were accepted, or the clock has ended (something is wrong then)."""
    return lambda: len(sent()) >= target or (clock.process is not None and clock.process.poll() is not None)


async def _pending(url: str) -> int:
    engine = make_engine(url)
    try:
        return (await outbox_status(engine)).get("pending", 0)
    finally:
        await engine.dispose()
