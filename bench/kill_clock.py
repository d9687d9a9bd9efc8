"""The clock killed with SIGKILL again and again while it sends: how many reminders arrive twice, and
that none is lost (issue 21, item 10; the figure in docs/deploy.md, "Sending at least once").

N due reminders are written into a fresh SQLite database; a real `svbot clock` is started, killed at
a random moment while it sends (K times, each clock a new process), and at the end one
`svbot reminders run` after the dead clocks' claims have expired sends what they held. The fake
Telegram Bot API in this process counts every message it accepted. Losses make it exit 1.

    python bench/kill_clock.py                      # 25 kills, 3,000 reminders (several minutes)
    python bench/kill_clock.py --kills 5 --reminders 600
    python bench/kill_clock.py --smoke              # 2 kills, 300 reminders (CI)

Exit 1 when a reminder is lost, or more arrived twice than there were kills (the clock sends one at a
time, so a kill can catch at most one message between the platform's answer and the mark).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from svbot.db import upgrade_async  # noqa: E402
from tests.fakes.telegram_api import FakeTelegram  # noqa: E402
from tests.reliability.support import kill_clock_while_sending, seed_due_reminders, svbot_env  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kills", type=int, default=25)
    parser.add_argument("--reminders", type=int, default=3000)
    parser.add_argument("--seed", type=int, default=21, help="where the kills fall (random, repeatable)")
    parser.add_argument("--smoke", action="store_true", help="2 kills, 300 reminders")
    args = parser.parse_args()
    if args.smoke:
        args.kills, args.reminders = 2, 300
    sys.exit(asyncio.run(run(args.kills, args.reminders, args.seed)))


async def run(kills: int, reminders: int, seed: int) -> int:
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite+aiosqlite:///{folder}/bench.db"
        await upgrade_async(url)
        seeded = await seed_due_reminders(url, reminders)
        fake = await FakeTelegram().start()
        try:
            env = svbot_env(url, TELEGRAM_BOT_TOKEN=fake.token, TELEGRAM_API_URL=fake.base_url)

            def sent() -> list[int]:
                return [c.chat_id for c in fake.calls_to("sendMessage") if c.status == 200 and c.chat_id is not None]

            found = await kill_clock_while_sending(url, env, sent, seeded, Path(folder), kills, seed)
        finally:
            await fake.stop()
    print(f"{found.reminders} reminders, clock killed {found.kills} times: {found.delivered} messages, "
          f"{found.duplicates} sent twice ({found.per_kill:.0%} of kills), {found.lost} lost, "
          f"{found.seconds:.0f} s")  # fmt: skip
    return 1 if found.lost or found.duplicates > found.kills else 0


if __name__ == "__main__":
    main()
