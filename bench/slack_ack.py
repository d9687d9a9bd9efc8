"""How fast does svbot acknowledge Slack, and how many Slack turns a second does it finish?

svbot is served for real (uvicorn on 127.0.0.1) with the real core on a temporary SQLite file;
Slack's side is 1,000 properly signed HTTP requests from httpx, at most 20 in flight, and a local
fake Web API (tests/fakes/slack_api.py) that takes svbot's replies. The mix, per simulated person:
a direct message ("hi"), `/svbot status`, a typed answer, and a button press on the question that
answer brought (read from the fake), so every request is a real turn.

  ack latency: request sent -> HTTP response (Slack allows 3 s; target p99 under 100 ms)
  turns/s:     turns finished (answered and replies posted) / wall time, first request to last reply

Everything runs in one process and one event loop (svbot, the fake and the load), so the figures
are conservative. Run: python3 bench/slack_ack.py [--requests 1000] [--concurrency 20]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import hmac
import json
import logging
import os
import signal
import socket
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
import uvicorn
from starlette.applications import Starlette

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from svbot.app import close_bot, create_bot  # noqa: E402
from svbot.channels.slack import SlackChannel, SlackOAuthEnv  # noqa: E402
from svbot.config import Settings  # noqa: E402
from tests.fakes.slack_api import TEAM_ID, FakeSlack  # noqa: E402

SECRET = "bench-signing-secret"
DIALOGUE = """\
id: bench
title: Three steps
steps:
  - {id: name, ask: "What is your group called?", type: text, max_chars: 80}
  - id: size
    ask: "How big is {{ answers.name }}?"
    type: choice
    options:
      - {value: small, label: Small}
      - {value: large, label: Large}
  - {id: note, ask: "Anything else?", type: text, optional: true}
"""


class Load:
    def __init__(self, http: httpx.AsyncClient, fake: FakeSlack, concurrency: int) -> None:
        self.http, self.fake = http, fake
        self.gate = asyncio.Semaphore(concurrency)
        self.latencies: list[float] = []
        self.kinds: dict[str, int] = {"event": 0, "command": 0, "action": 0}
        self.serial = 0
        self.questions: dict[str, asyncio.Future[Any]] = {}
        fake.on_call.append(self.saw)

    async def post(self, kind: str, body: str, content_type: str) -> None:
        ts = str(int(time.time()))
        digest = hmac.new(SECRET.encode(), f"v0:{ts}:{body}".encode(), hashlib.sha256).hexdigest()
        headers = {"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": f"v0={digest}", "Content-Type": content_type}
        async with self.gate:
            started = time.perf_counter()
            response = await self.http.post("/slack/events", content=body, headers=headers)
            self.latencies.append(time.perf_counter() - started)
        if response.status_code != 200:
            raise RuntimeError(f"{kind}: HTTP {response.status_code} {response.text[:200]}")
        self.kinds[kind] += 1

    def next_id(self) -> int:
        self.serial += 1
        return self.serial

    async def dm(self, user: str, text: str) -> None:
        event = {
            "type": "message",
            "channel_type": "im",
            "channel": "D" + user,
            "user": "U" + user,
            "text": text,
            "ts": f"{time.time():.6f}",
        }
        body = json.dumps(
            {
                "type": "event_callback",
                "team_id": TEAM_ID,
                "api_app_id": "A1",
                "event_id": f"Ev{self.next_id()}",
                "event_time": int(time.time()),
                "event": event,
            }
        )
        await self.post("event", body, "application/json")

    async def command(self, user: str, text: str) -> None:
        body = urlencode(
            {
                "team_id": TEAM_ID,
                "channel_id": "D" + user,
                "user_id": "U" + user,
                "user_name": "p" + user,
                "command": "/svbot",
                "text": text,
                "response_url": self.fake.response_url(),
                "trigger_id": f"t{self.next_id()}",
            }
        )
        await self.post("command", body, "application/x-www-form-urlencoded")

    async def press(self, user: str) -> None:
        message = await self.question_with_buttons("D" + user)
        button = next(e for b in message.args["blocks"] for e in b.get("elements", ()) if e.get("type") == "button")
        payload = {
            "type": "block_actions",
            "user": {"id": "U" + user, "username": "p" + user, "team_id": TEAM_ID},
            "team": {"id": TEAM_ID},
            "channel": {"id": "D" + user},
            "trigger_id": f"t{self.next_id()}",
            "container": {"type": "message", "message_ts": message.ts, "channel_id": "D" + user},
            "message": {"ts": message.ts, "text": message.args.get("text"), "blocks": message.args["blocks"]},
            "actions": [{**button, "block_id": "b", "action_ts": f"{time.time():.6f}"}],
        }
        await self.post("action", urlencode({"payload": json.dumps(payload)}), "application/x-www-form-urlencoded")

    async def question_with_buttons(self, channel: str) -> Any:
        """The question with buttons svbot posted in this chat (the fake tells us as it arrives)."""
        return await asyncio.wait_for(
            self.questions.setdefault(channel, asyncio.get_running_loop().create_future()), 30
        )

    def saw(self, call: Any) -> None:
        if call.method == "chat.postMessage" and "How big" in str(call.args.get("text", "")):
            future = self.questions.setdefault(call.args["channel"], asyncio.get_running_loop().create_future())
            if not future.done():
                future.set_result(call)

    async def person(self, user: str) -> None:
        await self.dm(user, "hi")
        await self.command(user, "status")
        await self.dm(user, f"Club {user}")
        await self.press(user)


async def run(requests: int, concurrency: int, max_turns: int | None = None) -> dict[str, Any]:
    """svbot runs in its own process, as in production (uvicorn + the core on SQLite); this process
    plays Slack: the fake Web API and the signed requests."""
    people = requests // 4
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        (folder / "dialogues").mkdir()
        (folder / "dialogues" / "bench.yaml").write_text(DIALOGUE)
        async with FakeSlack() as fake:
            sock = socket.socket()
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
            sock.close()
            env = {
                **os.environ,
                "DATABASE_URL": f"sqlite:///{folder / 'bench.db'}",
                "SVBOT_DIALOGUES_DIR": str(folder / "dialogues"),
                "SLACK_BOT_TOKEN": "xoxb-bench",
                "SLACK_SIGNING_SECRET": SECRET,
                "SLACK_API_URL": fake.api_url,
            }
            args = [sys.executable, __file__, "--serve", str(port)]
            if max_turns is not None:
                args += ["--max-turns", str(max_turns)]
            child = await asyncio.create_subprocess_exec(*args, env=env, stdout=asyncio.subprocess.PIPE)
            try:
                assert child.stdout is not None
                await asyncio.wait_for(child.stdout.readline(), 60)  # "ready"
                limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
                async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", limits=limits, timeout=30) as http:
                    load = Load(http, fake, concurrency)
                    started = time.perf_counter()
                    await asyncio.gather(*(load.person(f"{n:06d}") for n in range(people)))
                    # Every turn answered: per person hello + question, status, question, next question.
                    await fake.wait_for("chat.postMessage", timeout=120, count=people * 5)
                    elapsed = time.perf_counter() - started
            finally:
                child.send_signal(signal.SIGINT)
                out, _ = await child.communicate()
            served = json.loads(out.decode().strip().splitlines()[-1])
            return report(load, people * 4, elapsed, len(fake.calls), served)


async def serve(port: int, max_turns: int | None) -> None:
    """The svbot side (a child process): serve POST /slack/events until interrupted."""
    settings = Settings()
    bot = await create_bot(settings, start_dialogue="bench")
    channel = SlackChannel(bot, settings, oauth=SlackOAuthEnv(), max_turns=max_turns)
    server_ms: list[float] = []
    app = timed(Starlette(routes=channel.mount().routes), server_ms)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off"))
    serving = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.01)
    print("ready", flush=True)
    try:
        await serving
    finally:
        await channel.close()
        await close_bot(bot)
        print(json.dumps({"server_ms": server_ms, "turns_finished": channel.turns_finished}), flush=True)


def timed(app: Any, into: list[float]) -> Any:
    """ASGI wrapper: time from the request reaching svbot to its response starting (the ack)."""

    async def wrapper(scope: dict, receive: Any, send: Any) -> None:
        started = time.perf_counter()

        async def timed_send(message: dict) -> None:
            if message["type"] == "http.response.start":
                into.append((time.perf_counter() - started) * 1000)
            await send(message)

        await app(scope, receive, timed_send)

    return wrapper


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return round(ordered[max(0, int(len(ordered) * fraction) - 1)], 1)


def report(load: Load, turns: int, elapsed: float, calls: int, served: dict) -> dict[str, Any]:
    ms = sorted(x * 1000 for x in load.latencies)
    p99 = ms[max(0, int(len(ms) * 0.99) - 1)]
    server_ms = served["server_ms"]
    return {
        "server_ack_ms_p50": percentile(server_ms, 0.5),
        "server_ack_ms_p99": percentile(server_ms, 0.99),
        "requests": len(ms),
        "mix": load.kinds,
        "ack_ms_p50": round(statistics.median(ms), 1),
        "ack_ms_p99": round(p99, 1),
        "ack_ms_max": round(ms[-1], 1),
        "turns_finished": served["turns_finished"],
        "turns_per_s": round(turns / elapsed, 1),
        "slack_api_calls": calls,
        "seconds": round(elapsed, 2),
        "p99_under_100ms": p99 < 100,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=20)
    parser.add_argument("--serve", type=int, help=argparse.SUPPRESS)  # the svbot child process
    parser.add_argument("--max-turns", type=int, default=None, help="turns run at once (default: 1 on SQLite)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    if args.serve:
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(serve(args.serve, args.max_turns))
        return
    result = asyncio.run(run(args.requests, args.concurrency, args.max_turns))
    print(
        f"Slack ack latency over {result['requests']} signed requests, {args.concurrency} in flight "
        f"(mix {result['mix']}):"
    )
    print(
        f"  p50 {result['ack_ms_p50']} ms, p99 {result['ack_ms_p99']} ms, max {result['ack_ms_max']} ms "
        f"(Slack allows 3,000 ms; target p99 < 100 ms: {'met' if result['p99_under_100ms'] else 'NOT met'})"
    )
    print(
        f"  end to end: {result['turns_finished']} turns in {result['seconds']} s = "
        f"{result['turns_per_s']} turns/s ({result['slack_api_calls']} Slack API calls)"
    )
    print(json.dumps(result))


if __name__ == "__main__":
    main()
