"""Benchmark: the dashboard's deadlines board and members CSV with 5,000 member organisations and 20,000
deadlines (the same data as bench/dashboard.py, whose measuring it reuses): the board's first page, a
deep page, from a month, by programme, one member, and the CSV. Target: median under 150 ms on SQLite.

Run: python3 bench/dashboard_deadlines.py [--members 5000 --runs 50 | --smoke]
     SVBOT_BENCH_DATABASE_URL=postgresql+asyncpg://user:pass@host/db python3 bench/dashboard_deadlines.py
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import dashboard  # noqa: E402

dashboard.PAGES = {
    "board": "/dashboard/deadlines",
    "board, page 150": "/dashboard/deadlines?page=150",
    "board, from June": "/dashboard/deadlines?from=2027-06",
    "board, programme": "/dashboard/deadlines?programme=Food&page=20",
    "board, one member": "/dashboard/deadlines?org=101",
    "members.csv": "/dashboard/members.csv",
}

if __name__ == "__main__":
    asyncio.run(dashboard.main())
