from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.scenario import Clock, ScenarioBot, make_bot


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def bot(tmp_path: Path, clock: Clock) -> AsyncIterator[ScenarioBot]:
    """A scenario bot on the test dialogues (every answer type), on a fresh SQLite file."""
    real = await make_bot(tmp_path / "svbot.db", clock=clock, start_dialogue="every_type")
    yield ScenarioBot(real)
    await real.db_engine.dispose()  # type: ignore[attr-defined]
