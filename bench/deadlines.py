"""Benchmark: reminder planning on a large SQLite database, and 360Giving import speed.

Builds 100,000 grants with 400,000 deadlines (25,000 organisations, one chat identity each), then
times one planning pass with 1,000 reminders due (target < 200 ms) and one with none (< 20 ms).
The planner reads deadlines through the index on `next_reminder_at`, so its cost follows the number
of due reminders, not of grants. Then it imports the 4,116-grant spreadsheet sample and prints
grants per second.

Run: python3 bench/deadlines.py [--grants 100000]
"""

from __future__ import annotations

import argparse
import asyncio
import sqlite3
import statistics
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from svbot.db import make_engine, make_sessionmaker, upgrade_async
from svbot.deadlines.importer import import_grants
from svbot.deadlines.planner import plan_reminders
from svbot.deadlines.schedules import ReminderRules, reminder_times

SAMPLES = Path(__file__).resolve().parent.parent / "tests" / "data" / "360giving" / "samples"
LONDON = ZoneInfo("Europe/London")
NOW = datetime(2027, 1, 15, 9, 0, tzinfo=LONDON).astimezone(UTC)
DUE_NOW = date(2027, 1, 29)  # its 14-days-before reminder is exactly NOW
GRANTS_PER_ORG = 4
DEADLINES_PER_GRANT = 4


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
            n = 0
            for g in range(1, grants + 1):
                org = (g - 1) // GRANTS_PER_ORG + 1
                for k in range(DEADLINES_PER_GRANT):
                    n += 1
                    # One deadline in 400 (the first of a grant) falls due now; the rest spread over two years.
                    if k == 0 and g % (grants // due) == 0:
                        day = DUE_NOW
                    else:
                        day = date(2027, 2, 1) + timedelta(days=(g * 7 + k * 91) % 730)
                    yield (
                        g,
                        org,
                        f"k{k}",
                        "Quarterly monitoring report",
                        day.isoformat(),
                        cursor_for(day),
                        stamp,
                        stamp,
                    )

        conn.executemany(
            "INSERT INTO deadlines (grant_id, organisation_id, key, title, due_date, status, next_reminder_at,"
            " next_offset_index, created_at, updated_at) VALUES (?, ?, ?, ?, ?, 'upcoming', ?, 0, ?, ?)",
            deadlines(),
        )
    conn.execute("ANALYZE")
    conn.close()


async def planning(grants: int, due: int) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "bench.db"
        url = f"sqlite+aiosqlite:///{path}"
        await upgrade_async(url)
        started = time.perf_counter()
        build(path, grants, due)
        with sqlite3.connect(path) as conn:
            counts = [
                conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in ("grants", "deadlines")
            ]
        print(f"built {counts[0]:,} grants, {counts[1]:,} deadlines in {time.perf_counter() - started:.1f} s")

        engine = make_engine(url)
        sessionmaker = make_sessionmaker(engine)
        await plan_reminders(
            sessionmaker, NOW - timedelta(days=1)
        )  # warm up: connection, caches, nothing due
        busy = []
        for run in range(5):  # reset the due cursors and the outbox between runs; report the median
            if run:
                with sqlite3.connect(path) as conn:
                    conn.execute("DELETE FROM outbox")
                    conn.execute(
                        "UPDATE deadlines SET next_offset_index = 0, next_reminder_at = ? WHERE due_date = ?",
                        (
                            reminder_times(DUE_NOW, ReminderRules())[0].strftime("%Y-%m-%d %H:%M:%S.%f"),
                            DUE_NOW.isoformat(),
                        ),
                    )
            started = time.perf_counter()
            result = await plan_reminders(sessionmaker, NOW)
            busy.append((time.perf_counter() - started) * 1000)
            assert result.queued == due, result
        print(
            f"planning pass, {due:,} reminders due: median {statistics.median(busy):.1f} ms, "
            f"best {min(busy):.1f} ms (target < 200 ms)"
        )
        idle = []
        for _ in range(20):
            started = time.perf_counter()
            again = await plan_reminders(sessionmaker, NOW)
            idle.append((time.perf_counter() - started) * 1000)
            assert again.queued == 0
        print(f"planning pass, nothing due: median {statistics.median(idle):.2f} ms (target < 20 ms)")
        await engine.dispose()


async def importing() -> None:
    for sample in (
        "lloydsbankfoundation_360_giving_LBFEW_2010_2015.xlsx",
        "powertochange_a002400000nO46WAAS.json",
    ):
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--grants", type=int, default=100_000)
    parser.add_argument("--due", type=int, default=1_000)
    args = parser.parse_args()
    asyncio.run(planning(args.grants, args.due))
    asyncio.run(importing())


if __name__ == "__main__":
    main()
