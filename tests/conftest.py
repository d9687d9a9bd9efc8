from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.scenario import Clock, ScenarioBot, make_bot


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    """The database for one test: an empty (not yet migrated) SQLite file in tmp_path.

    Tests that need a database take this fixture rather than building their own URL, so the
    whole suite can also be run against PostgreSQL.
    """
    return f"sqlite+aiosqlite:///{tmp_path / 'svbot.db'}"


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def bot(db_url: str, clock: Clock) -> AsyncIterator[ScenarioBot]:
    """A scenario bot on the test dialogues (every answer type), on a fresh database."""
    real = await make_bot(db_url, clock=clock, start_dialogue="every_type")
    yield ScenarioBot(real)
    await real.db_engine.dispose()  # type: ignore[attr-defined]
