"""How fast does svbot acknowledge Slack, and how many Slack turns a second does it finish?

Three processes, as in production where Slack is on other machines:
- svbot: uvicorn on 127.0.0.1 serving the web app `svbot serve` serves (`svbot.app`'s `App.web_app()`:
  the bot with every feature, on a temporary SQLite file), a child process;
- the fake Slack Web API (tests/fakes/slack_api.py, `python3 -m tests.fakes.slack_api`), which takes
  svbot's replies (a child process);
- this process: the load, 1,000 properly signed HTTP requests from aiohttp, at most 20 in flight.
The mix, per simulated person: a direct message ("hi"), `/svbot status`, a typed answer, and a button
press on the question that answer brought (read from the fake's call feed), so every request is a real
turn. How many messages svbot posts for that is not assumed: before the run, the same four turns go
through the same bot on a database of their own, and their replies are counted as the Slack adapter
posts them (a reply's Block Kit messages; the one a button press puts in place of the pressed message
is an update, not a post).

  client ack:  request sent -> HTTP response received, in this process (what Slack would see, plus
               this process's own scheduling)
  server ack:  svbot's ASGI app called -> response started, in svbot's process (leaves out waiting
               for svbot's event loop and HTTP parsing; the "loop stall" figure shows that waiting)
  turns/s:     turns finished (answered and replies posted) / wall time, first request to last reply

The machine has 2 cores shared by the 3 processes, so the figures are conservative. The load uses
aiohttp, not httpx: httpx's connection pool is slow with many requests in flight (encode/httpx#3215;
here, against an ASGI app that answers at once, 20 in flight: httpx p99 about 370 ms, aiohttp about
30 ms), so with httpx we would be timing the load generator.
Run: python3 bench/slack_ack.py [--requests 1000] [--concurrency 20] [--profile FILE]
     python3 bench/slack_ack.py --smoke   (a tiny size, in seconds; figures printed, not checked)
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import cProfile
import hashlib
import hmac
import itertools
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

import aiohttp
import uvicorn

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from svbot.app import open_app  # noqa: E402
from svbot.config import Settings  # noqa: E402
from svbot.messages import Inbound, Outbound  # noqa: E402
from tests.fakes.slack_api import TEAM_ID  # noqa: E402

SECRET = "bench-signing-secret"
SMOKE_REQUESTS = 40  # --smoke: 10 people
CORES_NOTE = f"{os.cpu_count()} cores shared by 3 processes (svbot, fake Slack API, load)"
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
    """Slack's side of the conversation: signed requests, and the fake's feed of what svbot sent."""

    def __init__(self, http: aiohttp.ClientSession, fake_url: str, concurrency: int, replies_expected: int) -> None:
        self.http, self.fake_url = http, fake_url
        self.gate = asyncio.Semaphore(concurrency)
        self.latencies: list[float] = []
        self.kinds: dict[str, int] = {"event": 0, "command": 0, "action": 0}
        self.serial = 0
        self.questions: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self.posted = 0
        self.replies_expected = replies_expected
        self.all_replied = asyncio.Event()

    async def post(self, kind: str, body: str, content_type: str) -> None:
        ts = str(int(time.time()))
        digest = hmac.new(SECRET.encode(), f"v0:{ts}:{body}".encode(), hashlib.sha256).hexdigest()
        headers = {"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": f"v0={digest}", "Content-Type": content_type}
        async with self.gate:
            started = time.perf_counter()
            async with self.http.post("/slack/events", data=body.encode(), headers=headers) as response:
                answer = await response.text()
            self.latencies.append(time.perf_counter() - started)
        if response.status != 200:
            raise RuntimeError(f"{kind}: HTTP {response.status} {answer[:200]}")
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
                "response_url": f"{self.fake_url}/respond/1",
                "trigger_id": f"t{self.next_id()}",
            }
        )
        await self.post("command", body, "application/x-www-form-urlencoded")

    async def press(self, user: str) -> None:
        message = await self.question_with_buttons("D" + user)
        blocks = message["args"]["blocks"]
        button = next(e for b in blocks for e in b.get("elements", ()) if e.get("type") == "button")
        ts = message["response"]["ts"]
        payload = {
            "type": "block_actions",
            "user": {"id": "U" + user, "username": "p" + user, "team_id": TEAM_ID},
            "team": {"id": TEAM_ID},
            "channel": {"id": "D" + user},
            "trigger_id": f"t{self.next_id()}",
            "container": {"type": "message", "message_ts": ts, "channel_id": "D" + user},
            "message": {"ts": ts, "text": message["args"].get("text"), "blocks": blocks},
            "actions": [{**button, "block_id": "b", "action_ts": f"{time.time():.6f}"}],
        }
        await self.post("action", urlencode({"payload": json.dumps(payload)}), "application/x-www-form-urlencoded")

    async def question_with_buttons(self, channel: str) -> dict[str, Any]:
        """The question with buttons svbot posted in this chat (the fake's feed tells us)."""
        return await asyncio.wait_for(self._question(channel), 60)

    def _question(self, channel: str) -> asyncio.Future[dict[str, Any]]:
        return self.questions.setdefault(channel, asyncio.get_running_loop().create_future())

    async def follow_fake(self) -> None:
        """Read every call the fake receives, in order, by long polling its feed (one connection,
        outside the 20 in flight). A poll waits at most a second: the fake, when told to stop, waits
        for the poll in hand."""
        since = 0
        async with aiohttp.ClientSession(base_url=self.fake_url) as feed:
            while True:
                async with feed.get("/_fake/calls", params={"since": since, "wait": 1}) as response:
                    page = await response.json()
                for call in page["calls"]:
                    self.saw(call)
                since = page["next"]

    def saw(self, call: dict[str, Any]) -> None:
        if call["method"] != "chat.postMessage" or not call["response"].get("ok"):
            return
        self.posted += 1
        if self.posted >= self.replies_expected:
            self.all_replied.set()
        if any(e.get("type") == "button" for b in call["args"].get("blocks") or () for e in b.get("elements", ())):
            future = self._question(call["args"]["channel"])
            if not future.done():
                future.set_result(call)

    async def person(self, user: str) -> None:
        await self.dm(user, "hi")
        await self.command(user, "status")
        await self.dm(user, f"Club {user}")
        await self.press(user)


async def posts_per_person(settings: Settings) -> int:
    """How many messages svbot posts to one person for `Load.person`'s four turns: the same turns
    through the same bot (on `settings`' database), counted as the Slack adapter posts them."""
    from svbot.channels.slack.render import render

    user, channel = f"{TEAM_ID}:U000000", "D000000"
    seen: list[Outbound] = []
    posts = 0
    events = itertools.count()

    async def turn(app: Any, text: str | None = None, payload: str | None = None) -> None:
        nonlocal posts
        inbound = Inbound("slack", user, channel, text=text, payload=payload, event_id=f"rehearsal{next(events)}")
        replies = await app.bot.handle(inbound)
        if payload is not None and replies and replies[0].replace_previous and not replies[0].file:
            posts -= 1  # its first message goes into the pressed one (chat.update)
        posts += sum(len(render(reply)) for reply in replies)
        seen.extend(replies)

    async with open_app(settings, start_dialogue="bench") as app:
        await turn(app, "hi")
        await turn(app, "status")  # `/svbot status`, as the adapter passes a command's words
        await turn(app, "Club 000000")
        question = next(reply for reply in seen if reply.buttons)  # the one Load.press presses
        await turn(app, payload=question.buttons[0].payload)
    return posts


class Child:
    """A child process that prints one JSON line when ready and one when it stops."""

    def __init__(self, name: str, args: list[str], env: dict[str, str]) -> None:
        self.name, self.args, self.env = name, args, env
        self.process: asyncio.subprocess.Process | None = None

    async def start(self) -> dict[str, Any]:
        self.process = await asyncio.create_subprocess_exec(
            *self.args, env=self.env, cwd=ROOT, stdout=asyncio.subprocess.PIPE
        )
        assert self.process.stdout is not None
        line = await asyncio.wait_for(self.process.stdout.readline(), 60)
        if not line:
            raise RuntimeError(f"{self.name} did not start")
        return json.loads(line)

    async def stop(self) -> dict[str, Any]:
        """SIGINT, then its last JSON line (its own figures)."""
        if self.process is None or self.process.returncode is not None:
            return {}
        self.process.send_signal(signal.SIGINT)
        out, _ = await asyncio.wait_for(self.process.communicate(), 60)
        lines = out.decode().strip().splitlines()
        return json.loads(lines[-1]) if lines else {}


async def run(requests: int, concurrency: int, max_turns: int | None = None, profile: str | None = None) -> dict:
    """Start the fake and svbot as processes, play Slack from this one, and gather everyone's figures."""
    people = requests // 4
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        (folder / "dialogues").mkdir()
        (folder / "dialogues" / "bench.yaml").write_text(DIALOGUE)
        rehearsal = Settings(
            DATABASE_URL=f"sqlite:///{folder / 'rehearsal.db'}", SVBOT_DIALOGUES_DIR=folder / "dialogues"
        )
        per_person = await posts_per_person(rehearsal)
        fake = Child("fake Slack API", [sys.executable, "-m", "tests.fakes.slack_api"], dict(os.environ))
        urls = await fake.start()
        svbot = Child("svbot", svbot_args(free_port(), max_turns, profile), svbot_env(folder, urls["api_url"]))
        try:
            await svbot.start()
            port = int(svbot.args[svbot.args.index("--serve") + 1])
            connector = aiohttp.TCPConnector(limit=concurrency)
            timeout = aiohttp.ClientTimeout(total=30)
            async with aiohttp.ClientSession(f"http://127.0.0.1:{port}", connector=connector, timeout=timeout) as http:
                load = Load(http, urls["base_url"], concurrency, replies_expected=people * per_person)
                follower = asyncio.create_task(load.follow_fake())
                cpu_before, started = time.process_time(), time.perf_counter()
                await asyncio.gather(*(load.person(f"{n:06d}") for n in range(people)))
                await asyncio.wait_for(load.all_replied.wait(), 120)
                elapsed = time.perf_counter() - started
                load_cpu = time.process_time() - cpu_before
                follower.cancel()
        finally:
            served = await svbot.stop()
            faked = await fake.stop()
        result = report(load, people * 4, elapsed, served, faked, load_cpu)
        result["posts_per_person"] = per_person
        result["load_average"] = [round(load_before, 2), round(os.getloadavg()[0], 2)]
        return result


def svbot_args(port: int, max_turns: int | None, profile: str | None) -> list[str]:
    args = [sys.executable, __file__, "--serve", str(port)]
    if max_turns is not None:
        args += ["--max-turns", str(max_turns)]
    if profile:
        args += ["--profile", profile]
    return args


def svbot_env(folder: Path, api_url: str) -> dict[str, str]:
    return {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{folder / 'bench.db'}",
        "SVBOT_DIALOGUES_DIR": str(folder / "dialogues"),
        "SLACK_BOT_TOKEN": "xoxb-bench",
        "SLACK_SIGNING_SECRET": SECRET,
        "SLACK_API_URL": api_url,
    }


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def serve(port: int, max_turns: int | None) -> None:
    """The svbot side (a child process): serve svbot's web app until interrupted."""
    async with open_app(Settings(), start_dialogue="bench") as app:
        await serve_app(app, port, max_turns)


async def serve_app(app: Any, port: int, max_turns: int | None) -> None:
    if max_turns is None:
        web = app.web_app()  # what `svbot serve` runs: POST /slack/events among the rest
    else:  # an experiment: Slack's channel alone, with its own number of turns at once
        from svbot.channels.slack.adapter import SlackChannel
        from svbot.web import mount_app

        web = mount_app([SlackChannel(app.bot, app.settings, max_turns=max_turns).mount()])
    server_ms: list[float] = []
    server = uvicorn.Server(
        uvicorn.Config(timed(web, server_ms), host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    )
    serving = asyncio.create_task(server.serve())
    while not server.started:
        if serving.done():
            await serving  # it could not start: say why
            raise RuntimeError("svbot's web server stopped before it started")
        await asyncio.sleep(0.01)
    stalls: list[float] = []
    watching = asyncio.create_task(watch_loop(stalls))
    cpu_before = time.process_time()
    print(json.dumps({"ready": port}), flush=True)
    try:
        await serving
    finally:
        watching.cancel()
        cpu = time.process_time() - cpu_before  # the app's shutdown (replies still going out) came before
        figures = {"server_ms": server_ms, "stall_ms": stalls, "cpu_s": cpu}
        print(json.dumps(figures), flush=True)


async def watch_loop(into: list[float], every: float = 0.005) -> None:
    """How late the event loop wakes a 5 ms sleep: the time a request arriving then would wait."""
    loop = asyncio.get_running_loop()
    while True:
        before = loop.time()
        await asyncio.sleep(every)
        into.append((loop.time() - before - every) * 1000)


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
    return round(ordered[max(0, int(len(ordered) * fraction) - 1)], 1) if ordered else 0.0


def report(load: Load, turns: int, elapsed: float, served: dict, faked: dict, load_cpu: float) -> dict[str, Any]:
    ms = [x * 1000 for x in load.latencies]
    return {
        "requests": len(ms),
        "mix": load.kinds,
        "client_ack_ms_p50": round(statistics.median(ms), 1),
        "client_ack_ms_p99": percentile(ms, 0.99),
        "client_ack_ms_max": round(max(ms), 1),
        "server_ack_ms_p50": percentile(served["server_ms"], 0.5),
        "server_ack_ms_p99": percentile(served["server_ms"], 0.99),
        "server_loop_stall_ms_p99": percentile(served["stall_ms"], 0.99),
        "server_loop_stall_ms_max": percentile(served["stall_ms"], 1.0),
        "turns_finished": turns,
        "turns_per_s": round(turns / elapsed, 1),
        "slack_api_calls": faked.get("calls"),
        "seconds": round(elapsed, 2),
        "cpu_s": {"svbot": round(served["cpu_s"], 2), "fake": faked.get("cpu_s"), "load": round(load_cpu, 2)},
        "cores": os.cpu_count(),
        "client_p99_under_100ms": percentile(ms, 0.99) < 100,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=20)
    parser.add_argument("--serve", type=int, help=argparse.SUPPRESS)  # the svbot child process
    parser.add_argument("--max-turns", type=int, default=None, help="turns run at once (default: 1 on SQLite)")
    parser.add_argument("--profile", help="write a cProfile of svbot's process to this file (slows it down)")
    parser.add_argument("--smoke", action="store_true", help=f"{SMOKE_REQUESTS} requests: does the bench run?")
    args = parser.parse_args()
    if args.smoke:
        args.requests = SMOKE_REQUESTS
    logging.basicConfig(level=logging.WARNING)
    if args.serve:
        profiler = cProfile.Profile() if args.profile else None
        if profiler:
            profiler.enable()
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(serve(args.serve, args.max_turns))
        if profiler:
            profiler.disable()
            profiler.dump_stats(args.profile)
        return
    result = asyncio.run(run(args.requests, args.concurrency, args.max_turns, args.profile))
    print_summary(result, args.concurrency)


def print_summary(result: dict[str, Any], concurrency: int) -> None:
    met = "met" if result["client_p99_under_100ms"] else "NOT met"
    print(f"Slack ack over {result['requests']} signed requests, {concurrency} in flight (mix {result['mix']});")
    before, after = result["load_average"]
    print(f"  {CORES_NOTE}; machine load average {before} before, {after} after (other work shares the cores too)")
    print(
        f"  client ack: p50 {result['client_ack_ms_p50']} ms, p99 {result['client_ack_ms_p99']} ms, "
        f"max {result['client_ack_ms_max']} ms (Slack allows 3,000 ms; target p99 < 100 ms: {met})"
    )
    print(
        f"  server ack: p50 {result['server_ack_ms_p50']} ms, p99 {result['server_ack_ms_p99']} ms; "
        f"svbot loop stall p99 {result['server_loop_stall_ms_p99']} ms, max {result['server_loop_stall_ms_max']} ms"
    )
    print(
        f"  end to end: {result['turns_finished']} turns in {result['seconds']} s = "
        f"{result['turns_per_s']} turns/s ({result['slack_api_calls']} Slack API calls, "
        f"{result['posts_per_person']} posts a person); CPU s {result['cpu_s']}"
    )
    print(json.dumps(result))


if __name__ == "__main__":
    main()
