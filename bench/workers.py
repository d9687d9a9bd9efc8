"""Several `svbot clock` processes draining one outbox on PostgreSQL: messages per second, duplicates
and losses.

N due reminders (one organisation, member and deadline each) are written straight into a fresh
database (migrated by building the app on it, `svbot.app.open_app`); then K real `svbot clock`
processes (each built by the same composition root) plan and send them to a fake platform API
served by this process, which counts every message. Slack is the default platform: its limit is per
channel, so with one reminder per channel the figure is svbot's own throughput. With `--platform
telegram` each clock holds itself to Telegram's 30 messages a second, so the figure is that limit
times K. Duplicates or losses make it exit 1.

    python bench/workers.py                       # 2 clocks x 20,000 reminders, own PostgreSQL
    python bench/workers.py --clocks 3 --reminders 5000
    python bench/workers.py --smoke               # 2 clocks x 200 reminders, in seconds
    SVBOT_BENCH_DATABASE_URL=postgresql+asyncpg://user:pass@host/db python bench/workers.py

Without SVBOT_BENCH_DATABASE_URL it starts a throw-away server with .ci/postgres (its own folder and
port, so a CI server is left alone). The database named in the URL is used only to create another.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import asyncpg  # noqa: E402
from sqlalchemy import make_url  # noqa: E402

from svbot.app import App, open_app  # noqa: E402
from svbot.config import Settings  # noqa: E402
from tests.fakes.slack_api import FakeSlack  # noqa: E402
from tests.fakes.telegram_api import FakeTelegram  # noqa: E402
from tests.reliability.support import Proc, outbox_status, seed_due_reminders, svbot_env  # noqa: E402

PG_ENV = {"SVBOT_PG_DIR": "/tmp/svbot-bench-pg", "SVBOT_PG_PORT": "54339"}
SMOKE = (2, 200)  # --smoke: clocks, reminders


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clocks", type=int, default=2)
    parser.add_argument("--reminders", type=int, default=20_000)
    parser.add_argument("--platform", choices=["slack", "telegram"], default="slack")
    parser.add_argument("--smoke", action="store_true", help=f"{SMOKE[0]} clocks, {SMOKE[1]} reminders")
    args = parser.parse_args()
    if args.smoke:
        args.clocks, args.reminders = SMOKE
    server_url = os.environ.get("SVBOT_BENCH_DATABASE_URL")
    own_server = not server_url
    if own_server:
        server_url = _pg("start")
    try:
        asyncio.run(run(server_url, args.clocks, args.reminders, args.platform))
    finally:
        if own_server:
            _pg("stop")


async def run(server_url: str, clocks: int, reminders: int, platform: str) -> None:
    url = await _fresh_database(server_url)
    try:
        # The app migrates the database as `svbot db upgrade` would; its engine reads the outbox at the end.
        async with open_app(Settings(DATABASE_URL=url), migrate=True) as app:
            await clocks_drain(app, url, clocks, reminders, platform)
    finally:
        await _drop(server_url, make_url(url).database or "")


async def clocks_drain(app: App, url: str, clocks: int, reminders: int, platform: str) -> None:
    started = time.perf_counter()
    seeded = await seed_due_reminders(url, reminders, platform=platform)
    print(f"{reminders:,} due reminders written in {time.perf_counter() - started:.1f} s; "
          f"{clocks} clock processes, {platform}, PostgreSQL")  # fmt: skip
    received: list[str] = []
    if platform == "slack":
        fake = await FakeSlack().start()
        fake.on_call.append(
            lambda call: call.method == "chat.postMessage" and received.append(str(call.args["channel"]))
        )
        extra = {"SLACK_BOT_TOKEN": "xoxb-bench", "SLACK_API_URL": fake.api_url}
    else:
        fake = await FakeTelegram().start()
        extra = {"TELEGRAM_BOT_TOKEN": fake.token, "TELEGRAM_API_URL": fake.base_url}
    env = svbot_env(url, **extra)
    with tempfile.TemporaryDirectory() as folder:
        procs = [Proc(["clock", "--interval", "0.5"], env, Path(folder) / f"clock{i}.log") for i in range(clocks)]
        began = time.perf_counter()
        for proc in procs:
            proc.start()
        first = last = None
        while True:
            count = len(received) if platform == "slack" else len(_telegram_sent(fake))  # type: ignore[arg-type]
            if count and first is None:
                first = time.perf_counter()
            if count >= reminders:
                last = time.perf_counter()
                break
            if time.perf_counter() - began > 1800 or any(p.process.poll() is not None for p in procs):  # type: ignore[union-attr]
                break
            await asyncio.sleep(0.05)
        await asyncio.sleep(2.0)  # anything sent twice would arrive now
        outputs = []
        for proc in procs:
            await proc.stop_async()
            outputs.append(proc.output)
    chats = received if platform == "slack" else [str(c) for c in _telegram_sent(fake)]  # type: ignore[arg-type]
    await fake.stop()
    statuses = await outbox_status(app.bot.db_engine)
    counts = Counter(chats)
    duplicates = sum(n - 1 for n in counts.values() if n > 1)
    losses = len(set(seeded.chat_ids) - set(counts))
    if last is None or first is None:
        print("did not finish:", *(o[-1500:] for o in outputs), sep="\n")
        raise SystemExit(1)
    per_clock = [sum(int(n) for n in _sent_numbers(o)) for o in outputs]
    print(f"sent {len(chats):,} messages in {last - began:.1f} s from the clocks' start "
          f"({len(chats) / (last - began):,.0f} messages/s; {len(chats) / max(last - first, 1e-9):,.0f}/s "
          f"from the first message to the last)")  # fmt: skip
    print(f"per clock: {per_clock}; outbox: {dict(statuses)}")
    print(f"duplicates: {duplicates}")
    print(f"losses: {losses}")
    if duplicates or losses:
        raise SystemExit(1)


def _telegram_sent(fake: FakeTelegram) -> list[int]:
    return [c.chat_id for c in fake.calls_to("sendMessage") if c.status == 200 and c.chat_id is not None]


def _sent_numbers(output: str) -> list[str]:
    import re

    return re.findall(r"sent (\d+),", output)


async def _fresh_database(server_url: str) -> str:
    name = f"svbot_bench_{os.getpid()}"
    connection = await _admin(server_url)
    try:
        await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await connection.execute(f'CREATE DATABASE "{name}"')
    finally:
        await connection.close()
    return make_url(server_url).set(database=name).render_as_string(hide_password=False)


async def _drop(server_url: str, name: str) -> None:
    connection = await _admin(server_url)
    try:
        await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await connection.close()


async def _admin(server_url: str) -> asyncpg.Connection:
    url = make_url(server_url)
    return await asyncpg.connect(host=url.host, port=url.port or 5432, user=url.username, password=url.password,
                                 database=url.database)  # fmt: skip


def _pg(action: str) -> str:
    done = subprocess.run(["bash", str(ROOT / ".ci" / "postgres"), action], env={**os.environ, **PG_ENV},
                          capture_output=True, text=True, timeout=600)  # fmt: skip
    if done.returncode != 0:
        raise SystemExit(f".ci/postgres {action} failed: {done.stderr}")
    return done.stdout.strip()


if __name__ == "__main__":
    main()
