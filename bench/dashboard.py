"""Benchmark: the staff dashboard's overview and a members search, with 5,000 member organisations
and 20,000 deadlines (four reports each, one in ten overdue), over HTTP through the web app `svbot
serve` builds (sign-in cookie, queries, template), on the SQLite default and, when a server is given,
on PostgreSQL. Target: each page's median under 150 ms on SQLite. Prints the median and p95 of each.

Run: python3 bench/dashboard.py [--members 5000 --runs 50]
     python3 bench/dashboard.py --smoke   (200 members, 5 runs: is the bench sound?)
     SVBOT_BENCH_DATABASE_URL=postgresql+asyncpg://user:pass@host/db python3 bench/dashboard.py
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from datetime import UTC, date, datetime
from pathlib import Path

import httpx
from sqlalchemy import insert, select

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.workers import _drop, _fresh_database  # noqa: E402
from svbot.app import open_app  # noqa: E402
from svbot.config import Settings  # noqa: E402
from svbot.dashboard import auth  # noqa: E402
from svbot.deadlines.models import UPCOMING, Deadline, Grant  # noqa: E402
from svbot.models import Membership, Organisation, Person  # noqa: E402
from tests.scenario import Clock  # noqa: E402

NOW = datetime(2027, 3, 10, 10, 0, tzinfo=UTC)
TARGET_MS = 150.0
SMOKE = (200, 5)
PAGES = {
    "overview": "/dashboard/",
    "members search": "/dashboard/members?q=group+12&show=overdue",
    "members, page 40": "/dashboard/members?page=40",
}


async def measure(url: str, members: int, runs: int) -> dict[str, list[float]]:
    settings = Settings(DATABASE_URL=url, SVBOT_PUBLIC_URL="http://bench", SVBOT_SECRET_KEY="bench-" + "k" * 40)
    async with open_app(settings, migrate=True, clock=Clock(NOW)) as app:
        link = await seed(app, members)
        transport = httpx.ASGITransport(app=app.web_app())
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as http:
            assert (await http.post(link.removeprefix("http://bench"))).status_code == 303
            times: dict[str, list[float]] = {}
            for name, path in PAGES.items():
                assert (await http.get(path)).status_code == 200  # warm: the first read fills caches
                taken = []
                for _ in range(runs):
                    started = time.perf_counter()
                    response = await http.get(path)
                    taken.append((time.perf_counter() - started) * 1000)
                    assert response.status_code == 200
                times[name] = taken
            return times


async def seed(app, members: int) -> str:  # type: ignore[no-untyped-def]
    """`members` organisations, each with a grant and four quarterly reports; a signed-in staff member."""
    async with app.bot.sessionmaker() as session, session.begin():
        support = Organisation(name="Bench CVS", kind="support")
        session.add(support)
        await session.flush()
        await session.execute(insert(Organisation), [
            {"name": f"Community Group {n:05d}", "kind": "member", "support_org_id": support.id} for n in range(members)
        ])  # fmt: skip
        ids = list(await session.scalars(select(Organisation.id).where(Organisation.support_org_id == support.id)))
        await session.execute(insert(Grant), [
            {"external_id": f"bench-{i}", "organisation_id": i, "support_org_id": support.id, "title": "Grant",
             "programme": "Warm Homes" if i % 3 else "Food"} for i in ids
        ])  # fmt: skip
        grants = dict((await session.execute(select(Grant.organisation_id, Grant.id))).all())
        await session.execute(insert(Deadline), [
            {"grant_id": grants[i], "organisation_id": i, "key": f"q{q}", "title": f"Quarterly report ({q} of 4)",
             "due_date": date(2027, 2, 1) if (i + q) % 10 == 0 else date(2027, 3 + 3 * q, 28), "status": UPCOMING}
            for i in ids for q in range(4)
        ])  # fmt: skip
        staff = Person(display_name="Bench Staff")
        session.add(staff)
        await session.flush()
        session.add(Membership(person_id=staff.id, organisation_id=support.id, role="support_admin"))
        await session.flush()
        return await auth.make_link(session, app.settings, support.id, staff.id, NOW)


def report(engine: str, times: dict[str, list[float]], check: bool) -> None:
    for name, taken in times.items():
        ordered = sorted(taken)
        median = statistics.median(ordered)
        p95 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))]
        verdict = ("ok" if median < TARGET_MS else "OVER TARGET") if check else "no target"
        print(f"{engine:<10} {name:<18} median {median:7.1f} ms   p95 {p95:7.1f} ms   ({verdict})")


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--members", type=int, default=5000)
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--smoke", action="store_true")
    args = parser.parse_args()
    members, runs = SMOKE if args.smoke else (args.members, args.runs)
    print(f"{members:,} member organisations, {4 * members:,} deadlines, {runs} requests per page; "
          f"target: median under {TARGET_MS:.0f} ms on SQLite")  # fmt: skip
    with tempfile.TemporaryDirectory() as folder:
        report("SQLite", await measure(f"sqlite:///{folder}/bench.db", members, runs), check=True)
    server = os.environ.get("SVBOT_BENCH_DATABASE_URL")
    if server:
        url = await _fresh_database(server)
        try:
            report("PostgreSQL", await measure(url, members, runs), check=False)
        finally:
            await _drop(server, url.rsplit("/", 1)[1])
    else:
        print("PostgreSQL: not measured (set SVBOT_BENCH_DATABASE_URL to a server)")


if __name__ == "__main__":
    asyncio.run(main())
