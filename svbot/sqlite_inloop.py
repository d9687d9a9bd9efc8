"""SQLite for SQLAlchemy's asyncio API without a thread hop per statement.

aiosqlite runs every statement in a helper thread and wakes the event loop for each result. A
SQLite statement on a local file takes microseconds; the hop costs far more (we measured about
500 transactions/s through aiosqlite against 25,000/s with the plain sqlite3 module on this
2-core machine). This module gives SQLAlchemy's aiosqlite dialect a connection with the same
interface whose calls run directly on the event loop thread.

In-process concurrency stays safe because the engine gets a pool of ONE connection: a second
session waits for it asynchronously (it never blocks the loop), and each transaction is short.
Another process holding the write lock makes BEGIN IMMEDIATE wait (busy_timeout), blocking this
loop for that moment: acceptable for the embedded single-process default. Production runs on
PostgreSQL.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterable, Sequence
from typing import Any


class _Cursor:
    __slots__ = ("_cursor",)

    def __init__(self, cursor: sqlite3.Cursor) -> None:
        self._cursor = cursor

    async def __aenter__(self) -> _Cursor:
        return self

    async def __aexit__(self, *exc: object) -> None:
        self._cursor.close()

    async def execute(self, operation: str, parameters: Sequence[Any] | dict[str, Any] = ()) -> _Cursor:
        self._cursor.execute(operation, parameters)
        return self

    async def executemany(self, operation: str, seq_of_parameters: Iterable[Any]) -> _Cursor:
        self._cursor.executemany(operation, seq_of_parameters)
        return self

    async def fetchall(self) -> list[Any]:
        return self._cursor.fetchall()

    async def fetchone(self) -> Any:
        return self._cursor.fetchone()

    async def fetchmany(self, size: int | None = None) -> list[Any]:
        return self._cursor.fetchmany(size or self._cursor.arraysize)

    async def close(self) -> None:
        self._cursor.close()

    @property
    def description(self) -> Any:
        return self._cursor.description

    @property
    def rowcount(self) -> int:
        return self._cursor.rowcount

    @property
    def lastrowid(self) -> int | None:
        return self._cursor.lastrowid

    @property
    def arraysize(self) -> int:
        return self._cursor.arraysize

    @arraysize.setter
    def arraysize(self, value: int) -> None:
        self._cursor.arraysize = value


class _RunNow:
    """Stands in for aiosqlite's task queue: SQLAlchemy queues the isolation-level change on it."""

    def put_nowait(self, item: tuple[Any, Callable[[], None]]) -> None:
        future, function = item
        try:
            function()
        except Exception as error:  # handed back to SQLAlchemy through the future, as aiosqlite does
            future.set_exception(error)
        else:
            future.set_result(None)


class InLoopConnection:
    """The parts of `aiosqlite.Connection` that SQLAlchemy's aiosqlite dialect uses."""

    def __init__(self, connection: sqlite3.Connection) -> None:
        self._conn = connection
        self._connection: sqlite3.Connection | None = connection
        self._tx = _RunNow()

    def cursor(self) -> _Cursor:
        assert self._connection is not None, "connection closed"
        return _Cursor(self._connection.cursor())

    @property
    def sqlite(self) -> sqlite3.Connection:
        """The sqlite3 connection itself, for statements that skip SQLAlchemy (`svbot.turn_sql`)."""
        return self._conn

    @property
    def isolation_level(self) -> str | None:
        return self._conn.isolation_level

    async def commit(self) -> None:
        self._conn.commit()

    async def rollback(self) -> None:
        self._conn.rollback()

    async def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    def stop(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    async def create_function(self, *args: Any, **kwargs: Any) -> None:
        self._conn.create_function(*args, **kwargs)


def creator(path: str, timeout: float = 30.0) -> Callable[[], Any]:
    """An `async_creator` for `create_async_engine`: opens the file with the plain sqlite3 module."""

    async def connect() -> InLoopConnection:
        # check_same_thread=False: the connection is only ever used on the loop's thread, but
        # the pool may close it from a finaliser elsewhere at shutdown.
        return InLoopConnection(sqlite3.connect(path, timeout=timeout, check_same_thread=False))

    return connect
