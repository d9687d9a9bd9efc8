"""A turn's statements run straight on SQLite's driver (`svbot.turn_sql`) and through SQLAlchemy elsewhere.
Both must write and read the very same rows: same stored text, same Python values back."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession, async_sessionmaker

from svbot.models import Answer, Conversation, Identity
from svbot.turn_sql import TurnQueries, statements, transaction

WHEN = datetime(2026, 3, 29, 0, 59, 59, 123456, tzinfo=UTC)
AWKWARD_STATE = {
    "answers": {"story": "Café ☕ <b>bold</b> & \"quotes\" 'n' \\ back\nslash", "count": 1_200, "ratio": 0.5},
    "skipped": ["money"],
    "nested": {"empty": [], "none": None, "flag": True},
}


async def both_ways(connection: AsyncConnection) -> tuple[TurnQueries, TurnQueries]:
    """The queries a turn gets on this database, and the same statements through SQLAlchemy's execute."""
    fast = await TurnQueries.bind(connection)
    built = statements(connection.dialect)
    plain = TurnQueries(connection, {name: statement for name, (statement, _) in built.items()})
    return fast, plain


async def new_conversation(queries: TurnQueries, suffix: str) -> tuple[int, int]:
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


async def stored(connection: AsyncConnection, sql: str, **params: Any) -> list[tuple[Any, ...]]:
    return [tuple(row) for row in (await connection.execute(text(sql), params)).all()]


async def test_both_ways_store_the_same_text_and_read_back_the_same_values(
    db: async_sessionmaker[AsyncSession],
) -> None:
    engine = db.kw["bind"]
    async with transaction(engine) as connection:  # as a turn does
        fast, plain = await both_ways(connection)
        rows: dict[str, dict[str, Any]] = {}
        for suffix, queries in (("fast", fast), ("plain", plain)):
            identity_id, conversation_id = await new_conversation(queries, suffix)
            changed = await queries.run(
                "save",
                {"cid": conversation_id, "state": AWKWARD_STATE, "version": 7, "updated_at": WHEN,
                 "organisation_id": None},
            )  # fmt: skip
            assert changed == 1
            await queries.run_many(
                "answer",
                [
                    {"conversation_id": conversation_id, "organisation_id": None, "dialogue_id": "sv", "key": key,
                     "value": value, "updated_at": WHEN}
                    for key, value in (("count", 1_200), ("story", "Café ☕"), ("gone", None), ("list", ["a", 2]))
                ],
            )  # fmt: skip
            loaded = await queries.first("load", {"key": f"telegram:c{suffix}:u{suffix}"})
            assert loaded is not None
            rows[suffix] = dict(loaded)
            assert rows[suffix]["identity_id"] == identity_id
            bank = await queries.all("bank", {"dialogue_id": "sv", "cid": conversation_id, "oid": None})
            rows[suffix]["bank"] = {row["key"]: (row["value"], row["updated_at"]) for row in bank}

        fast_row, plain_row = rows["fast"], rows["plain"]
        assert fast_row["state"] == plain_row["state"] == AWKWARD_STATE
        assert fast_row["active"] is plain_row["active"] is False
        assert fast_row["version"] == plain_row["version"] == 7
        assert fast_row["bank"] == plain_row["bank"]
        assert set(fast_row["bank"]) == {"count", "story", "gone", "list"}
        assert fast_row["bank"]["gone"][0] is None  # a skipped question: kept, and read back as None
        assert fast_row["bank"]["count"][0] == 1_200

        # The same text in the database, so the ORM and reports read either kind of row alike.
        conversations = await stored(connection, "SELECT state, updated_at, version FROM conversations ORDER BY id")
        assert conversations[0] == conversations[1]
        answers = await stored(connection, "SELECT key, value, updated_at FROM answers ORDER BY conversation_id, key")
        assert answers[:4] == answers[4:]

    async with db() as session:  # and the ORM reads what the fast way wrote
        conversation = await session.scalar(select(Conversation).where(Conversation.key == "telegram:cfast:ufast"))
        assert conversation is not None
        assert conversation.state == AWKWARD_STATE
        assert conversation.updated_at.replace(tzinfo=UTC) == WHEN
        identity = await session.get(Identity, conversation.identity_id)
        assert identity is not None and identity.active is False
        values = dict((await session.execute(select(Answer.key, Answer.value))).tuples().all())
        assert values["list"] == ["a", 2]


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
