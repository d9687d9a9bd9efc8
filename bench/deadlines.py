"""Benchmark: reminder planning on large SQLite databases, and 360Giving import speed.

Each case builds grants with four deadlines each (four grants per organisation, one chat identity
per organisation), makes some of them fall due at once, and times:

- the planning passes that queue those reminders (at most 2,000 deadlines a pass, each pass one
  write transaction: the time chat turns may wait), median of five rounds;
- the recipients query alone (members of the due organisations with a chat identity we can
  write to, svbot.delivery.recipients), with ANALYZE's statistics and without (production never
  runs ANALYZE);
- a pass with nothing due.

The cases: 100,000 grants (25,000 organisations) with 1,000 due, the original target (< 200 ms;
nothing due < 20 ms); 25,000 grants (100,000 deadlines) with 1,000 due; and 12,500 organisations
with 200, 2,000 and 10,000 due at once. Then it imports the 4,116-grant spreadsheet sample and a
JSON sample and prints grants per second.

Run: python3 bench/deadlines.py [--grants 100000 --due 1000]   (one case of your own instead)
     python3 bench/deadlines.py --smoke   (every case at a tiny size, in seconds: is the bench sound?)
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import sqlite3
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from svbot.db import make_engine, make_sessionmaker, upgrade_async
from svbot.deadlines.importer import import_grants
from svbot.deadlines.planner import BATCH, plan_reminders
from svbot.deadlines.schedules import ReminderRules, reminder_times
from svbot.delivery.recipients import reachable_members

SAMPLES = Path(__file__).resolve().parent.parent / "tests" / "data" / "360giving" / "samples"
LONDON = ZoneInfo("Europe/London")
NOW = datetime(2027, 1, 15, 9, 0, tzinfo=LONDON).astimezone(UTC)
DUE_NOW = date(2027, 1, 29)  # its 14-days-before reminder is exactly NOW
GRANTS_PER_ORG = 4
DEADLINES_PER_GRANT = 4
ROUNDS = 5


@dataclass(frozen=True)
class Case:
    grants: int
    due: int  # deadlines (and organisations: at most one each) falling due at once
    target_ms: float | None = None  # for a planning pass
    idle_target_ms: float | None = None  # for a pass with nothing due


CASES = [
    Case(100_000, 1_000, target_ms=200, idle_target_ms=20),
    Case(25_000, 1_000),
    Case(50_000, 200),
    Case(50_000, 2_000),
    Case(50_000, 10_000),
]
SMOKE_SCALE = 250  # --smoke: every case 250 times smaller (400 grants, 4 due, ...), passes of 8


def build(path: Path, grants: int, due: int) -> None:
    """Fill the tables with plain sqlite3 executemany: building is not what we measure."""
    rules = ReminderRules()
    first_reminder: dict[date, str] = {}

    def cursor_for(day: date) -> str:
        if day not in first_reminder:
            first_reminder[day] = reminder_times(day, rules)[0].strftime("%Y-%m-%d %H:%M:%S.%f")
        return first_reminder[day]

    stamp = "2026-12-01 00:00:00.000000"
    orgs = grants // GRANTS_PER_ORG
    every = grants // due  # the first deadline of every n-th grant falls due now: at most one per organisation
    assert every >= GRANTS_PER_ORG, f"{due:,} due among {orgs:,} organisations: at most a quarter of the grants"
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=OFF")
    with conn:
        conn.executemany(
            "INSERT INTO organisations (id, name, kind, external_id, created_at) VALUES (?, ?, 'member', ?, ?)",
            ((i, f"Org {i}", f"GB-CHC-{i}", stamp) for i in range(1, orgs + 1)),
        )
        conn.executemany(
            "INSERT INTO people (id, display_name, created_at) VALUES (?, ?, ?)",
            ((i, f"Person {i}", stamp) for i in range(1, orgs + 1)),
        )
        conn.executemany(
            "INSERT INTO identities (id, person_id, platform, platform_user_id, chat_id, display_name, active,"
            " created_at) VALUES (?, ?, 'telegram', ?, ?, '', 1, ?)",
            ((i, i, str(i), str(i), stamp) for i in range(1, orgs + 1)),
        )
        conn.executemany(
            "INSERT INTO memberships (person_id, organisation_id, role, created_at) VALUES (?, ?, 'member', ?)",
            ((i, i, stamp) for i in range(1, orgs + 1)),
        )
        conn.executemany(
            "INSERT INTO grants (id, external_id, organisation_id, title, description, funder_id, funder_name,"
            " programme, currency, content_hash, created_at, updated_at)"
            " VALUES (?, ?, ?, ?, '', '', '', '', 'GBP', '', ?, ?)",
            (
                (g, f"360G-bench-{g}", (g - 1) // GRANTS_PER_ORG + 1, f"Grant {g}", stamp, stamp)
                for g in range(1, grants + 1)
            ),
        )

        def deadlines():  # type: ignore[no-untyped-def]
            for g in range(1, grants + 1):
                org = (g - 1) // GRANTS_PER_ORG + 1
                for k in range(DEADLINES_PER_GRANT):
                    # The first deadline of every n-th grant falls due now; the rest spread over two years.
                    if k == 0 and g % every == 0:
                        day = DUE_NOW
                    else:
                        day = date(2027, 2, 1) + timedelta(days=(g * 7 + k * 91) % 730)
                    title = "Quarterly monitoring report"
                    yield (g, org, f"k{k}", title, day.isoformat(), cursor_for(day), stamp, stamp)

        conn.executemany(
            "INSERT INTO deadlines (grant_id, organisation_id, key, title, due_date, status, next_reminder_at,"
            " next_offset_index, created_at, updated_at) VALUES (?, ?, ?, ?, ?, 'upcoming', ?, 0, ?, ?)",
            deadlines(),
        )
    conn.execute("ANALYZE")
    conn.close()


def make_due_again(path: Path) -> None:
    """Undo a round: the due deadlines' cursors back to NOW, the outbox empty."""
    with sqlite3.connect(path) as conn:
        conn.execute("DELETE FROM outbox")
        conn.execute(
            "UPDATE deadlines SET next_offset_index = 0, next_reminder_at = ? WHERE due_date = ?",
            (reminder_times(DUE_NOW, ReminderRules())[0].strftime("%Y-%m-%d %H:%M:%S.%f"), DUE_NOW.isoformat()),
        )


def due_organisations(path: Path) -> list[int]:
    with sqlite3.connect(path) as conn:
        rows = conn.execute("SELECT DISTINCT organisation_id FROM deadlines WHERE due_date = ?", (DUE_NOW.isoformat(),))
        return sorted(org for (org,) in rows)


async def timed_ms(work: Callable[[], Awaitable[object]], times: int) -> list[float]:
    spent = []
    for _ in range(times):
        started = time.perf_counter()
        await work()
        spent.append((time.perf_counter() - started) * 1000)
    return spent


async def recipients_ms(sessionmaker: async_sessionmaker[AsyncSession], orgs: list[int], times: int) -> float:
    """The median time of the recipients query, in a write transaction as the planner runs it."""

    async def once() -> None:
        async with sessionmaker() as session, session.begin():
            found = await reachable_members(session, orgs)
        assert len(found) == len(orgs), (len(found), len(orgs))  # one identity per organisation

    await once()  # warm up: the connection, the statement's compilation
    return statistics.median(await timed_ms(once, times))


def plural(n: int, what: str) -> str:
    return f"{n:,} {what}" if n == 1 else f"{n:,} {what}s"


def target(ms: float | None) -> str:
    return f" (target < {ms:g} ms)" if ms is not None else ""


async def planning(case: Case, template: Path, *, rounds: int, batch: int) -> None:
    orgs = case.grants // GRANTS_PER_ORG
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "bench.db"
        shutil.copyfile(template, path)
        url = f"sqlite+aiosqlite:///{path}"
        started = time.perf_counter()
        build(path, case.grants, case.due)
        print(
            f"{orgs:,} organisations, {case.grants:,} grants, {case.grants * DEADLINES_PER_GRANT:,} deadlines "
            f"(built in {time.perf_counter() - started:.1f} s); {case.due:,} due at once:"
        )

        engine = make_engine(url)
        sessionmaker = make_sessionmaker(engine)
        await plan_reminders(sessionmaker, NOW - timedelta(days=1), limit=batch)  # warm up: nothing due
        passes: list[float] = []  # each pass, every round
        rounds_ms: list[float] = []  # all the passes of a round
        for run in range(rounds):
            if run:
                make_due_again(path)
            queued, this_round = 0, []
            while True:
                started = time.perf_counter()
                result = await plan_reminders(sessionmaker, NOW, limit=batch)
                if not result.deadlines:
                    break
                this_round.append((time.perf_counter() - started) * 1000)
                queued += result.queued
            assert queued == case.due, (queued, case.due)
            passes += this_round
            rounds_ms.append(sum(this_round))
        per_round = len(passes) // rounds
        if per_round == 1:
            print(
                f"  planning pass: median {statistics.median(passes):.1f} ms, best {min(passes):.1f} ms"
                f"{target(case.target_ms)}"
            )
        else:
            print(
                f"  planning: {per_round} passes of up to {batch:,} deadlines, median pass "
                f"{statistics.median(passes):.1f} ms, longest {max(passes):.1f} ms; "
                f"all {per_round}: median {statistics.median(rounds_ms):.1f} ms"
            )
        idle = await timed_ms(lambda: plan_reminders(sessionmaker, NOW, limit=batch), 20)
        print(f"  planning pass, nothing due: median {statistics.median(idle):.2f} ms{target(case.idle_target_ms)}")

        due_orgs = due_organisations(path)
        analyzed = await recipients_ms(sessionmaker, due_orgs, rounds)
        await engine.dispose()
        with sqlite3.connect(path) as conn:  # as in production: no statistics at all
            for table in ("sqlite_stat1", "sqlite_stat4"):
                conn.execute(f"DROP TABLE IF EXISTS {table}")
        engine = make_engine(url)
        bare = await recipients_ms(make_sessionmaker(engine), due_orgs, rounds)
        await engine.dispose()
        print(
            f"  recipients query, {plural(len(due_orgs), 'organisation')} in one: "
            f"median {analyzed:.1f} ms after ANALYZE, {bare:.1f} ms without statistics"
        )


async def importing(samples: list[str]) -> None:
    for sample in samples:
        with tempfile.TemporaryDirectory() as folder:
            url = f"sqlite+aiosqlite:///{Path(folder) / 'import.db'}"
            await upgrade_async(url)
            engine = make_engine(url)
            started = time.perf_counter()
            summary = await import_grants(make_sessionmaker(engine), SAMPLES / sample, now=NOW)
            seconds = time.perf_counter() - started
            rate = summary.total / seconds
            print(
                f"import {sample}: {summary.total:,} grants in {seconds:.2f} s = {rate:,.0f} grants/s "
                f"({summary.headline()})"
            )
            started = time.perf_counter()
            await import_grants(make_sessionmaker(engine), SAMPLES / sample, now=NOW)
            print(f"  re-import (no changes): {time.perf_counter() - started:.2f} s")
            await engine.dispose()


async def run(cases: list[Case], *, rounds: int, batch: int, samples: list[str]) -> None:
    with tempfile.TemporaryDirectory() as folder:
        template = Path(folder) / "migrated.db"  # migrate once, copy per case
        await upgrade_async(f"sqlite+aiosqlite:///{template}")
        for case in cases:
            await planning(case, template, rounds=rounds, batch=batch)
    await importing(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--grants", type=int, help="run one case of this many grants instead of the set")
    parser.add_argument("--due", type=int, default=1_000, help="with --grants: how many fall due at once")
    parser.add_argument("--smoke", action="store_true", help="every case at a tiny size (a check, not figures)")
    args = parser.parse_args()
    cases = [Case(args.grants, args.due)] if args.grants else CASES
    samples = ["lloydsbankfoundation_360_giving_LBFEW_2010_2015.xlsx", "powertochange_a002400000nO46WAAS.json"]
    if args.smoke:
        cases = [Case(c.grants // SMOKE_SCALE, max(1, c.due // SMOKE_SCALE)) for c in cases]
        print("smoke run: tiny sizes, the figures mean nothing")
        asyncio.run(run(cases, rounds=1, batch=BATCH // SMOKE_SCALE, samples=["indigotrust_IndigoTrust_360giving.csv"]))
    else:
        asyncio.run(run(cases, rounds=ROUNDS, batch=BATCH, samples=samples))


if __name__ == "__main__":
    main()
