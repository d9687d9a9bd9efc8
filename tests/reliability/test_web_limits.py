"""Hostile and broken HTTP at a real `svbot serve` (issue 21, items 1, 2 and 6): bodies over the limit,
declared or streamed, are refused before they are read and never logged; slow clients do not take
/healthz down or fill the log; deeply nested JSON gets a 4xx and one line in the log, not a traceback."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode

import httpx
import pytest

from svbot.dashboard import imports
from svbot.web_limits import HEAD_TIMEOUT
from tests import test_dashboard
from tests.fakes.slack_api import FakeSlack
from tests.fakes.telegram_api import FakeTelegram
from tests.reliability.support import Proc, free_port, slack_headers, slack_message, svbot_env, wait_healthy
from tests.test_dashboard import World, csrf, sign_in

pytestmark = pytest.mark.one_database  # see tests/conftest.py

SLACK_TOKEN = "xoxb-1111-2222-weblimitstesttoken"
SLACK_SECRET = "slack-signing-secret-for-web-limits"
TG_SECRET = "telegram-webhook-secret-for-web-limits"
MB = 1024 * 1024
world = test_dashboard.world  # the dashboard's fixture: a support organisation and Sue, its staff


@dataclass
class Server:
    proc: Proc
    port: int
    telegram: FakeTelegram

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def rss_mb(self) -> float:
        """The process's resident memory now, from /proc (Linux)."""
        assert self.proc.process is not None
        for line in Path(f"/proc/{self.proc.process.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        raise AssertionError("no VmRSS")


@contextlib.asynccontextmanager
async def serve(db_url: str, tmp_path: Path) -> AsyncIterator[Server]:
    """`svbot serve` with Slack and Telegram on (against the fakes), logging JSON lines at INFO."""
    telegram = await FakeTelegram().start()
    async with FakeSlack() as slack:
        env = svbot_env(
            db_url, SLACK_BOT_TOKEN=SLACK_TOKEN, SLACK_SIGNING_SECRET=SLACK_SECRET, SLACK_API_URL=slack.api_url,
            TELEGRAM_BOT_TOKEN=telegram.token, TELEGRAM_API_URL=telegram.base_url, TELEGRAM_WEBHOOK_SECRET=TG_SECRET,
        )  # fmt: skip
        port = free_port()
        proc = Proc(["serve", "--port", str(port)], env, tmp_path / "web.log").start()
        server = Server(proc, port, telegram)
        try:
            await wait_healthy(server.base, proc)
            yield server
        finally:
            await proc.stop_async()
            await telegram.stop()


async def stream_body(port: int, head: bytes, total: int, chunk: int = 64 * 1024) -> tuple[int, bytes]:
    """Send `head`, then a chunked body of up to `total` bytes until the server answers or hangs up.
    Returns how many body bytes went out and what came back."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    answer = bytearray()

    async def read() -> None:
        with contextlib.suppress(ConnectionError):
            while data := await reader.read(65536):
                answer.extend(data)

    reading = asyncio.create_task(read())
    sent = 0
    piece = b"%x\r\n" % chunk + b"x" * chunk + b"\r\n"
    try:
        writer.write(head)
        while sent < total and not answer and not reading.done():
            writer.write(piece)
            await writer.drain()
            sent += chunk
        writer.write(b"0\r\n\r\n")
        await writer.drain()
    except ConnectionError:
        pass  # the server hung up on the rest: what we want
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(reading, 10)
    writer.close()
    return sent, bytes(answer)


async def declare_only(port: int, head: bytes) -> bytes:
    """Send a request head declaring a body, and none of the body: what comes back."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(head)
    await writer.drain()
    try:
        return await asyncio.wait_for(reader.read(), 10)  # to the end: the server closes the connection
    finally:
        writer.close()


def records(log: str) -> list[dict]:
    return [json.loads(line) for line in log.splitlines() if line.startswith("{")]


@pytest.mark.attack(
    "1",
    "A 200 MB unsigned POST to /slack/events, declared and streamed; 5 MB to the Telegram webhook",
    "413 before the body is read (limit 1 MB, SVBOT_MAX_REQUEST_KB), connection closed; bodies never logged",
)
async def test_oversized_webhook_bodies_are_refused_before_they_are_read_and_bodies_are_never_logged(
    db_url: str, tmp_path: Path
) -> None:
    async with serve(db_url, tmp_path) as server:
        before = server.rss_mb()
        started = time.monotonic()
        declared = await declare_only(server.port, (
            b"POST /slack/events HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Content-Length: 209715200\r\n\r\n"
        ))  # fmt: skip
        assert declared.startswith(b"HTTP/1.1 413 "), declared[:200]
        assert b"connection: close" in declared.lower() and b"limit here is 1 MB" in declared
        assert time.monotonic() - started < 5, "answered at once, not after waiting for 200 MB"

        sent, streamed = await stream_body(server.port, (
            b"POST /slack/events HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n"
        ), total=200 * MB)  # fmt: skip
        assert streamed.startswith(b"HTTP/1.1 413 "), streamed[:200]
        assert sent < 40 * MB, f"{sent / MB:.0f} MB went in before the refusal: it should stop near 1 MB"

        telegram_big = await declare_only(server.port, (
            b"POST /telegram/webhook HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"X-Telegram-Bot-Api-Secret-Token: " + TG_SECRET.encode() + b"\r\nContent-Length: 5242880\r\n\r\n"
        ))  # fmt: skip
        assert telegram_big.startswith(b"HTTP/1.1 413 "), telegram_big[:200]
        assert server.rss_mb() - before < 50, "the refused bodies were not held in memory"

        async with httpx.AsyncClient(base_url=server.base, timeout=30) as http:
            # Under the limit but unsigned: refused on its signature, before Bolt parses (or logs) it.
            marker = "BODY-NEVER-LOGGED-" + "z" * 500_000
            body = json.dumps({"type": "event_callback", "event": {"text": marker}})
            unsigned = await http.post("/slack/events", content=body, headers={"Content-Type": "application/json"})
            assert unsigned.status_code == 401
            signed = slack_message("hi", "Ev-limits-1")
            assert (await http.post("/slack/events", content=signed,
                                    headers=slack_headers(signed, SLACK_SECRET))).status_code == 200  # fmt: skip
            assert (await http.get("/healthz")).status_code == 200, "still serving"
    log = server.proc.output
    assert "BODY-NEVER-LOGGED" not in log and "zzzzzzzzzz" not in log
    assert "Traceback" not in log, log[-3000:]
    assert len(log) < 30_000, f"the log grew {len(log)} bytes"


async def test_a_chunked_upload_over_its_limit_is_refused_before_it_is_all_read(
    world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The grants upload has its own, larger limit (stated on the page); a streamed body without a
    declared length is counted as it arrives and refused when it passes it."""
    monkeypatch.setattr(imports, "UPLOADS", tmp_path / "uploads")
    await sign_in(world)
    form = await world.http.get("/dashboard/import")
    assert "up to 10 MB" in form.text
    boundary = "svbot-test-boundary"
    pulled = 0

    async def body() -> AsyncIterator[bytes]:
        nonlocal pulled
        head = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\n{csrf(form)}\r\n"
                f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"big.csv\"\r\n"
                "Content-Type: text/csv\r\n\r\nIdentifier\r\n")  # fmt: skip
        yield head.encode()
        chunk = b"x" * (256 * 1024)
        for _ in range(200):  # 50 MB, if it were all read
            pulled += len(chunk)
            yield chunk

    refused = await world.http.post(
        "/dashboard/import", content=body(), headers={"Content-Type": f"multipart/form-data; boundary={boundary}"}
    )
    assert refused.status_code == 413
    assert pulled <= imports.REQUEST_LIMIT + 512 * 1024, f"{pulled / MB:.1f} MB read before the refusal"
    assert not (tmp_path / "uploads").exists() or not any((tmp_path / "uploads").iterdir()), "nothing kept"

    # A file under the limit is copied to its folder from the spooled upload, whole.
    # Over the 1 MB kept in memory, so spooled to disk; not a 360Giving file, so its dry run ends at once.
    content = b"Name,Notes\r\n" + b"Somebody,Something\r\n" * 80_000  # about 1.7 MB
    sent = await world.http.post("/dashboard/import", data={"csrf": csrf(form)},
                                 files={"file": ("grants.csv", content, "text/csv")})  # fmt: skip
    assert sent.status_code == 303, sent.text[:300]
    kept = list((tmp_path / "uploads").glob("*/grants.csv"))
    assert len(kept) == 1 and kept[0].read_bytes() == content


@pytest.mark.attack(
    "2",
    "300 slow clients trickling request headers and bodies a byte at a time at svbot serve",
    "/healthz still answers within 2 s; a client gets 10 s for its headers, 60 s for its request, then is "
    "closed; logged once a minute, not per client",
)
async def test_healthz_answers_while_300_slow_clients_trickle_bytes_and_the_log_stays_small(
    db_url: str, tmp_path: Path
) -> None:
    async with serve(db_url, tmp_path) as server:
        log_before = len(server.proc.output)
        closed_by_server = 0
        stop = asyncio.Event()

        async def slow_client(i: int) -> None:
            nonlocal closed_by_server
            reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
            if i % 3:  # headers that never end
                writer.write(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
                drip = b"X-Slow: yes\r\n"
            else:  # a body that never ends
                writer.write(b"POST /telegram/webhook HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n"
                             b"X-Telegram-Bot-Api-Secret-Token: " + TG_SECRET.encode() + b"\r\n\r\n{")  # fmt: skip
                drip = b" "
            hung_up = asyncio.create_task(reader.read())  # b"" (or an error) when the server closes it
            n = 0
            try:
                while not stop.is_set() and not hung_up.done():
                    writer.write(drip[n % len(drip) : n % len(drip) + 1])
                    n += 1
                    await asyncio.sleep(0.5)
            except ConnectionError:
                pass
            if hung_up.done():
                closed_by_server += 1
            hung_up.cancel()
            writer.close()

        clients = [asyncio.create_task(slow_client(i)) for i in range(300)]
        await asyncio.sleep(1)
        answers: list[tuple[int, float]] = []
        async with httpx.AsyncClient(base_url=server.base, timeout=10) as http:
            deadline = time.monotonic() + HEAD_TIMEOUT + 4
            while time.monotonic() < deadline:
                started = time.monotonic()
                # A fresh connection each time, as a load balancer's health check makes.
                health = await http.get("/healthz", headers={"Connection": "close"})
                answers.append((health.status_code, time.monotonic() - started))
                await asyncio.sleep(0.5)
        stop.set()
        await asyncio.gather(*clients)
        log = server.proc.output[log_before:]

    assert answers and all(status == 200 for status, _ in answers), answers
    slowest = max(took for _, took in answers)
    assert slowest < 2.0, f"/healthz took {slowest:.2f} s during the attack"
    assert closed_by_server >= 190, f"only {closed_by_server} of the 200 header tricklers were closed"
    lines = [r for r in records(log) if r.get("logger") != "uvicorn.access"]
    assert sum("too slow" in r["message"] for r in lines) == 1, [r["message"] for r in lines][:10]
    assert len(lines) <= 5, [r["message"] for r in lines][:10]
    assert len(log) < 20_000, f"the log grew {len(log)} bytes"


@pytest.mark.attack(
    "6",
    "JSON nested 100,000 deep to the Telegram webhook and to Slack (as JSON and in payload=)",
    "400 with one log line, no traceback (Telegram sends only shallow JSON objects, so no retries follow)",
)
async def test_deeply_nested_json_gets_a_4xx_and_one_log_line_not_a_traceback(db_url: str, tmp_path: Path) -> None:
    nested = "[" * 100_000 + "]" * 100_000
    async with serve(db_url, tmp_path) as server, httpx.AsyncClient(base_url=server.base, timeout=30) as http:
        log_before = len(server.proc.output)
        tg = {"X-Telegram-Bot-Api-Secret-Token": TG_SECRET, "Content-Type": "application/json"}
        assert (await http.post("/telegram/webhook", content=nested, headers=tg)).status_code == 400
        deep_update = '{"update_id": 1, "message": ' + nested + "}"
        # JSON Python cannot read at that depth: not from Telegram either.
        assert (await http.post("/telegram/webhook", content=deep_update, headers=tg)).status_code == 400
        as_json = '{"type": "event_callback", "event": ' + nested + "}"
        assert (await http.post("/slack/events", content=as_json,
                                headers=slack_headers(as_json, SLACK_SECRET))).status_code == 400  # fmt: skip
        form = urlencode({"payload": nested})
        headers = {**slack_headers(form, SLACK_SECRET), "Content-Type": "application/x-www-form-urlencoded"}
        assert (await http.post("/slack/events", content=form, headers=headers)).status_code == 400
        # Readable JSON that is no update (a field of the wrong type): taken and dropped, so Telegram
        # does not send it again and again.
        odd = await http.post("/telegram/webhook", json={"update_id": 7, "message": 5}, headers=tg)
        assert odd.status_code == 200
        assert (await http.get("/healthz")).status_code == 200
        log = server.proc.output[log_before:]
    assert "Traceback" not in log and "RecursionError" in log, log[-3000:]
    said = [r["message"] for r in records(log) if r.get("logger") == "svbot.web.refused"]
    assert 3 <= len(said) <= 5, said  # one line a request at most (repeats within a minute are counted)
    assert all(len(line) < 200 for line in said), said
    assert not [r for r in records(log) if r.get("level") in ("error", "critical")], log[-3000:]
