"""The benches' own honesty checks (issue 23): PTB's durable baseline writes its pickle exactly once per
update, a lost or doubled message stops the Telegram bench, and the raw-SQLite limit runs svbot's own turn
statements on svbot's own schema. `.ci/run` runs every bench with --smoke; these pin what the figures mean."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest

from bench import telegram_turns, turns
from svbot.app import open_app
from svbot.config import Settings

pytestmark = pytest.mark.one_database  # see tests/conftest.py


async def _drive_ptb(tmp_path: Path, flush: bool, request: telegram_turns.MemoryRequest, chats: int = 3) -> int:
    async with telegram_turns.ptb_setup(tmp_path, request, flush=flush) as run:
        await run.application.initialize()
        try:
            await telegram_turns.drive(run, [10_000 + i for i in range(chats)])
            return run.application.persistence.writes  # type: ignore[union-attr]
        finally:
            await run.application.shutdown()  # flushes once more


async def test_ptb_flushed_once_per_update_writes_the_pickle_once_per_update(tmp_path: Path) -> None:
    assert await _drive_ptb(tmp_path, flush=True, request=telegram_turns.InstantRequest()) == 9


async def test_ptb_as_shipped_writes_the_pickle_on_each_update_call(tmp_path: Path) -> None:
    """Why (c) sets on_flush: without it, flushing after each update writes the file several times."""
    request = telegram_turns.MemoryRequest()
    async with telegram_turns.ptb_setup(tmp_path, request, flush=False) as run:
        application = run.application

        async def update_persistence(_: int) -> None:
            await application.update_persistence()

        run.after_update = update_persistence
        await application.initialize()
        await telegram_turns.drive(run, [10_000, 10_001])
        writes = application.persistence.writes  # type: ignore[union-attr]
        await application.shutdown()
    assert writes > 6


class _Doubling(telegram_turns.MemoryRequest):
    """Counts one chat's first message twice, as a sender that sent it twice would."""

    def _message(self, name: str, params: dict[str, Any]) -> dict:
        if int(params["chat_id"]) == 10_001 and not self.sent[10_001]:
            self.sent[10_001] += 1
        return super()._message(name, params)


async def test_a_doubled_message_stops_the_telegram_bench(tmp_path: Path) -> None:
    with pytest.raises(SystemExit, match="lost or doubled"):
        await _drive_ptb(tmp_path, flush=False, request=_Doubling())


async def test_raw_sqlite_runs_svbots_turn_statements_on_a_copy(tmp_path: Path) -> None:
    events = turns.Events()
    database = tmp_path / "svbot.db"
    async with open_app(Settings(DATABASE_URL=f"sqlite:///{database}")) as app:
        await turns.fill(app.bot, events, 2, 1)
        turns.copy_sqlite(str(database), tmp_path / "raw.db")
    raw = turns.RawTurns(tmp_path / "raw.db", events)
    key = "bench:u1:u1"
    before = raw.connection.execute("SELECT version, state FROM conversations WHERE key = ?", (key,)).fetchone()
    assert await raw.turn(1, "Hollybush Lunch Club") > 0
    after = raw.connection.execute("SELECT version, state FROM conversations WHERE key = ?", (key,)).fetchone()
    answers = raw.connection.execute("SELECT value FROM answers WHERE dialogue_id = 'bench'").fetchall()
    raw.connection.close()
    assert after == (before[0] + 1, before[1])
    assert answers == [('"Hollybush Lunch Club"',)]
    with sqlite3.connect(database) as original:  # the copy, not svbot's own file, took the raw turn
        assert original.execute("SELECT count(*) FROM answers WHERE dialogue_id = 'bench'").fetchone() == (0,)
