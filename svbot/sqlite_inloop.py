"""SQLite for SQLAlchemy's asyncio API without a thread hop per statement, and without ever freezing the loop.

aiosqlite runs every statement in a helper thread and wakes the event loop for each result. A
SQLite statement on a local file takes microseconds; the hop costs far more (we measured about
500 transactions/s through aiosqlite against 25,000/s with the plain sqlite3 module on this
2-core machine). This module gives SQLAlchemy's aiosqlite dialect a connection with the same
interface whose calls run directly on the event loop thread.

Statements run on the loop's thread, so none of them may wait for a lock there: SQLite's own busy
timeout is 0, and waiting is done here, with asyncio, so the process keeps serving while another
process (`svbot clock`, a CLI command) holds the write lock:

- A transaction starts with BEGIN IMMEDIATE unless it is declared read-only: it takes the write lock
  before it reads, so one that reads and then writes can never fail half-way because another process
  wrote after its read (upgrading a deferred read gives SQLITE_BUSY, then SQLITE_BUSY_SNAPSHOT, which no
  retry can mend: what it read is stale). A turn is such a transaction. While another process holds
  the lock, BEGIN is tried again after 1, 2, 4, ... up to 20 ms, asleep in between, for at most
  `timeout` seconds (30, as SQLite's busy timeout used to be), then "database is locked" is raised as
  before. Within this process, connections queue for the lock in turn (`_WriteGate`) instead of all
  polling SQLite.
- A read-only transaction (`svbot.db.read_only`) starts with BEGIN DEFERRED under `PRAGMA query_only`:
  in WAL mode it reads a snapshot and never waits for the write lock, and a write in it fails at once.
- BEGIN is issued just before the transaction's first statement that reads or writes the database. A
  statement that does neither (a SELECT with no FROM, such as a health check's `SELECT 1`) needs no lock
  and no snapshot, and runs without one.

A statement is only tried again when SQLite did nothing: a BEGIN, a statement outside any transaction,
or the first read of a read-only transaction. Nothing is tried again inside a transaction that has
read, since what it read may have changed.

Several connections can be open (the engine's pool grows for concurrent sessions: a read never waits
behind a turn that waits for the lock); a sequential process uses one, so its page cache stays warm.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable, Iterable, Sequence
from typing import Any, TypeVar

T = TypeVar("T")

FIRST_WAIT = 0.001  # seconds before trying a busy database again; doubled each time ...
LONGEST_WAIT = 0.02  # ... up to this
_SQLITE_BUSY = 5  # the primary result code of SQLITE_BUSY and its extended codes


def is_busy(error: BaseException) -> bool:
    """SQLITE_BUSY: another connection holds a lock this statement needs ("database is locked")."""
    code = getattr(error, "sqlite_errorcode", None)
    if code is not None:
        return code & 0xFF == _SQLITE_BUSY
    return isinstance(error, sqlite3.OperationalError) and "database is locked" in str(error)


def needs_transaction(sql: str) -> bool:
    """Whether a statement reads or writes the database: all do except a SELECT with no FROM
    (`SELECT 1`, `SELECT sqlite_version()`), which needs neither a lock nor a snapshot."""
    return not (sql.lstrip()[:6].upper() == "SELECT" and "FROM" not in sql.upper())


class _WriteGate:
    """The order in which one engine's connections take SQLite's write lock: the first to ask goes first.

    Without it, two connections of this process wanting the lock would both poll SQLite for it, and the
    one that has waited longest (so sleeps longest between tries) could lose to newcomers again and again.
    Another process is not in the queue: the connection at its head polls SQLite for that one."""

    __slots__ = ("_holder", "_lock", "_loop")

    def __init__(self) -> None:
        self._lock: asyncio.Lock | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._holder: object | None = None

    async def acquire(self, holder: object, deadline: float) -> None:
        loop = asyncio.get_running_loop()
        if self._loop is not loop:  # first use, or the engine is used from a new event loop
            self._loop, self._lock, self._holder = loop, asyncio.Lock(), None
        lock = self._lock
        assert lock is not None
        if lock.locked():
            try:
                async with asyncio.timeout_at(deadline):
                    await lock.acquire()
            except TimeoutError:
                raise sqlite3.OperationalError("database is locked") from None
        else:
            await lock.acquire()  # free: returns at once, without giving the loop away
        self._holder = holder

    def release(self, holder: object) -> None:
        if self._holder is holder and self._lock is not None:
            self._holder = None
            self._lock.release()


class _Cursor:
    __slots__ = ("_cursor", "_owner")

    def __init__(self, cursor: sqlite3.Cursor, owner: InLoopConnection) -> None:
        self._cursor = cursor
        self._owner = owner

    async def __aenter__(self) -> _Cursor:
        return self

    async def __aexit__(self, *exc: object) -> None:
        self._cursor.close()

    async def execute(self, operation: str, parameters: Sequence[Any] | dict[str, Any] = ()) -> _Cursor:
        owner = self._owner
        if owner._pending is not None and needs_transaction(operation):
            await owner.begin_now()
        try:
            self._cursor.execute(operation, parameters)
        except sqlite3.OperationalError as error:
            if not (is_busy(error) and owner._nothing_read()):
                raise
            await owner._when_free(lambda: self._cursor.execute(operation, parameters))
        owner._fresh = False
        return self

    async def executemany(self, operation: str, seq_of_parameters: Iterable[Any]) -> _Cursor:
        owner = self._owner
        if owner._pending is not None:
            await owner.begin_now()
        rows = list(seq_of_parameters)
        try:
            self._cursor.executemany(operation, rows)
        except sqlite3.OperationalError as error:
            if not (is_busy(error) and owner._nothing_read()):
                raise
            await owner._when_free(lambda: self._cursor.executemany(operation, rows))
        owner._fresh = False
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
    """The parts of `aiosqlite.Connection` that SQLAlchemy's aiosqlite dialect uses, and the transaction's
    BEGIN (see the module's docstring)."""

    def __init__(self, connection: sqlite3.Connection, gate: _WriteGate | None = None, timeout: float = 30.0) -> None:
        self._conn = connection
        self._connection: sqlite3.Connection | None = connection
        self._tx = _RunNow()
        self._gate = gate or _WriteGate()
        self._timeout = timeout
        self._pending: str | None = None  # "IMMEDIATE" or "DEFERRED": the BEGIN still to issue
        self._read_only = False  # in a read-only transaction (PRAGMA query_only is on)
        self._fresh = False  # a read-only transaction that has read nothing yet
        self._writing = False  # holds this engine's write gate
        self._own = False  # in a transaction begun by `begin_own`, which SQLAlchemy's begin joins

    def cursor(self) -> _Cursor:
        assert self._connection is not None, "connection closed"
        return _Cursor(self._connection.cursor(), self)

    @property
    def sqlite(self) -> sqlite3.Connection:
        """The sqlite3 connection itself, for statements that skip SQLAlchemy (`svbot.turn_sql`): call
        `begin_now()` first, as nothing on that path issues the transaction's BEGIN."""
        return self._conn

    @property
    def isolation_level(self) -> str | None:
        return self._conn.isolation_level

    # -- transactions ---------------------------------------------------------------------------------

    def begin_later(self, *, read_only: bool = False) -> None:
        """A transaction starts: BEGIN (IMMEDIATE to write, DEFERRED to only read) goes before its first
        statement that reads or writes the database. Called from SQLAlchemy's `begin` event (`svbot.db`)."""
        if self._own:
            return  # the transaction is begun already (`begin_own`): SQLAlchemy's joins it
        self._pending = "DEFERRED" if read_only else "IMMEDIATE"

    def begin_own(self) -> None:
        """A transaction that writes, begun here rather than by SQLAlchemy (a turn: `svbot.turn_sql`),
        BEGIN IMMEDIATE going before its first statement as ever. SQLAlchemy's own begin on this
        connection before its COMMIT or ROLLBACK (an ORM session, a statement through SQLAlchemy) joins
        it: one transaction still."""
        self._pending = "IMMEDIATE"
        self._own = True

    async def begin_now(self) -> None:
        """Issue the pending BEGIN, waiting (without blocking the loop) while another process writes."""
        kind = self._pending
        if kind is None:
            return
        self._pending = None
        try:
            if kind == "DEFERRED":
                self._conn.execute("PRAGMA query_only=1")
                self._read_only = True
                self._conn.execute("BEGIN DEFERRED")
                self._fresh = True
                return
            deadline = asyncio.get_running_loop().time() + self._timeout
            await self._gate.acquire(self, deadline)
            self._writing = True
            try:
                self._conn.execute("BEGIN IMMEDIATE")
            except sqlite3.OperationalError as error:
                if not is_busy(error):
                    raise
                await self._when_free(lambda: self._conn.execute("BEGIN IMMEDIATE"), deadline)
        except BaseException:
            self._release()
            self._pending = kind  # not begun: the next statement tries again, and never runs outside it
            raise

    def _nothing_read(self) -> bool:
        """SQLite did nothing that a retry could repeat or contradict: no transaction is open, or it is a
        read-only one that has not read yet (its snapshot starts with its first read)."""
        return not self._conn.in_transaction or self._fresh

    async def _when_free(self, attempt: Callable[[], T], deadline: float | None = None) -> T:
        """`attempt()`, again after a pause each time SQLite says another connection has the lock; after
        `timeout` seconds in all the last "database is locked" is raised."""
        loop = asyncio.get_running_loop()
        if deadline is None:
            deadline = loop.time() + self._timeout
        wait = FIRST_WAIT
        while True:
            try:
                return attempt()
            except sqlite3.OperationalError as error:
                left = deadline - loop.time()
                if not is_busy(error) or left <= 0:
                    raise
            await asyncio.sleep(min(wait, left))
            wait = min(wait * 2, LONGEST_WAIT)

    def _ended(self) -> None:
        """After COMMIT or ROLLBACK (or a transaction that never needed its BEGIN)."""
        if self._connection is None:
            self.stop()
            return
        if self._conn.in_transaction:
            return  # the COMMIT failed: the transaction is still open, and a ROLLBACK will follow
        self._pending = None
        self._fresh = False
        self._own = False
        if self._read_only:
            self._read_only = False
            self._conn.execute("PRAGMA query_only=0")
        self._release()

    def _release(self) -> None:
        if self._writing:
            self._writing = False
            self._gate.release(self)

    async def commit(self) -> None:
        try:
            self._conn.commit()
        finally:
            self._ended()

    async def rollback(self) -> None:
        try:
            self._conn.rollback()
        finally:
            self._ended()

    async def close(self) -> None:
        self.stop()

    def stop(self) -> None:
        if self._connection is not None:
            self._connection.close()  # rolls back what is open, releasing SQLite's locks
            self._connection = None
        self._pending = None
        self._own = False
        self._release()

    async def create_function(self, *args: Any, **kwargs: Any) -> None:
        self._conn.create_function(*args, **kwargs)


def creator(path: str, timeout: float = 30.0) -> Callable[[], Any]:
    """An `async_creator` for `create_async_engine`: opens the file with the plain sqlite3 module. The
    connections share one write gate; `timeout` bounds how long a transaction waits for the write lock."""
    gate = _WriteGate()

    async def connect() -> InLoopConnection:
        # timeout=0: SQLite's busy handler would wait on the loop's thread; we wait with asyncio instead.
        # check_same_thread=False: the connection is only ever used on the loop's thread, but the pool may
        # close it from a finaliser elsewhere at shutdown.
        return InLoopConnection(sqlite3.connect(path, timeout=0, check_same_thread=False), gate, timeout)

    return connect
