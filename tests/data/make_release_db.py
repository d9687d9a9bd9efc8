"""Build a small SQLite database the way a released svbot makes one: through its own app, turn by turn.

    git -C /work/main worktree add /tmp/release-368f2c2 368f2c2
    python tests/data/make_release_db.py --checkout /tmp/release-368f2c2 tests/data/release-368f2c2.sqlite
    git -C /work/main worktree remove /tmp/release-368f2c2

`--checkout` is the svbot source tree to run, from a git worktree of any commit: the script uses only
the app's long-standing interfaces (`svbot.app.create_bot`, `svbot.messages.Inbound`, the `svbot
grants add` command). It is put first on sys.path, and the script stops if `import svbot` resolves
anywhere else. Its shipped dialogues and knowledge are used. The answers below are keyed to the
walk-through of 368f2c2: another commit may ask other questions (unknown ones are skipped, and the
script stops, saying where, if a walk-through never finishes). The database holds:

- "Hollybush Lunch Club" (organisation 1), made by "ann", who finished the social value walk-through
  against "Building social capital" with two objectives (more_volunteering, less_isolation):
  people reached 140 and 90, volunteers 12 and 12, volunteer hours 1,728 and 600, local spend
  £2,400 and £1,200, partners 3 and 5, an own £ value of £15,000 with its source (first objective
  only), groups who benefit, equality groups, evidence, a story, and a commitment with a measure and
  a date for each. Its statement is stored and its answers are in the evidence bank.
- "bea" of "Whitehawk Befrienders", half-way through: the first objective (health_wellbeing, PPN
  06/20) answered in full, the second (community_integration) up to its numbers: the conversation
  waits at per_objective.community_integration.people_reached. No organisation yet (one is made
  when a walk-through finishes).
- one grant for organisation 1, with quarterly monitoring deadlines (`svbot grants add`).

The turns run on a fixed clock (ann in October 2026, bea on 20 October 2026), so the file is the
same each time, bar the timestamps svbot takes from the real clock (the evidence bank's updated_at,
created_at columns).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

LUNCH_CLUB = {
    "org.name": "Hollybush Lunch Club",
    "org.what": "A weekly lunch club for older people in Hollingdean",
    "org.where": "Hollingdean, Brighton (BN1)",
    "org.size": "2",  # £10,000 to £100,000
    "framework": "building social capital",
    "objectives": "1, 2",  # more_volunteering, less_isolation
    # more_volunteering
    "per_objective.more_volunteering.activity": "Members and neighbours from the estate cook and serve the lunch",
    "per_objective.more_volunteering.beneficiaries": "1, 13",  # older people, the whole local community
    "per_objective.more_volunteering.equality": "1, 11",  # age, carers
    "per_objective.more_volunteering.people_reached": "140",
    "per_objective.more_volunteering.sessions": "48",
    "per_objective.more_volunteering.volunteers": "12",
    "per_objective.more_volunteering.volunteer_hours": "1,728",
    "per_objective.more_volunteering.local_spend": "£2,400",
    "per_objective.more_volunteering.partners": "3",
    "per_objective.more_volunteering.own_value": "£15,000",
    "per_objective.more_volunteering.own_value_source": "Our 2026 evaluation by Sussex Community Research, page 12",
    "per_objective.more_volunteering.change": "Volunteers say they feel useful again and have learnt to cook for 40",
    "per_objective.more_volunteering.evidence_kinds": "1, 2",  # attendance records, survey
    "per_objective.more_volunteering.evidence_detail": (
        "Our volunteer rota shows 12 regulars; 10 of 12 said so in our survey"
    ),
    "per_objective.more_volunteering.story": '"I came for lunch and now I run the kitchen." (volunteer, 71)',
    "per_objective.more_volunteering.commitment": "Recruit 4 new volunteers from the estate",
    "per_objective.more_volunteering.commitment_measure": "Volunteer register",
    "per_objective.more_volunteering.commitment_date": "31/03/2028",
    # less_isolation
    "per_objective.less_isolation.activity": "A hot lunch every Tuesday where older neighbours eat together and chat",
    "per_objective.less_isolation.beneficiaries": "1, 9",  # older people, people who are lonely or isolated
    "per_objective.less_isolation.equality": "1, 2",  # age, disability
    "per_objective.less_isolation.people_reached": "90",
    "per_objective.less_isolation.sessions": "skip",
    "per_objective.less_isolation.volunteers": "12",
    "per_objective.less_isolation.volunteer_hours": "600",
    "per_objective.less_isolation.local_spend": "£1,200",
    "per_objective.less_isolation.partners": "5",
    "per_objective.less_isolation.own_value": "skip",
    "per_objective.less_isolation.change": "Members tell us they feel less lonely and have made new friends",
    "per_objective.less_isolation.evidence_kinds": "2, 4",  # survey, quote
    "per_objective.less_isolation.evidence_detail": "In our March survey, 28 of 35 members said they feel less lonely",
    "per_objective.less_isolation.story": '"Before the club I could go a week without talking to anyone." (member, 82)',
    "per_objective.less_isolation.commitment": "Phone every member who misses two lunches in a row",
    "per_objective.less_isolation.commitment_measure": "Our call log",
    "per_objective.less_isolation.commitment_date": "31/12/2027",
    "word_limit": "skip",
}

BEFRIENDERS = {
    "org.name": "Whitehawk Befrienders",
    "org.what": "Weekly phone calls for older people who live alone",
    "org.where": "Whitehawk, Brighton",
    "org.size": "1",  # under £10,000
    "framework": "PPN 06/20",
    "objectives": "7, 8",  # health_wellbeing, community_integration
    "per_objective.health_wellbeing.activity": "Volunteers phone 44 older people every week for a chat",
    "per_objective.health_wellbeing.beneficiaries": "1, 9",
    "per_objective.health_wellbeing.equality": "1, 2",
    "per_objective.health_wellbeing.people_reached": "44",
    "per_objective.health_wellbeing.sessions": "skip",
    "per_objective.health_wellbeing.volunteers": "9",
    "per_objective.health_wellbeing.volunteer_hours": "702",
    "per_objective.health_wellbeing.local_spend": "skip",
    "per_objective.health_wellbeing.partners": "2",
    "per_objective.health_wellbeing.own_value": "skip",
    "per_objective.health_wellbeing.change": "People tell us the calls lift their week and they feel less alone",
    "per_objective.health_wellbeing.evidence_kinds": "4",  # quote
    "per_objective.health_wellbeing.evidence_detail": "Thank-you cards and what people say on the calls",
    "per_objective.health_wellbeing.story": "skip",
    "per_objective.health_wellbeing.commitment": "Call 60 people a week",
    "per_objective.health_wellbeing.commitment_measure": "Our call log",
    "per_objective.health_wellbeing.commitment_date": "30/06/2027",
    "per_objective.community_integration.activity": "We introduce the people we call to lunch clubs and groups nearby",
    "per_objective.community_integration.beneficiaries": "9, 13",
    "per_objective.community_integration.equality": "skip",
}
BEFRIENDERS_STOP_AT = "per_objective.community_integration.people_reached"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--checkout", type=Path, required=True, help="the svbot source tree to run")
    parser.add_argument("out", type=Path, help="the SQLite file to write (replaced)")
    options = parser.parse_args()
    checkout = options.checkout.resolve()
    sys.path.insert(0, str(checkout))
    import svbot

    where = Path(svbot.__file__).resolve()
    if checkout not in where.parents:
        sys.exit(f"import svbot found {where}, not the checkout {checkout}")
    print(f"svbot from {where}")
    out = options.out.resolve()
    for path in (out, out.with_name(out.name + "-wal"), out.with_name(out.name + "-shm")):
        path.unlink(missing_ok=True)
    asyncio.run(build(out))
    add_grant(checkout, out)
    compact(out)
    print(f"wrote {out} ({out.stat().st_size:,} bytes)")


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


async def build(out: Path) -> None:
    from svbot.app import create_bot
    from svbot.config import Settings

    clock = Clock(datetime(2026, 10, 5, 10, 0, tzinfo=UTC))
    settings = Settings(DATABASE_URL=f"sqlite+aiosqlite:///{out}", SVBOT_IDLE_MINUTES=24 * 60)
    bot = await create_bot(settings, migrate=True, clock=clock)
    try:
        await walk(bot, clock, "ann", LUNCH_CLUB)
        clock.now = datetime(2026, 10, 20, 18, 30, tzinfo=UTC)
        await walk(bot, clock, "bea", BEFRIENDERS, stop_at=BEFRIENDERS_STOP_AT)
    finally:
        await bot.db_engine.dispose()


async def walk(bot: Any, clock: Clock, user: str, answers: dict[str, str], stop_at: str | None = None) -> None:
    """Answer each question by its answer key (anything not listed is skipped), as a person would type."""
    from svbot.messages import Inbound

    async def say(text: str) -> list[Any]:
        clock.now += timedelta(seconds=40)
        inbound = Inbound(platform="console", user_id=user, chat_id=user, text=text, user_name=user)
        replies = await bot.handle(inbound)
        assert replies, f"svbot said nothing to {text!r}"
        return replies

    replies = await say("hello")
    for _ in range(300):
        said = "\n".join(m.text for m in replies)
        if "draft evidence statement" in said:
            print(f"{user}: finished, statement made")
            return
        message = replies[-1]
        key = message.meta.get("key")
        if key is not None and key == stop_at and not message.meta.get("confirm"):
            print(f"{user}: stopped at {key}")
            return
        if key is None or message.meta.get("confirm"):  # "just to check", "still right?", the review
            replies = await say("ok" if "Is this right?" in message.text else "yes")
            continue
        value = answers.get(key, "skip")
        replies = await say(value)
    raise SystemExit(f"{user}: the walk-through never finished; last said: {replies[-1].text}")


def add_grant(checkout: Path, out: Path) -> None:
    """One grant for organisation 1, through the checkout's own command."""
    env = {**os.environ, "PYTHONPATH": str(checkout), "DATABASE_URL": f"sqlite:///{out}"}
    command = [sys.executable, "-m", "svbot", "grants", "add", "--org", "1", "--title", "Lunch club grant",
               "--start", "01/04/2026", "--end", "31/03/2027", "--amount", "5000",
               "--funder", "Brighton Community Fund", "--schedule", "quarterly"]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, env=env, cwd=out.parent, timeout=120)
    if done.returncode != 0:
        raise SystemExit(f"svbot grants add failed: {done.stderr}")
    print(done.stdout.strip())


def compact(out: Path) -> None:
    """One self-contained file: the write-ahead log folded in and switched off, free pages dropped."""
    import sqlite3

    db = sqlite3.connect(out)
    try:
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        db.execute("PRAGMA journal_mode=DELETE")
        db.execute("VACUUM")
    finally:
        db.close()


if __name__ == "__main__":
    main()
