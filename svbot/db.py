"""Database engine, sessions and migrations.

SQLite (the embedded default) runs in WAL mode with `synchronous=NORMAL`: a commit survives the
process being killed. A transaction takes the write lock before it reads (BEGIN IMMEDIATE), so two
processes sharing the file take turns instead of failing half-way; waiting for the lock never blocks
the event loop, and work declared read-only (`read_only`) does not wait for it at all (see
`svbot.sqlite_inloop`). PostgreSQL is the production database.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import event, make_url
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.pool import AsyncAdaptedQueuePool

from svbot import sqlite_inloop
from svbot.config import to_async_url

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
READ_ONLY = "svbot_read_only"  # the execution option `read_only` sets
LOCK_TIMEOUT = 30.0  # seconds a SQLite transaction waits for another process's write lock, then fails
POOL_RECYCLE = 1800  # seconds: a PostgreSQL connection older than this is replaced at checkout


def cut_connection(error: BaseException) -> bool:
    """Whether this error is a database connection found cut (SQLAlchemy has already dropped it)."""
    return isinstance(error, DBAPIError) and error.connection_invalidated


def database_away(error: BaseException) -> bool:
    """Whether this error says the database is away for now (cut, refused, shutting down or starting
    up), so the same work may succeed if tried again in a moment."""
    if isinstance(error, OSError | OperationalError | InterfaceError) or cut_connection(error):
        return True
    # PostgreSQL's classes 08 (connection exception) and 57 (operator intervention: "shutting down",
    # "the database system is starting up"), which asyncpg's errors carry and SQLAlchemy wraps plainly.
    sqlstate = getattr(getattr(error, "orig", None), "sqlstate", None) or ""
    return isinstance(error, DBAPIError) and sqlstate[:2] in ("08", "57")


def make_engine(url: str, **kwargs: object) -> AsyncEngine:
    url = to_async_url(url)
    if url.startswith("sqlite"):
        # Connections used on the event loop's thread (see sqlite_inloop for why and how). One at a time
        # is the rule (last in, first out: its page cache stays warm); more open only for sessions at the
        # same time, so a read need not wait for a turn that waits for another process's write lock. Each
        # in-memory connection would be a database of its own: there, exactly one.
        database = make_url(url).database or ":memory:"
        in_memory = database == ":memory:"
        engine = create_async_engine(
            url,
            async_creator=sqlite_inloop.creator(database, timeout=LOCK_TIMEOUT),
            poolclass=AsyncAdaptedQueuePool,
            pool_size=1 if in_memory else 4,
            max_overflow=0 if in_memory else 60,
            pool_use_lifo=True,
            pool_timeout=60,
            **kwargs,
        )
        _tune_sqlite(engine)
        return engine
    # No `pool_pre_ping`: it cost every checkout a round trip (a third of a turn's, measured). Instead,
    # connections are replaced before a server or proxy is likely to have dropped them for idling, and
    # a connection found cut (a restart) makes SQLAlchemy replace it and every pooled one as old; the
    # turn it broke is tried once more (`svbot.turns.Bot.handle`), other work fails once and is retried
    # by its own loop (the clock) or its caller (a page, a health check).
    options: dict[str, Any] = {"pool_recycle": POOL_RECYCLE, **kwargs}
    return create_async_engine(url, **options)


def _tune_sqlite(engine: AsyncEngine) -> None:
    sync_engine = engine.sync_engine

    @event.listens_for(sync_engine, "connect")
    def _on_connect(dbapi_conn, _record) -> None:  # type: ignore[no-untyped-def]
        # Let us issue BEGIN ourselves (pysqlite's own transaction handling defers it).
        dbapi_conn.isolation_level = None
        cursor = dbapi_conn.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=0")  # waiting for a lock happens in sqlite_inloop, with asyncio
        # Checkpoints (copying the WAL into the database, with an fsync) stall the turn that
        # triggers them: the default every 1,000 pages made every 1 in 100 turns wait ~4 ms. Every
        # 10,000 pages (40 MB) is ten times rarer; `svbot clock` also checkpoints in the background.
        cursor.execute("PRAGMA wal_autocheckpoint=10000")
        cursor.close()

    @event.listens_for(sync_engine, "begin")
    def _on_begin(conn) -> None:  # type: ignore[no-untyped-def]
        options = conn.get_execution_options()
        if options.get("isolation_level") != "AUTOCOMMIT":
            # BEGIN IMMEDIATE, or DEFERRED for read-only work, goes just before the first statement that
            # needs it, and may wait for another process's write lock there, asynchronously.
            conn.connection.driver_connection.begin_later(read_only=bool(options.get(READ_ONLY)))


def read_only(engine: AsyncEngine) -> AsyncEngine:
    """The same database (and pool) for work that only reads: `read_only(engine).connect()`, or
    `async_sessionmaker(read_only(engine))`.

    On SQLite its transactions are deferred: they read a snapshot and never wait for another process's
    write lock, and a write in one fails at once ("attempt to write a readonly database") rather than,
    some of the time, on a snapshot gone stale. Work that might write belongs in an ordinary transaction,
    which takes the write lock before it reads. On PostgreSQL it changes nothing.
    """
    return engine.execution_options(**{READ_ONLY: True})


async def checkpoint(engine: AsyncEngine) -> None:
    """Copy SQLite's write-ahead log into the database without blocking writers (PASSIVE), so turns
    rarely have to. Nothing to do on PostgreSQL."""
    if engine.dialect.name == "sqlite":
        async with engine.connect() as connection:
            # Outside any transaction: SQLite refuses to checkpoint inside one.
            autocommit = await connection.execution_options(isolation_level="AUTOCOMMIT")
            await autocommit.exec_driver_sql("PRAGMA wal_checkpoint(PASSIVE)")


def insert_for(dialect: Dialect) -> Callable[..., Any]:
    """The INSERT with ON CONFLICT for this database: both speak it, through their own dialect's insert()."""
    return postgresql.insert if dialect.name == "postgresql" else sqlite.insert


def make_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)


def alembic_config(url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", to_async_url(url).replace("%", "%%"))
    return cfg


def upgrade(url: str, revision: str = "heads") -> None:
    """Apply migrations. Runs its own event loop, so call it outside one (or in a thread)."""
    command.upgrade(alembic_config(url), revision)


async def upgrade_async(url: str, revision: str = "heads") -> None:
    await asyncio.to_thread(upgrade, url, revision)
