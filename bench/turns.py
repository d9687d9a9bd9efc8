"""Durable turns per second through the real engine and turn handler, on a SQLite file.

Each turn is one transaction: the inbound event's de-duplication key, the conversation state and
the changed answers, committed (WAL, synchronous=NORMAL: a commit survives the process being
killed). The bot is the one every svbot process runs (`svbot.app.open_app`), on its own database.

Run: python bench/turns.py [--conversations 10000] [--turns 6]
     python bench/turns.py --smoke   (a tiny size, in seconds: does the bench still run?)

Targets on a 2-core machine: at least 2,000 durable turns/s, p99 under 5 ms, RSS under 150 MB
with 10,000 stored conversations.
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from svbot.app import open_app  # noqa: E402
from svbot.config import Settings  # noqa: E402
from svbot.messages import Inbound  # noqa: E402
from svbot.turns import Bot  # noqa: E402

# The start of the real social value walk-through: a greeting, then typed answers.
SCRIPT = ["hello", "Hollybush Lunch Club", "A weekly lunch club for older people", "Hollingdean", "1", "1", "1, 2",
          "We cook lunch and chat"]  # fmt: skip
SMOKE = (100, 2)  # --smoke: conversations, measured turns each


async def main(conversations: int, turns: int) -> None:
    with tempfile.TemporaryDirectory() as folder:
        async with open_app(Settings(DATABASE_URL=f"sqlite:///{folder}/bench.db")) as app:
            await measure(app.bot, conversations, turns)


async def measure(bot: Bot, conversations: int, turns: int) -> None:
    event = 0

    async def turn(user: int, text: str) -> float:
        nonlocal event
        event += 1
        inbound = Inbound(platform="bench", user_id=f"u{user}", chat_id=f"u{user}", text=text, event_id=str(event))
        started = time.perf_counter()
        replies = await bot.handle(inbound)
        elapsed = time.perf_counter() - started
        assert replies, "every turn gets a reply"
        return elapsed

    # Fill the database: every conversation has started and answered its first questions.
    fill_start = time.perf_counter()
    for user in range(conversations):
        await turn(user, SCRIPT[0])
    fill = time.perf_counter() - fill_start

    latencies: list[float] = []
    measured_start = time.perf_counter()
    for step in range(1, min(turns, len(SCRIPT) - 1) + 1):
        for user in range(conversations):
            latencies.append(await turn(user, SCRIPT[step]))
    measured = time.perf_counter() - measured_start

    latencies.sort()
    p50 = statistics.median(latencies) * 1000
    p99 = latencies[int(len(latencies) * 0.99) - 1] * 1000
    p999 = latencies[int(len(latencies) * 0.999) - 1] * 1000
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"stored conversations: {conversations:,}")
    print(f"first turns (creating conversations): {conversations / fill:,.0f} turns/s")
    print(f"durable turns measured: {len(latencies):,} in {measured:.2f} s")
    print(f"turns per second: {len(latencies) / measured:,.0f}   (target >= 2,000)")
    print(f"latency per turn: p50 {p50:.2f} ms, p99 {p99:.2f} ms   (target p99 < 5 ms)")
    print(f"  slowest: p99.9 {p999:.2f} ms, max {latencies[-1] * 1000:.1f} ms (WAL checkpoints, GC)")
    print(f"peak RSS: {rss_mb:.0f} MB   (target < 150 MB)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--conversations", type=int, default=10_000)
    parser.add_argument("--turns", type=int, default=6, help="measured turns per conversation")
    parser.add_argument("--smoke", action="store_true", help=f"{SMOKE[0]} conversations, {SMOKE[1]} turns each")
    args = parser.parse_args()
    if args.smoke:
        args.conversations, args.turns = SMOKE
    asyncio.run(main(args.conversations, args.turns))
