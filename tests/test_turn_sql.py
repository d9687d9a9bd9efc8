"""A turn's statements run straight on SQLite's driver (`svbot.turn_sql`) and through SQLAlchemy elsewhere.
Both must write and read the very same rows: same stored text, same Python values back."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import make_url, select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession, async_sessionmaker

from svbot.channels.base import Inbound
from svbot.models import Answer, Conversation, Identity, Person
from svbot.turn_sql import TurnQueries, statements, transaction
from svbot.turns import SORRY, Turn
from tests.scenario import ScenarioBot

WHEN = datetime(2026, 3, 29, 0, 59, 59, 123456, tzinfo=UTC)
AWKWARD_STATE = {
    "answers": {"story": "Café ☕ <b>bold</b> & \"quotes\" 'n' \\ back\nslash", "count": 1_200, "ratio": 0.5},
    "skipped": ["money"],
    "nested": {"empty": [], "none": None, "flag": True},
}
# A turn saves its state as JSON text, encoded once by pydantic (compact, UTF-8 as is), and loads it as text.
AWKWARD_STATE_JSON = json.dumps(AWKWARD_STATE, ensure_ascii=False, separators=(",", ":"))


async def both_ways(connection: AsyncConnection) -> tuple[TurnQueries, TurnQueries]:
    """The queries a turn gets on this database, and the same statements through SQLAlchemy's execute."""
    fast = await TurnQueries.bind(connection)
    if connection.dialect.name == "sqlite":
        assert type(fast) is not TurnQueries, "on SQLite a turn's statements run straight on the driver"
    built = statements(connection.dialect)
    plain = TurnQueries(connection, {name: statement for name, (statement, _) in built.items()})
    return fast, plain


class Recording:
    """Queries that note which statements were run (by the test, or by `claim` and `save` in turn), so the
    test can tell it compared every one."""

    def __init__(self, queries: TurnQueries) -> None:
        self.queries, self.used = queries, set[str]()
        for method in ("run", "run_many", "first", "all"):
            setattr(queries, method, self._recorded(getattr(queries, method)))

    def _recorded(self, call: Any) -> Any:
        async def record(name: str, params: Any) -> Any:
            self.used.add(name)
            return await call(name, params)

        return record

    def __getattr__(self, method: str) -> Any:
        return getattr(self.queries, method)


async def new_conversation(queries: TurnQueries | Recording, suffix: str) -> tuple[int, int]:
    person_id = await queries.new_id("new_person", {"display_name": f"Sam {suffix} 🙂", "created_at": WHEN})
    identity_id = await queries.new_id(
        "new_identity",
        {
            "person_id": person_id, "platform": "telegram", "platform_user_id": f"u{suffix}",
            "chat_id": f"c{suffix}", "display_name": "Sam", "active": False, "created_at": WHEN,
        },
    )  # fmt: skip
    conversation_id = await queries.new_id(
        "new_conversation",
        {"key": f"telegram:c{suffix}:u{suffix}", "identity_id": identity_id, "state": {}, "version": 0,
         "created_at": WHEN, "updated_at": WHEN},
    )  # fmt: skip
    return identity_id, conversation_id


async def a_turns_statements(queries: Recording, suffix: str) -> dict[str, Any]:
    """Every statement a turn runs, with awkward values, the same both ways but for the keys that must
    differ (they contain `suffix`); what each gave back, with its own row ids left out."""
    identity_id, conversation_id = await new_conversation(queries, suffix)
    seen: dict[str, Any] = {}
    seen["identity"] = await queries.first("identity", {"platform": "telegram", "user_id": f"u{suffix}"})
    seen["reachable"] = await queries.run("reachable", {"iid": identity_id, "chat_id": f"c{suffix}"})
    conversation = {"cid": conversation_id, "state": AWKWARD_STATE_JSON, "updated_at": WHEN, "organisation_id": None}
    seen["save"] = await queries.run("save", {**conversation, "version": 5})
    await queries.save({**conversation, "version": 6}, [])
    answers = (("count", 1_200), ("story", "Café ☕"), ("gone", None), ("list", ["a", 2]), ("half", 0.5))
    for version, values in ((7, answers), (8, (("count", 1_300),))):  # the second time: ON CONFLICT DO UPDATE
        await queries.save(
            {**conversation, "version": version},
            [{"conversation_id": conversation_id, "organisation_id": None, "dialogue_id": "sv", "key": key,
              "value": value, "updated_at": WHEN} for key, value in values],
        )  # fmt: skip
    await queries.run_many(
        "answer",
        [{"conversation_id": conversation_id, "organisation_id": None, "dialogue_id": "sv", "key": "story",
          "value": "Café ☕", "updated_at": WHEN}],
    )  # fmt: skip
    key = f"telegram:c{suffix}:u{suffix}"
    seen["load"] = await queries.first("load", {"key": key})
    seen["bank"] = await queries.all("bank", {"dialogue_id": "sv", "cid": conversation_id, "oid": None})
    event = {"platform": "telegram", "event_id": f"{suffix}-1", "received_at": WHEN}
    seen["event"] = [await queries.run("event", event), await queries.run("event", event)]
    # As a turn takes its event and loads its conversation: new, repeated, and for a conversation not there yet.
    claimed = {**event, "event_id": f"{suffix}-2"}
    seen["claim"] = [await queries.claim(claimed, key), await queries.claim(claimed, key),
                     await queries.claim({**claimed, "event_id": f"{suffix}-3"}, key + ":none")]  # fmt: skip
    assert seen["claim"][0][1]["version"] == 8 and seen["claim"][1:] == [(False, None), (True, None)]
    seen["claim"][0] = (True, _without(seen["claim"][0][1], ("event_row", "id", "identity_id", "person_id")))
    assert seen["identity"] is not None and seen["identity"]["id"] == identity_id
    assert seen["load"] is not None and seen["load"]["id"] == conversation_id
    ids = ("id", "identity_id", "person_id")
    return {
        name: [_without(row, ids) for row in value] if name == "bank" else _without(value, ids)
        for name, value in seen.items()
    }


def _without(row: Any, keys: tuple[str, ...]) -> Any:
    return {k: v for k, v in dict(row).items() if k not in keys} if isinstance(row, Mapping) else row


async def stored(connection: AsyncConnection, sql: str, **params: Any) -> list[tuple[Any, ...]]:
    return [tuple(row) for row in (await connection.execute(text(sql), params)).all()]


# What each table stores, as text (no SQLAlchemy type in between), in the order the rows were written.
STORED = {
    "people": "SELECT display_name, created_at FROM people ORDER BY id",
    "identities": "SELECT platform, platform_user_id, chat_id, display_name, active, created_at FROM identities"
    " ORDER BY id",
    "conversations": "SELECT key, state, version, organisation_id, created_at, updated_at FROM conversations"
    " ORDER BY id",
    "answers": "SELECT organisation_id, dialogue_id, key, value, updated_at FROM answers ORDER BY conversation_id, key",
    "inbound_events": "SELECT platform, event_id, received_at FROM inbound_events ORDER BY id",
}


async def test_both_ways_store_the_same_text_and_read_back_the_same_values(
    db: async_sessionmaker[AsyncSession],
) -> None:
    engine = db.kw["bind"]
    async with transaction(engine) as connection:  # as a turn does
        fast, plain = (Recording(queries) for queries in await both_ways(connection))
        fast_seen = await a_turns_statements(fast, "fast")
        plain_seen = await a_turns_statements(plain, "plain")
        # Each way ran every statement it has (on PostgreSQL the fast way joins some: "claim", "save_answers").
        assert fast.used | plain.used == set(statements(connection.dialect)), "every statement"
        assert plain.used == set(statements(connection.dialect)) - {"claim", "save_answers"}

        assert _named(fast_seen, "fast") == _named(plain_seen, "plain")
        assert json.loads(plain_seen["load"]["state"]) == AWKWARD_STATE
        assert plain_seen["load"]["active"] is True and plain_seen["identity"]["active"] is False
        assert plain_seen["event"] == [1, 0]
        bank = {row["key"]: row["value"] for row in plain_seen["bank"]}
        assert bank == {"count": 1_300, "story": "Café ☕", "gone": None, "list": ["a", 2], "half": 0.5}

        # The same text in the database, so the ORM and reports read either kind of row alike.
        for table, sql in STORED.items():
            rows = [_named(_named(row, "fast"), "plain") for row in await stored(connection, sql)]
            half = len(rows) // 2
            assert half and rows[:half] == rows[half:], table

    async with db() as session:  # and the ORM reads what the fast way wrote
        conversation = await session.scalar(select(Conversation).where(Conversation.key == "telegram:cfast:ufast"))
        assert conversation is not None
        assert conversation.state == AWKWARD_STATE
        assert conversation.updated_at.replace(tzinfo=UTC) == WHEN
        identity = await session.get(Identity, conversation.identity_id)
        assert identity is not None and identity.active is True
        values = dict((await session.execute(select(Answer.key, Answer.value))).all())
        assert values["list"] == ["a", 2]


def _named(value: Any, suffix: str) -> Any:
    """`value` with its side's name in strings made neutral, to compare the two sides."""
    if isinstance(value, str):
        return value.replace(suffix, "*")
    if isinstance(value, Mapping):
        return {k: _named(v, suffix) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(_named(v, suffix) for v in value)
    return value


async def test_a_repeated_event_changes_no_rows_either_way(db: async_sessionmaker[AsyncSession]) -> None:
    async with transaction(db.kw["bind"]) as connection:
        fast, plain = await both_ways(connection)
        event = {"platform": "telegram", "event_id": "42", "received_at": WHEN}
        assert await fast.run("event", event) == 1
        assert await fast.run("event", event) == 0
        assert await plain.run("event", event) == 0
        assert await plain.run("event", {**event, "event_id": "43"}) == 1
        assert await fast.run("event", {**event, "event_id": "43"}) == 0


async def test_the_fast_way_is_inside_the_turns_transaction(db: async_sessionmaker[AsyncSession]) -> None:
    """Rolled back with the turn: nothing written straight to SQLite survives a failed turn."""
    engine = db.kw["bind"]
    try:
        async with transaction(engine) as connection:
            fast, _ = await both_ways(connection)
            await new_conversation(fast, "lost")
            raise RuntimeError("the turn failed")
    except RuntimeError:
        pass
    async with engine.connect() as connection:
        assert await stored(connection, "SELECT id FROM conversations") == []
        assert await stored(connection, "SELECT id FROM people") == []


async def test_someone_first_seen_in_a_group_then_writing_directly_is_answered_and_reachable(bot: ScenarioBot) -> None:
    """A whole turn that runs `reachable` (on SQLite: straight on the driver, where a value the statement sets
    itself, `active=True`, was once missing and every such turn failed)."""
    await bot.send(Inbound(platform="slack", user_id="U1", chat_id="C1", text="hi", event_id="e1", is_group=True))
    replies = await bot.send(Inbound(platform="slack", user_id="U1", chat_id="D1", text="hi", event_id="e2"))
    assert replies and all(reply.text != SORRY for reply in replies), bot.transcript
    async with bot.bot.db_engine.connect() as connection:
        assert await stored(connection, "SELECT chat_id, active FROM identities") == [("D1", 1)]


async def test_a_turn_whose_connection_is_cut_is_run_once_more_and_kept_once(
    bot: ScenarioBot, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No pre-ping on PostgreSQL: a connection found cut (a restart) fails the statement, and the turn is run
    again on a new one. Here the cut comes after the event's key was written, so only a whole second run
    (its transaction rolled back) answers rather than saying it was a repeat."""
    await bot.say("hi", event_id="e1")
    first_question = bot.last
    cuts = _cut_connection_at_load(monkeypatch, times=1)
    replies = await bot.say("Sam", event_id="e2")
    assert cuts == [], "the cut happened"
    assert replies and all(reply.text != SORRY for reply in replies), bot.transcript
    assert bot.last != first_question, "moved on to the next question"
    async with bot.bot.db_engine.connect() as connection:
        assert await stored(connection, "SELECT count(*) FROM inbound_events WHERE event_id = 'e2'") == [(1,)]
        assert await stored(connection, "SELECT version FROM conversations") == [(2,)]


async def test_a_turn_cut_twice_says_sorry_and_changes_nothing(
    bot: ScenarioBot, monkeypatch: pytest.MonkeyPatch
) -> None:
    await bot.say("hi", event_id="e1")
    _cut_connection_at_load(monkeypatch, times=2)
    replies = await bot.say("Sam", event_id="e2")
    assert [reply.text for reply in replies] == [SORRY]
    async with bot.bot.db_engine.connect() as connection:
        assert await stored(connection, "SELECT version FROM conversations") == [(1,)]
        assert await stored(connection, "SELECT count(*) FROM inbound_events WHERE event_id = 'e2'") == [(0,)]


def _cut_connection_at_load(monkeypatch: pytest.MonkeyPatch, times: int) -> list[int]:
    """The next `times` loads fail as a statement does on a connection the server closed (SQLAlchemy marks
    the error `connection_invalidated`). Returns the cuts still to come: empty once all have happened."""
    left = list(range(times))
    for queries in _with_subclasses(TurnQueries):  # each database's fast queries have their own
        if "first" in vars(queries):
            monkeypatch.setattr(queries, "first", _cutting(queries.first, left))
    return left


def _with_subclasses(cls: type) -> list[type]:
    return [cls, *(sub for child in cls.__subclasses__() for sub in _with_subclasses(child))]


def _cutting(first: Any, left: list[int]) -> Any:
    async def cut_then_first(self: TurnQueries, name: str, params: Mapping[str, Any]) -> Mapping[str, Any] | None:
        if name in ("load", "claim") and left:  # PostgreSQL's fast way loads with the event's key ("claim")
            left.pop()
            closed = OSError("connection is closed")
            raise DBAPIError("SELECT ... FROM conversations", dict(params), closed, connection_invalidated=True)
        return await first(self, name, params)

    return cut_then_first


async def test_a_turn_that_uses_the_orm_session_is_still_one_transaction(bot: ScenarioBot) -> None:
    """On SQLite the turn's transaction is the driver's and the session joins it: what a feature writes
    through the session is kept with the turn's own rows, and a failure after both keeps neither."""
    failing: list[bool] = []

    async def write_through_the_session(turn: Turn) -> None:
        turn.session.add(Person(display_name=f"extra for {turn.inbound.user_id}"))
        await turn.session.flush()
        if failing:
            raise RuntimeError("the feature failed after writing")

    bot.bot.on_turn_end.insert(0, write_through_the_session)  # first: no statement of another has begun SQLAlchemy's
    replies = await bot.send(Inbound(platform="slack", user_id="U1", chat_id="D1", text="hi", event_id="e1"))
    assert replies and all(reply.text != SORRY for reply in replies), bot.transcript
    failing.append(True)
    replies = await bot.send(Inbound(platform="slack", user_id="U2", chat_id="D2", text="hi", event_id="e2"))
    assert [reply.text for reply in replies] == [SORRY]
    async with bot.bot.db_engine.connect() as connection:
        assert await stored(connection, "SELECT display_name FROM people ORDER BY id") == [("",), ("extra for U1",)]
        assert await stored(connection, "SELECT platform_user_id FROM identities") == [("U1",)]
        assert await stored(connection, "SELECT event_id FROM inbound_events") == [("e1",)]


async def test_a_turn_on_connections_the_server_closed_is_answered_on_a_new_one(
    bot: ScenarioBot, pg_url: str
) -> None:
    """PostgreSQL, for real: the server ends every connection of the pool (as a restart does) between two
    turns. The next turn meets a dead connection at its first statement (asyncpg's BEGIN, outside
    SQLAlchemy), and is run again on a new connection: answered once, kept once."""
    import asyncpg

    await bot.say("hi", event_id="e1")
    first_question = bot.last
    url = make_url(pg_url)
    admin = await asyncpg.connect(host=url.host, port=url.port, user=url.username, password=url.password,
                                  database=url.database)  # fmt: skip
    try:
        ended = await admin.fetchval(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
    finally:
        await admin.close()
    assert ended >= 1, "the pool's connection was ended"
    replies = await bot.say("Sam", event_id="e2")
    assert replies and all(reply.text != SORRY for reply in replies), bot.transcript
    assert bot.last != first_question, "moved on to the next question"
    async with bot.bot.db_engine.connect() as connection:
        assert await stored(connection, "SELECT count(*) FROM inbound_events WHERE event_id = 'e2'") == [(1,)]
        assert await stored(connection, "SELECT version FROM conversations") == [(2,)]
