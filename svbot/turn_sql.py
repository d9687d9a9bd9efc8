"""The statements every chat turn runs, and the fast way to run them.

SQLAlchemy writes all the SQL, for every database, and the ORM and every feature use it as usual. A turn's
own few statements skip SQLAlchemy's execution layer and run straight on the driver, inside the turn's
transaction: on SQLite, whose driver works on the event loop's own thread (see `svbot.sqlite_inloop`),
on the sqlite3 connection; on PostgreSQL, on asyncpg's connection, in asyncpg's own transaction. Why:
on the 2-core machine the benchmarks run on, that layer costs about 100 µs a statement under asyncio,
against about 10 µs for SQLite to do the work (`bench/turns.py`: 1,190 against 610 turns/s); on
PostgreSQL it, and a round trip per statement, were most of svbot's 1.4 ms of CPU a turn. There, two
pairs of statements are also joined into one each (`_claim`, `_save_answers`), so a turn is 4 round trips
(BEGIN, the event's key with the load, the save with the answers, COMMIT) where it was 6.

Values still pass through each column's own SQLAlchemy type, and a value the statement sets itself
(`active=True`) is used as SQLAlchemy would, so a row written or read either way is the same row
(`tests/test_turn_sql.py` runs every statement both ways, on both databases, and compares what they store
and return). A driver's error is raised as SQLAlchemy would raise it, so the turn treats it alike.

    async with transaction(engine) as connection:      # the turn's connection, in its transaction
        queries = await TurnQueries.bind(connection)
        first, row = await queries.claim(event, key)   # the event's key, then the conversation (locked)
        person_id = await queries.new_id("new_person", {...})
        await queries.save(conversation, answers)      # the new state and the changed answers
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from typing import Any, NoReturn

import asyncpg
from sqlalchemy import ARRAY, JSON, String, Text, bindparam, cast, event, func, or_, select, true, update
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlalchemy.sql import Executable

from svbot.db import insert_for
from svbot.models import Answer, Conversation, Identity, InboundEvent, Organisation, Person

_CONVERSATIONS = Conversation.__table__
_ORGANISATIONS = Organisation.__table__
_IDENTITIES = Identity.__table__
_PEOPLE = Person.__table__
_ANSWERS = Answer.__table__

# The locale the turn speaks: the conversation's, else its organisation's (NULL: English). The state
# comes as its JSON text and is saved as JSON text (`ConvState.model_validate_json`, `model_dump_json`):
# pydantic reads and writes it in one step, where the column's own JSON type would make a dict in
# between, and the column stays JSON, so every other reader still gets a dict.
LOAD = (
    select(
        _CONVERSATIONS.c.id, _CONVERSATIONS.c.organisation_id, cast(_CONVERSATIONS.c.state, Text).label("state"),
        _CONVERSATIONS.c.version,
        _CONVERSATIONS.c.identity_id, _IDENTITIES.c.person_id, _IDENTITIES.c.chat_id, _IDENTITIES.c.active,
        func.coalesce(_CONVERSATIONS.c.locale, _ORGANISATIONS.c.locale).label("locale"),
    )
    .join(_IDENTITIES, _IDENTITIES.c.id == _CONVERSATIONS.c.identity_id)
    .outerjoin(_ORGANISATIONS, _ORGANISATIONS.c.id == _CONVERSATIONS.c.organisation_id)
    .where(_CONVERSATIONS.c.key == bindparam("key"))
    # On PostgreSQL a second worker with a turn for this conversation waits here. SQLite has no
    # FOR UPDATE: BEGIN IMMEDIATE already lets one writer in at a time.
    .with_for_update(of=_CONVERSATIONS)
)  # fmt: skip


def _save(dialect: Dialect) -> Executable:
    # PostgreSQL needs the text cast to its JSON type. SQLite's JSON is text already, and there a CAST
    # (to a type of NUMERIC affinity) could turn it into a number.
    state: Any = bindparam("state", type_=Text)
    if dialect.name != "sqlite":
        state = cast(state, JSON)
    return (
        update(_CONVERSATIONS)
        .where(_CONVERSATIONS.c.id == bindparam("cid"))
        .values(
            state=state, version=bindparam("version"), updated_at=bindparam("updated_at"),
            organisation_id=bindparam("organisation_id"),
        )
    )  # fmt: skip


IDENTITY = select(_IDENTITIES.c.id, _IDENTITIES.c.person_id, _IDENTITIES.c.chat_id, _IDENTITIES.c.active).where(
    _IDENTITIES.c.platform == bindparam("platform"), _IDENTITIES.c.platform_user_id == bindparam("user_id")
)
REACHABLE = (
    update(_IDENTITIES).where(_IDENTITIES.c.id == bindparam("iid")).values(chat_id=bindparam("chat_id"), active=True)
)
# Earlier answers of this conversation or its organisation (an organisation id of NULL matches nothing).
BANK = (
    select(_ANSWERS.c.key, _ANSWERS.c.value, _ANSWERS.c.updated_at)
    .where(
        _ANSWERS.c.dialogue_id == bindparam("dialogue_id"),
        or_(_ANSWERS.c.conversation_id == bindparam("cid"), _ANSWERS.c.organisation_id == bindparam("oid")),
        _ANSWERS.c.value.is_not(None),
    )
    .order_by(_ANSWERS.c.updated_at)
)
EVENT_KEYS = ("platform", "event_id", "received_at")
ANSWER_KEYS = ("conversation_id", "organisation_id", "dialogue_id", "key", "value", "updated_at")
PERSON_KEYS = ("display_name", "created_at")
NEW_IDENTITY_KEYS = ("person_id", "platform", "platform_user_id", "chat_id", "display_name", "active", "created_at")
NEW_CONVERSATION_KEYS = ("key", "identity_id", "state", "version", "created_at", "updated_at")


def _claim() -> Executable:
    """PostgreSQL: the event's key and the conversation's load in one statement (one round trip, not two).
    No row: a repeat delivery (the key was there; nothing is loaded or locked). A row whose `id` is NULL:
    a new conversation. The INSERT runs first, then the load takes the row's lock, as the two did apart."""
    fresh = (
        postgresql.insert(InboundEvent)
        .values({key: bindparam(key) for key in EVENT_KEYS})
        .on_conflict_do_nothing(index_elements=["platform", "event_id"])
        .returning(InboundEvent.id)
        .cte("fresh_event")
    )
    conversation = LOAD.subquery().lateral("conversation")
    return select(fresh.c.id.label("event_row"), *conversation.c).select_from(fresh.outerjoin(conversation, true()))


def _save_answers(dialect: Dialect) -> Executable:
    """PostgreSQL: the save and the changed answers in one statement. The answers come as two arrays,
    their keys and their values as JSON text (each encoded as the column encodes one)."""
    saved = _save(dialect).returning(_CONVERSATIONS.c.id).cte("saved")
    given = func.unnest(bindparam("keys", type_=ARRAY(String)), bindparam("values", type_=ARRAY(Text)))
    rows = given.table_valued("key", "value").render_derived()
    answer = postgresql.insert(Answer).from_select(
        ["conversation_id", "organisation_id", "dialogue_id", "key", "value", "updated_at"],
        select(saved.c.id, bindparam("organisation_id"), bindparam("dialogue_id", type_=String), rows.c.key,
               cast(rows.c.value, JSON), bindparam("updated_at")).select_from(saved).select_from(rows),
    )  # fmt: skip
    return answer.on_conflict_do_update(
        index_elements=["conversation_id", "dialogue_id", "key"], set_=_answer_again(answer)
    ).add_cte(saved)


def _answer_again(answer: Any) -> dict[str, Any]:
    """What an answer given again changes in its row."""
    return {
        "value": answer.excluded.value,
        "updated_at": answer.excluded.updated_at,
        "organisation_id": answer.excluded.organisation_id,
    }


def statements(dialect: Dialect) -> dict[str, tuple[Executable, Sequence[str] | None]]:
    """Each statement with the parameter names it is executed with (for INSERTs: the columns given)."""
    insert = insert_for(dialect)
    answer = insert(Answer)
    joined: dict[str, tuple[Executable, Sequence[str] | None]] = {}
    if dialect.name == "postgresql":
        joined = {"claim": (_claim(), None), "save_answers": (_save_answers(dialect), None)}
    return {
        **joined,
        "event": (insert(InboundEvent).on_conflict_do_nothing(index_elements=["platform", "event_id"]), EVENT_KEYS),
        "load": (LOAD, None),
        "save": (_save(dialect), None),
        "identity": (IDENTITY, None),
        "reachable": (REACHABLE, None),
        "bank": (BANK, None),
        "new_person": (_PEOPLE.insert().returning(_PEOPLE.c.id), PERSON_KEYS),
        "new_identity": (_IDENTITIES.insert().returning(_IDENTITIES.c.id), NEW_IDENTITY_KEYS),
        "new_conversation": (_CONVERSATIONS.insert().returning(_CONVERSATIONS.c.id), NEW_CONVERSATION_KEYS),
        "answer": (
            answer.on_conflict_do_update(
                index_elements=["conversation_id", "dialogue_id", "key"], set_=_answer_again(answer)
            ),
            ANSWER_KEYS,
        ),
    }


@asynccontextmanager
async def transaction(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    """`engine.begin()`: a connection in a transaction, committed at the end or rolled back on an error.

    On PostgreSQL (asyncpg) the transaction is asyncpg's own (`_asyncpg_transaction`).

    On SQLite, a file, it does the same for far less: the connection is kept for the next turn rather
    than handed back to the pool and out again (a checkout, and a checkin with the pool's own ROLLBACK
    after the COMMIT, and their events), and the transaction is the driver's (`begin_own`), without
    SQLAlchemy's Transaction and its hops between asyncio and its code unless the turn uses SQLAlchemy
    on the connection (an ORM session, a feature's statement): that begins a SQLAlchemy transaction
    which joins the driver's, and commits it. `bench/turns.py`: about 600 down to 485 µs CPU a turn
    for keeping the connection, then about 440 down to 370 for the driver's transaction. A turn that fails
    closes its connection (rolling back) rather than keeping it. The kept connections are closed when
    the engine is disposed (`_Kept`). An in-memory database has one connection only: it keeps none.
    """
    if _on_asyncpg(engine.dialect):
        async with _asyncpg_transaction(engine) as connection:
            yield connection
        return
    kept = _Kept.of(engine)
    if kept is None:
        async with engine.begin() as connection:
            yield connection
        return
    connection = kept.idle.pop() if kept.idle else await engine.connect()
    driver = connection.sync_connection.connection.driver_connection  # type: ignore[union-attr]
    driver.begin_own()
    try:
        yield connection
        if connection.in_transaction():  # SQLAlchemy's joined it (see `Turn.session`): it commits
            await connection.commit()
        else:
            await driver.commit()
    except BaseException:
        await connection.close()  # rolls the transaction back
        raise
    if len(kept.idle) < _Kept.MOST:
        kept.idle.append(connection)
    else:
        await connection.close()


def _on_asyncpg(dialect: Dialect) -> bool:
    return dialect.name == "postgresql" and dialect.driver == "asyncpg"


@asynccontextmanager
async def _asyncpg_transaction(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    """PostgreSQL's turn transaction: asyncpg's own, on a pooled connection, so the turn's statements
    run straight on asyncpg (`_AsyncpgQueries`) inside it. SQLAlchemy, used on the same connection (an ORM
    session, a feature's statement), begins a transaction of its own there, which asyncpg makes a
    SAVEPOINT inside this one; it is committed (released) first, then this one."""
    async with engine.connect() as connection:
        driver = _driver(connection)
        own: Any = None
        try:
            own = await _driven(connection, "BEGIN", _begun, driver)
            yield connection
            if connection.in_transaction():
                await connection.commit()
            await _driven(connection, "COMMIT", own.commit)
        except BaseException as error:
            await _roll_back(connection, driver, own, error)
            raise


async def _begun(driver: Any) -> Any:
    own = driver.transaction()  # a connection found closed fails here already
    await own.start()
    return own


def _driver(connection: AsyncConnection) -> Any:
    """The driver's own connection under a checked-out one (no await: `get_raw_connection` costs a hop)."""
    return connection.sync_connection.connection.driver_connection  # type: ignore[union-attr]


async def _roll_back(connection: AsyncConnection, driver: Any, own: Any, error: BaseException) -> None:
    """Undo a failed PostgreSQL turn; a connection that cannot even roll back is dropped from the pool."""
    try:
        if connection.in_transaction():
            await connection.rollback()
        if own is not None and not driver.is_closed() and driver.is_in_transaction():
            await own.rollback()
    except Exception:
        await connection.invalidate(error if isinstance(error, Exception) else None)


class _Kept:
    """An SQLite engine's turn connections between turns, checked out of its pool."""

    MOST = 4  # as many as the pool keeps: more at once (a burst of turns) go back to the pool

    def __init__(self) -> None:
        self.idle: list[AsyncConnection] = []

    @classmethod
    def of(cls, engine: AsyncEngine) -> _Kept | None:
        sync_engine = engine.sync_engine
        kept: _Kept | None = sync_engine.__dict__.get("_svbot_kept", _UNSET)
        if kept is not _UNSET:
            return kept
        database = engine.url.database or ":memory:"
        if engine.dialect.name != "sqlite" or database == ":memory:" or "mode=memory" in database:
            kept = None
        else:
            kept = cls()
            idle = kept.idle

            @event.listens_for(sync_engine, "engine_disposed")
            def _close_kept(_engine: Any) -> None:
                # After the pool is let go (`AsyncEngine.dispose()`): handing them back would put them in
                # the old pool, left open. Invalidated, they are closed now instead.
                for connection in idle:
                    sync_connection = connection.sync_connection
                    assert sync_connection is not None
                    sync_connection.invalidate()
                    sync_connection.close()
                idle.clear()

        # Kept on the engine itself, so they live and go with it.
        sync_engine.__dict__["_svbot_kept"] = kept
        return kept


_UNSET: Any = object()
Statement = str | Executable  # a name in `statements()`, or a statement itself


class TurnQueries:
    """The turn's statements bound to its connection. Building statements costs more than running them,
    so they are built once per kind of database and kept."""

    _built: dict[str, dict[Any, Any]] = {}

    def __init__(self, connection: AsyncConnection, prepared: dict[Any, Any]) -> None:
        self.connection = connection
        self._prepared = prepared

    @classmethod
    async def bind(cls, connection: AsyncConnection) -> TurnQueries:
        dialect = connection.dialect
        prepared = cls._built.get(dialect.name)
        if prepared is None:
            direct = dialect.name == "sqlite" or _on_asyncpg(dialect)
            prepared = {
                name: _Direct(statement, dialect, keys) if direct else statement
                for name, (statement, keys) in statements(dialect).items()
            }
            cls._built[dialect.name] = prepared
        if _on_asyncpg(dialect):
            driver = _driver(connection)
            if not driver.is_in_transaction():
                raise RuntimeError("a turn's statements run inside `transaction(engine)`")
            return _AsyncpgQueries(connection, prepared, driver)
        if dialect.name == "sqlite":
            # In a transaction the DB-API connection is there already: no need to ask SQLAlchemy for it.
            driver = connection.sync_connection.connection.driver_connection  # type: ignore[union-attr]
            # Statements on the driver skip the check that issues BEGIN before the first one: BEGIN now
            # (IMMEDIATE: a turn writes), waiting without blocking the loop while another process writes.
            await driver.begin_now()
            return _SqliteQueries(connection, prepared, driver.sqlite)
        return cls(connection, prepared)

    # Each method takes one of `statements()` by name, or a statement of a feature's own (a module-level
    # constant: on the direct ways it is compiled the first time and kept, like the named ones).

    async def run(self, name: Statement, params: Mapping[str, Any]) -> int:
        """Execute; returns how many rows it changed."""
        result = await self.connection.execute(self._statement(name, params), dict(params))
        return result.rowcount

    async def run_many(self, name: Statement, rows: Sequence[Mapping[str, Any]]) -> None:
        await self.connection.execute(self._statement(name, rows[0]), [dict(row) for row in rows])

    async def first(self, name: Statement, params: Mapping[str, Any]) -> Mapping[str, Any] | None:
        """The first row (of a SELECT, or an INSERT's RETURNING), or None."""
        row = (await self.connection.execute(self._statement(name, params), dict(params))).first()
        return None if row is None else row._mapping

    async def all(self, name: Statement, params: Mapping[str, Any]) -> list[Mapping[str, Any]]:
        result = await self.connection.execute(self._statement(name, params), dict(params))
        return [row._mapping for row in result]

    def _statement(self, name: Statement, params: Mapping[str, Any]) -> Any:
        return self._prepared[name] if isinstance(name, str) else name

    async def claim(self, event: Mapping[str, Any], key: str) -> tuple[bool, Mapping[str, Any] | None]:
        """Record the inbound event's key, then load its conversation (`LOAD`, locked for the turn).
        (False, None): the key was there, a repeat delivery. (True, None): no conversation yet."""
        if not await self.run("event", event):
            return False, None
        return True, await self.first("load", {"key": key})

    async def save(self, conversation: Mapping[str, Any], answers: Sequence[Mapping[str, Any]]) -> None:
        """Save the conversation ("save") and its changed answers ("answer", each a row of ANSWER_KEYS)."""
        await self.run("save", conversation)
        if answers:
            await self.run_many("answer", answers)

    async def new_id(self, name: Statement, params: Mapping[str, Any]) -> int:
        """Run an INSERT ... RETURNING id; the new row's id."""
        row = await self.first(name, params)
        if row is None:
            raise RuntimeError(f"{name}: the INSERT returned no row")
        return int(row["id"])


class _DirectQueries(TurnQueries):
    """The statements compiled once (`_Direct`) and run on the driver itself, by the subclass."""

    def _statement(self, name: Statement, params: Mapping[str, Any]) -> _Direct:
        """A named statement, or a feature's own compiled for this database the first time it is run."""
        if isinstance(name, str):
            return self._prepared[name]
        key = (name, tuple(sorted(params)))  # an INSERT is compiled for the columns it is given
        found = self._prepared.get(key)
        if found is None:
            found = self._prepared[key] = _Direct(name, self.connection.dialect, key[1])
        return found


class _SqliteQueries(_DirectQueries):
    """The same, run on the sqlite3 connection under the turn's SQLAlchemy connection."""

    def __init__(self, connection: AsyncConnection, prepared: dict[Any, Any], sqlite3_connection: Any) -> None:
        super().__init__(connection, prepared)
        self._sqlite = sqlite3_connection

    async def run(self, name: Statement, params: Mapping[str, Any]) -> int:
        direct = self._statement(name, params)
        return self._sqlite.execute(direct.sql, direct.values(params)).rowcount

    async def run_many(self, name: Statement, rows: Sequence[Mapping[str, Any]]) -> None:
        direct = self._statement(name, rows[0])
        self._sqlite.executemany(direct.sql, [direct.values(row) for row in rows])

    async def first(self, name: Statement, params: Mapping[str, Any]) -> Mapping[str, Any] | None:
        direct = self._statement(name, params)
        row = self._sqlite.execute(direct.sql, direct.values(params)).fetchone()
        return None if row is None else direct.row(row)

    async def all(self, name: Statement, params: Mapping[str, Any]) -> list[Mapping[str, Any]]:
        direct = self._statement(name, params)
        return [direct.row(row) for row in self._sqlite.execute(direct.sql, direct.values(params))]


class _AsyncpgQueries(_DirectQueries):
    """The same, run straight on asyncpg inside the turn's own transaction (`_asyncpg_transaction`).
    An error is raised as SQLAlchemy would raise it, so the turn treats it alike (`svbot.turns.Bot.handle`)."""

    def __init__(self, connection: AsyncConnection, prepared: dict[Any, Any], driver: Any) -> None:
        super().__init__(connection, prepared)
        self._driver = driver

    async def run(self, name: Statement, params: Mapping[str, Any]) -> int:
        direct = self._statement(name, params)
        status = await self._call(direct, self._driver.execute, *direct.values(params))
        return int(status.rsplit(" ", 1)[-1])  # "INSERT 0 1", "UPDATE 1": the rows changed

    async def run_many(self, name: Statement, rows: Sequence[Mapping[str, Any]]) -> None:
        direct = self._statement(name, rows[0])
        await self._call(direct, self._driver.executemany, [direct.values(row) for row in rows])

    async def first(self, name: Statement, params: Mapping[str, Any]) -> Mapping[str, Any] | None:
        direct = self._statement(name, params)
        row = await self._call(direct, self._driver.fetchrow, *direct.values(params))
        return None if row is None else direct.row(row)

    async def all(self, name: Statement, params: Mapping[str, Any]) -> list[Mapping[str, Any]]:
        direct = self._statement(name, params)
        return [direct.row(row) for row in await self._call(direct, self._driver.fetch, *direct.values(params))]

    async def claim(self, event: Mapping[str, Any], key: str) -> tuple[bool, Mapping[str, Any] | None]:
        row = await self.first("claim", {**event, "key": key})
        if row is None:
            return False, None
        return True, (row if row["id"] is not None else None)

    async def save(self, conversation: Mapping[str, Any], answers: Sequence[Mapping[str, Any]]) -> None:
        if not answers:
            await self.run("save", conversation)
            return
        # Rows of one turn share their conversation, organisation, dialogue and time (`Bot._changed_answers`).
        first = answers[0]
        encode = self._prepared["answer"].converter("value")
        params = {
            **conversation,
            "dialogue_id": first["dialogue_id"],
            "keys": [row["key"] for row in answers],
            "values": [encode(row["value"]) for row in answers],
        }
        await self.run("save_answers", params)

    async def _call(self, direct: _Direct, method: Any, *args: Any) -> Any:
        return await _driven(self.connection, direct.sql, method, direct.sql, *args)


async def _driven(connection: AsyncConnection, sql: str, method: Any, *args: Any) -> Any:
    """`await method(*args)` on asyncpg, its errors raised as SQLAlchemy's would be."""
    try:
        return await method(*args)
    except Exception as error:
        # A connection the server ended shows as many errors (an OSError, "connection is closed", the
        # server's "terminating connection", an operation left half done): what they share is that asyncpg
        # has closed the connection by the time it raises.
        if _driver(connection).is_closed() or isinstance(error, OSError | asyncpg.ConnectionDoesNotExistError):
            await _found_cut(connection, sql, args, error)
        kind = IntegrityError if isinstance(error, asyncpg.IntegrityConstraintViolationError) else DBAPIError
        raise kind(sql, args, error) from error


async def _found_cut(connection: AsyncConnection, sql: str, args: Any, error: Exception) -> NoReturn:
    """The connection is gone (the server restarted, say). SQLAlchemy is let find that out itself, on the
    same connection, so it does what it always does: drops this connection and every pooled one as old, and
    raises the error marked `connection_invalidated` (a turn is then run once more)."""
    try:
        await connection.exec_driver_sql("SELECT 1")
    except DBAPIError as found:
        if found.connection_invalidated:
            raise found from error
    await connection.invalidate(error)
    raise DBAPIError(sql, args, error, connection_invalidated=True) from error


class _Direct:
    """A statement compiled once for a database (SQLite's '?' or asyncpg's '$1' parameters): its SQL, and
    each parameter's and column's type conversion."""

    def __init__(self, statement: Any, dialect: Dialect, keys: Sequence[str] | None) -> None:
        compiled = statement.compile(dialect=dialect, column_keys=list(keys) if keys else None)
        if compiled.positiontup is None:
            raise ValueError("direct statements need a positional paramstyle ('?' or '$1')")
        self.sql: str = compiled.string
        self.names: list[str] = list(compiled.positiontup)
        binds = [compiled.binds[name] for name in self.names]
        # Values the statement itself gives (`.values(active=True)`), used where the caller gives none.
        self.given = {
            name: bind.effective_value for name, bind in zip(self.names, binds, strict=True) if not bind.required
        }
        types = [bind.type.dialect_impl(dialect) for bind in binds]
        self.converters = [type_.bind_processor(dialect) for type_ in types]
        # Every turn runs several statements: the values' conversion, worked out here, is a plain loop there.
        self._plain = not self.given and all(convert is None for convert in self.converters)
        self._binds = list(zip(self.names, self.converters, strict=True))
        columns = list(statement.exported_columns)  # a SELECT's columns, or what an INSERT returns
        self.columns = [column.key for column in columns]
        self.results = [column.type.dialect_impl(dialect).result_processor(dialect, None) for column in columns]

    def converter(self, name: str) -> Callable[[Any], Any]:
        """How a value of parameter `name` is encoded for the driver."""
        convert = self.converters[self.names.index(name)]
        return convert if convert is not None else lambda value: value

    def values(self, params: Mapping[str, Any]) -> list[Any]:
        if self._plain:
            return [params[name] for name in self.names]
        if self.given:
            params = {**self.given, **params}
        return [params[name] if convert is None else convert(params[name]) for name, convert in self._binds]

    def row(self, raw: Sequence[Any]) -> dict[str, Any]:
        return {
            column: value if convert is None else convert(value)
            for column, convert, value in zip(self.columns, self.results, raw, strict=True)
        }
