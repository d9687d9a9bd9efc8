"""Durable turns per second through the real engine and turn handler, on SQLite and on PostgreSQL, beside
the most raw sqlite3 can do with the same statements.

Each turn is one transaction: the inbound event's de-duplication key, the conversation state and the
changed answers, committed (SQLite: WAL, synchronous=NORMAL, so a commit survives the process being
killed). The bot is the one every svbot process runs (`svbot.app.open_app`), on its own database.

First `--conversations` conversations are started (each one turn: the stored conversations). Then, in
rounds, a seeded random sample of `--sample` of them takes one more step of the social value
walk-through in each set-up; each round runs the set-ups in an order shuffled afresh (the seed is
printed; `--seed` repeats it), and the median of the rounds counts, as this machine is noisy:

  svbot, SQLite        one turn at a time, on a SQLite file (a temporary one unless --database-url is one)
  raw sqlite3          the limit: sqlite3 alone, on a copy of that file made after the fill, running the
                       statements of svbot's turn (`svbot.turn_sql`: the event, the load, the save and one
                       answer) in one BEGIN IMMEDIATE ... COMMIT, values bound as they are stored
  svbot, PostgreSQL    when --database-url (or SVBOT_BENCH_DATABASE_URL) names a server: a database of its
                       own in it, with 1 and with --in-flight turns in flight (other conversations each)

Each figure is given as wall-clock turns/s and as CPU time of this process a turn (on PostgreSQL the
server's work is on other processes: the CPU figure is svbot's own). Latency is each turn's, p50 and p99
over every measured turn. Peak memory is this process's peak RSS.

Run: python3 bench/turns.py [--conversations 100000] [--sample 2000] [--turns 6] [--seed N]
                            [--database-url postgresql+asyncpg://user:pass@host/db] [--in-flight 8]
     python3 bench/turns.py --smoke   (a tiny size, in seconds: does the bench still run?)
Targets (printed as met or not, not asserted): SQLite at least 25% of raw sqlite3 in the same run,
p99 under 5 ms, peak RSS under 150 MB with 100,000 stored conversations; PostgreSQL at least 1,000
turns/s with 8 in flight. A turn without a reply stops the bench (exit 1).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import resource
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import make_url  # noqa: E402
from sqlalchemy.dialects import sqlite as sqlite_dialect  # noqa: E402

from svbot.app import open_app  # noqa: E402
from svbot.config import Settings  # noqa: E402
from svbot.messages import Inbound  # noqa: E402
from svbot.turn_sql import statements  # noqa: E402
from svbot.turns import Bot  # noqa: E402

# The start of the real social value walk-through: a greeting, then typed answers.
SCRIPT = ["hello", "Hollybush Lunch Club", "A weekly lunch club for older people", "Hollingdean", "1", "1", "1, 2",
          "We cook lunch and chat"]  # fmt: skip
SMOKE = {"conversations": 200, "sample": 20, "turns": 2}
RAW_TURN = ("event", "load", "save", "answer")  # svbot.turn_sql's names for the statements of a typed answer
# The targets (issue 23): SQLite's share of raw sqlite3, its p99, memory with RSS_AT stored, PostgreSQL's rate.
RAW_SHARE, P99_MS, RSS_MB, RSS_AT, PG_RATE = 0.25, 5.0, 150.0, 100_000, 1_000.0
PLATFORM = "bench"


@dataclass
class Setup:
    """One set-up: its sample of conversations, and per round its rate and CPU; every turn's latency."""

    name: str
    turn: Callable[[int, str], Awaitable[float]]  # (conversation, text) -> seconds
    users: list[int]
    in_flight: int = 1
    rates: list[float] = field(default_factory=list)
    cpu_us: list[float] = field(default_factory=list)
    latencies: list[float] = field(default_factory=list)

    async def step(self, text: str) -> None:
        """Every conversation of the sample takes one step; records the round's figures."""
        pending = iter(self.users)

        async def worker() -> None:
            for user in pending:  # the workers share one iterator: each conversation once
                self.latencies.append(await self.turn(user, text))

        started, cpu_started = time.perf_counter(), time.process_time()
        await asyncio.gather(*(worker() for _ in range(self.in_flight)))
        wall, cpu = time.perf_counter() - started, time.process_time() - cpu_started
        self.rates.append(len(self.users) / wall)
        self.cpu_us.append(cpu / len(self.users) * 1e6)


class Events:
    """Unique inbound event ids across the run: svbot drops a repeated one as a redelivery."""

    def __init__(self) -> None:
        self.last = 0

    def next(self) -> str:
        self.last += 1
        return str(self.last)


def svbot_turn(bot: Bot, events: Events) -> Callable[[int, str], Awaitable[float]]:
    async def turn(user: int, text: str) -> float:
        inbound = Inbound(platform=PLATFORM, user_id=f"u{user}", chat_id=f"u{user}", text=text,
                          event_id=events.next())  # fmt: skip
        started = time.perf_counter()
        replies = await bot.handle(inbound)
        elapsed = time.perf_counter() - started
        if not replies:
            raise SystemExit(f"a turn of conversation u{user} got no reply: the bench is not measuring turns")
        return elapsed

    return turn


async def fill(bot: Bot, events: Events, conversations: int, in_flight: int) -> tuple[float, float]:
    """Start every conversation (its first turn). Returns (turns/s, µs CPU a turn)."""
    setup = Setup("fill", svbot_turn(bot, events), list(range(conversations)), in_flight)
    await setup.step(SCRIPT[0])
    return setup.rates[0], setup.cpu_us[0]


# --- raw sqlite3 ---------------------------------------------------------------------------------------


class RawTurns:
    """svbot's turn statements, compiled for SQLite by SQLAlchemy as svbot compiles them, run by sqlite3
    alone with the same connection settings as svbot's (`svbot.db`): what SQLite itself allows."""

    def __init__(self, path: Path, events: Events) -> None:
        self.events = events
        self.connection = sqlite3.connect(path, isolation_level=None)
        for pragma in ("journal_mode=WAL", "synchronous=NORMAL", "foreign_keys=ON", "wal_autocheckpoint=10000"):
            self.connection.execute(f"PRAGMA {pragma}")
        dialect = sqlite_dialect.dialect()
        self.sql: dict[str, tuple[str, list[str]]] = {}
        for name, (statement, keys) in statements(dialect).items():
            if name in RAW_TURN:
                compiled = statement.compile(dialect=dialect, column_keys=list(keys) if keys else None)
                self.sql[name] = (compiled.string, list(compiled.positiontup or []))

    def _run(self, name: str, values: dict[str, object]) -> sqlite3.Cursor:
        sql, names = self.sql[name]
        return self.connection.execute(sql, [values[key] for key in names])

    async def turn(self, user: int, text: str) -> float:
        now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")  # as SQLAlchemy stores a DateTime in SQLite
        started = time.perf_counter()
        self.connection.execute("BEGIN IMMEDIATE")
        self._run("event", {"platform": PLATFORM, "event_id": self.events.next(), "received_at": now})
        cursor = self._run("load", {"key": f"{PLATFORM}:u{user}:u{user}"})
        found = cursor.fetchone()
        if found is None:
            raise SystemExit(f"raw sqlite3: conversation u{user} is not in the copy")
        row = dict(zip((column[0] for column in cursor.description), found, strict=True))
        cid, organisation_id, state, version = row["id"], row["organisation_id"], row["state"], row["version"]
        self._run("save", {"cid": cid, "state": state, "version": version + 1, "updated_at": now,
                           "organisation_id": organisation_id})  # fmt: skip
        self._run("answer", {"conversation_id": cid, "organisation_id": organisation_id, "dialogue_id": "bench",
                             "key": "step", "value": json.dumps(text), "updated_at": now})  # fmt: skip
        self.connection.execute("COMMIT")
        return time.perf_counter() - started


# --- the run -------------------------------------------------------------------------------------------


async def main(args: argparse.Namespace) -> None:
    seed = args.seed if args.seed is not None else random.SystemRandom().randrange(10**6)
    rng = random.Random(seed)
    url = args.database_url
    postgres = bool(url) and not url.startswith("sqlite")
    print(f"seed {seed} (--seed {seed} repeats the sample and the order); {args.conversations:,} stored "
          f"conversations; {args.sample:,} of them take {args.turns} steps each in every set-up, one step a "
          f"round, set-ups in shuffled order")  # fmt: skip
    events = Events()
    with tempfile.TemporaryDirectory() as folder:
        sqlite_url = url if url and not postgres else f"sqlite:///{folder}/bench.db"
        async with open_app(Settings(DATABASE_URL=sqlite_url)) as app:
            rate, cpu = await fill(app.bot, events, args.conversations, 1)
            print(f"fill, SQLite: {rate:,.0f} first turns/s, {cpu:,.0f} µs CPU a turn")
            rss_sqlite = peak_rss_mb()
            raw_path = Path(folder) / "raw.db"
            copy_sqlite(make_url(sqlite_url).database or "", raw_path)
            raw = RawTurns(raw_path, events)
            samples = rng.sample(range(args.conversations), args.sample * (3 if postgres else 1))
            setups = [
                Setup("svbot, SQLite", svbot_turn(app.bot, events), samples[: args.sample]),
                Setup("raw sqlite3, same statements", raw.turn, samples[: args.sample]),
            ]
            if postgres:
                await with_postgres(url, args, events, rng, setups, samples)
            else:
                await rounds(args.turns, rng, setups)
            raw.connection.close()
    report(args, setups, rss_sqlite, postgres)


async def with_postgres(
    server_url: str, args: argparse.Namespace, events: Events, rng: random.Random, setups: list[Setup],
    samples: list[int],
) -> None:  # fmt: skip
    from bench.workers import _drop, _fresh_database

    url = await _fresh_database(server_url)
    try:
        async with open_app(Settings(DATABASE_URL=url), migrate=True) as app:
            rate, cpu = await fill(app.bot, events, args.conversations, args.in_flight)
            print(f"fill, PostgreSQL ({args.in_flight} in flight): {rate:,.0f} first turns/s, {cpu:,.0f} µs CPU a turn")
            turn = svbot_turn(app.bot, events)
            setups.append(Setup("svbot, PostgreSQL, 1 in flight", turn, samples[args.sample : 2 * args.sample]))
            setups.append(Setup(f"svbot, PostgreSQL, {args.in_flight} in flight", turn,
                                samples[2 * args.sample :], args.in_flight))  # fmt: skip
            await rounds(args.turns, rng, setups)
    finally:
        await _drop(server_url, make_url(url).database or "")


async def rounds(turns: int, rng: random.Random, setups: list[Setup]) -> None:
    for step in range(1, turns + 1):
        order = list(setups)
        rng.shuffle(order)
        for setup in order:
            await setup.step(SCRIPT[step])


def copy_sqlite(source: str, target: Path) -> None:
    """A consistent copy of a live SQLite database (its WAL included), with sqlite3's own backup."""
    origin, copy = sqlite3.connect(source), sqlite3.connect(target)
    try:
        origin.backup(copy)
    finally:
        origin.close()
        copy.close()


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def report(args: argparse.Namespace, setups: list[Setup], rss_sqlite: float, postgres: bool) -> None:
    print(f"\nmedians of {args.turns} rounds: turns/s (wall clock) and µs of this process's CPU a turn "
          f"(every round in brackets); latency over all {args.sample * args.turns:,} turns of each set-up")  # fmt: skip
    figures = {}
    for setup in setups:
        rate, cpu = statistics.median(setup.rates), statistics.median(setup.cpu_us)
        latencies = sorted(setup.latencies)
        p50 = latencies[len(latencies) // 2] * 1000
        p99 = latencies[max(0, int(len(latencies) * 0.99) - 1)] * 1000
        figures[setup.name] = (rate, cpu, p50, p99)
        rates = ", ".join(f"{r:,.0f}" for r in setup.rates)
        cpus = ", ".join(f"{c:,.0f}" for c in setup.cpu_us)
        print(f"  {setup.name:<32} {rate:7,.0f} turns/s [{rates}]   {cpu:6,.0f} µs CPU [{cpus}]")
        print(f"  {'':<32} latency p50 {p50:.2f} ms, p99 {p99:.2f} ms, max {latencies[-1] * 1000:.1f} ms")
    rss = peak_rss_mb()
    print(f"  peak RSS: {rss:.0f} MB for the whole run ({rss_sqlite:.0f} MB after filling SQLite)")

    sqlite, raw = figures["svbot, SQLite"], figures["raw sqlite3, same statements"]
    print("\ntargets (printed, not asserted: the machine is noisy)")
    share, cpu_share = sqlite[0] / raw[0], raw[1] / sqlite[1]
    print(f"  SQLite: {share:.0%} of raw sqlite3's turns/s ({cpu_share:.0%} by CPU)   "
          f"target >= {RAW_SHARE:.0%}: {met(share >= RAW_SHARE)}")  # fmt: skip
    print(f"  SQLite: p99 {sqlite[3]:.2f} ms   target < {P99_MS:g} ms: {met(sqlite[3] < P99_MS)}")
    print(f"  peak RSS {rss:.0f} MB   target < {RSS_MB:g} MB with {RSS_AT:,} stored: {met(rss < RSS_MB)}"
          + ("" if args.conversations >= RSS_AT else f" (this run stored {args.conversations:,})"))  # fmt: skip
    if postgres:
        rate = figures[f"svbot, PostgreSQL, {args.in_flight} in flight"][0]
        print(f"  PostgreSQL, {args.in_flight} in flight: {rate:,.0f} turns/s   "
              f"target >= {PG_RATE:,.0f} with 8 in flight: {met(rate >= PG_RATE)}")  # fmt: skip
    else:
        print("  PostgreSQL: not measured (give --database-url or SVBOT_BENCH_DATABASE_URL a server)")


def met(ok: bool) -> str:
    return "met" if ok else "not met"


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--conversations", type=int, default=100_000, help="stored conversations")
    parser.add_argument("--sample", type=int, default=2_000, help="conversations measured in each set-up")
    parser.add_argument("--turns", type=int, default=6, help=f"steps each (rounds), at most {len(SCRIPT) - 1}")
    parser.add_argument("--database-url", default=os.environ.get("SVBOT_BENCH_DATABASE_URL", ""),
                        help="a PostgreSQL server (or a SQLite file); default: a temporary SQLite file")  # fmt: skip
    parser.add_argument("--in-flight", type=int, default=8, help="PostgreSQL turns in flight")
    parser.add_argument("--seed", type=int, default=None, help="the sample's and order's seed (default: new)")
    parser.add_argument("--smoke", action="store_true", help=f"{SMOKE}")
    arguments = parser.parse_args()
    if arguments.smoke:
        arguments.conversations, arguments.sample, arguments.turns = SMOKE.values()
    arguments.turns = max(1, min(arguments.turns, len(SCRIPT) - 1))
    parts = 3 if arguments.database_url and not arguments.database_url.startswith("sqlite") else 1
    if arguments.sample * parts > arguments.conversations:
        parser.error(f"--sample {arguments.sample} needs at least {arguments.sample * parts} --conversations")
    asyncio.run(main(arguments))
