"""Shared fixtures: the database every test gets, on SQLite (default) or PostgreSQL.

`SVBOT_TEST_DATABASE_URL=postgresql+asyncpg://user:pass@127.0.0.1:port/db` runs the suite on that
server: the database in the URL is used only to create and drop others. One template database is
migrated per session, and each test gets its own copy (`CREATE DATABASE ... TEMPLATE ...`, a few
milliseconds), dropped after the test. Without it, each test gets a copy of a migrated SQLite file.
`.ci/run` runs the suite both ways.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import shutil
import threading
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, TypeVar

import pytest
from sqlalchemy import inspect, make_url, text
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.pool import NullPool

from svbot.config import to_async_url
from svbot.db import make_engine, make_sessionmaker, upgrade
from tests.scenario import Clock, ScenarioBot, make_bot

T = TypeVar("T")

TEST_DATABASE_URL = to_async_url(os.environ.get("SVBOT_TEST_DATABASE_URL", "").strip())
ON_POSTGRES = TEST_DATABASE_URL.startswith("postgresql")
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
_names = itertools.count(1)
# Rich styles the console channel's output when these say "a terminal", even into a StringIO or a pipe:
# tests read plain text unless they set one themselves (tests/test_console_rendering.py).
for _forcing in ("FORCE_COLOR", "TTY_COMPATIBLE"):
    os.environ.pop(_forcing, None)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "postgres: needs a PostgreSQL server (SVBOT_TEST_DATABASE_URL)")
    config.addinivalue_line(
        "markers", "one_database: nothing in it differs by database; the PostgreSQL pass leaves it to SQLite's"
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # A test that takes pg_url needs a server: the marker lets `-m "not postgres"` leave it out.
    for item in items:
        if "pg_url" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.postgres)
    # CI runs the suite on SQLite and again on PostgreSQL: what a terminal, a browser, a wheel or an HTTP
    # server's limits do is the same on both, so the second pass skips it (and keeps CI under 30 minutes).
    if ON_POSTGRES:
        for item in items:
            if item.get_closest_marker("one_database"):
                item.add_marker(pytest.mark.skip(reason="nothing here differs by database: the SQLite pass runs it"))


def pytest_report_header(config: pytest.Config) -> str:
    where = make_url(TEST_DATABASE_URL).render_as_string(hide_password=True) if ON_POSTGRES else "SQLite files"
    return f"svbot test database: {where}"


# -- the database a test gets -----------------------------------------------------------------------


@pytest.fixture(scope="session")
def _template(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A migrated database to copy: migrating takes far longer than copying."""
    if ON_POSTGRES:
        name = f"svbot_template_{os.getpid()}"
        _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)', f'CREATE DATABASE "{name}"')
        upgrade(database_url(name))  # alembic's engine is disposed when it returns: no one is left connected
        yield name
        _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    else:
        path = tmp_path_factory.mktemp("template") / "svbot.db"
        upgrade(f"sqlite+aiosqlite:///{path}")
        yield str(path)


@pytest.fixture
def db_url(_template: str, tmp_path: Path) -> Iterator[str]:
    """The database for one test, migrated to the latest revision and otherwise empty.

    Tests that need a database take this fixture rather than building their own URL, so the whole
    suite runs against PostgreSQL as well. Subprocesses get it as DATABASE_URL.
    """
    if ON_POSTGRES:
        name = f"svbot_test_{os.getpid()}_{next(_names)}"
        _admin(f'CREATE DATABASE "{name}" TEMPLATE "{_template}"')
        yield database_url(name)
        _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    else:
        target = tmp_path / "svbot.db"
        shutil.copyfile(_template, target)
        yield f"sqlite+aiosqlite:///{target}"


@pytest.fixture
def empty_db_url(tmp_path: Path) -> Iterator[str]:
    """A database with no tables at all, for tests of the migrations themselves."""
    if ON_POSTGRES:
        name = f"svbot_empty_{os.getpid()}_{next(_names)}"
        _admin(f'CREATE DATABASE "{name}"')
        yield database_url(name)
        _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    else:
        yield f"sqlite+aiosqlite:///{tmp_path / 'empty.db'}"


@pytest.fixture
def pg_url(db_url: str) -> str:
    """A fresh PostgreSQL database, for what only a server can show (several processes, restarts).

    Skipped where no server is configured, but never in CI: there it fails, so a broken set-up
    cannot pass as "skipped".
    """
    require_postgres()
    return db_url


def require_postgres() -> None:
    if ON_POSTGRES:
        return
    reason = "needs PostgreSQL: set SVBOT_TEST_DATABASE_URL=postgresql+asyncpg://..."
    if IN_CI:
        pytest.fail(f"{reason} (CI must not skip it; .ci/run runs these in its PostgreSQL pass)")
    pytest.skip(reason)


def database_url(name: str) -> str:
    """The configured server's URL with another database name."""
    return make_url(TEST_DATABASE_URL).set(database=name).render_as_string(hide_password=False)


# -- reading and writing a test database directly ------------------------------------------------------


def run_sql(url: str, sql: str, params: dict[str, Any] | Sequence[dict[str, Any]] | None = None) -> list[Row]:
    """Run one statement on `url` and commit; returns the rows (if any). Works inside or outside a loop."""

    async def work() -> list[Row]:
        engine = create_async_engine(to_async_url(url), poolclass=NullPool)
        try:
            async with engine.begin() as connection:
                result = await connection.execute(text(sql), params)
                return list(result.all()) if result.returns_rows else []
        finally:
            await engine.dispose()

    return run_async_in_thread(work)


def table_names(url: str) -> set[str]:
    """The tables in a database, on either kind of database."""

    async def work() -> set[str]:
        engine = create_async_engine(to_async_url(url), poolclass=NullPool)
        try:
            async with engine.connect() as connection:
                return set(await connection.run_sync(lambda sync: inspect(sync).get_table_names()))
        finally:
            await engine.dispose()

    return run_async_in_thread(work)


def run_async_in_thread(work: Callable[[], Awaitable[T]]) -> T:
    """Run a coroutine to the end in a thread of its own (so a running test loop is no obstacle)."""
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["value"] = asyncio.run(work())  # type: ignore[arg-type]
        except BaseException as exc:  # handed back to the caller's thread
            box["error"] = exc

    thread = threading.Thread(target=target, name="svbot-test-sql")
    thread.start()
    thread.join()
    if "error" in box:
        raise box["error"]
    return box["value"]


def _admin(*statements: str) -> None:
    """CREATE / DROP DATABASE on the configured server (outside a transaction, as they must be)."""

    async def work() -> None:
        import asyncpg

        url = make_url(TEST_DATABASE_URL)
        connection = await asyncpg.connect(
            host=url.host, port=url.port or 5432, user=url.username, password=url.password, database=url.database
        )
        try:
            for statement in statements:
                await connection.execute(statement)
        finally:
            await connection.close()

    run_async_in_thread(work)


# -- scenario bots -----------------------------------------------------------------------------------


@pytest.fixture
async def db(db_url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    """A session maker on this test's database (already migrated)."""
    engine = make_engine(db_url)
    yield make_sessionmaker(engine)
    await engine.dispose()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def bot(db_url: str, clock: Clock) -> AsyncIterator[ScenarioBot]:
    """A scenario bot on the test dialogues (every answer type), on a fresh database."""
    real = await make_bot(db_url, clock=clock, start_dialogue="every_type")
    yield ScenarioBot(real)
    await real.db_engine.dispose()  # type: ignore[attr-defined]
