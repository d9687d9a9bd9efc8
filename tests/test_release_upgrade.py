"""A database made by the last release (368f2c2), upgraded the way `svbot db upgrade` does it, then used.

tests/data/release-368f2c2.sqlite was made by that release's own app (tests/data/make_release_db.py):
"ann" of Hollybush Lunch Club finished the walk-through with two objectives, when figures were asked
per objective; "bea" of Whitehawk Befrienders stopped half-way, at the second objective's "how many
people?", a question the walk-through no longer asks. Migration 0008 copies the old per-objective
answers into the organisation-wide `facts.` (issue 14, item 6).

On PostgreSQL the file's rows are loaded into a database migrated to the release's revision, then the
upgrade runs there: the same data, the same migration, on both databases.
"""

from __future__ import annotations

import importlib.util
import io
import json
import os
import sqlite3
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from docx import Document
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from svbot.config import to_async_url
from svbot.db import MIGRATIONS, upgrade
from svbot.evidence import export, latest_statement
from svbot.knowledge import load_knowledge
from svbot.paths import dialogues_dir, knowledge_dir
from svbot.text import text
from tests.conftest import ON_POSTGRES, run_async_in_thread
from tests.scenario import Clock, ScenarioBot, make_bot

FIXTURE = Path(__file__).parent / "data" / "release-368f2c2.sqlite"
RELEASE_REVISION = "0007_locale"
ANN, BEA = 1, 2  # their conversations' ids in the fixture
LUNCH_CLUB = 1  # the organisation ann made

# What migration 0008 makes of ann's answers (two objectives: more_volunteering, then less_isolation).
ANN_FACTS = {
    "facts.who_benefits": ["older_people", "whole_community", "people_who_are_isolated"],
    "facts.equality": ["age", "carers", "disability"],
    "facts.people_reached": 140,  # 140 and 90: the largest, not the sum
    "facts.volunteers": 12,  # 12 and 12
    "facts.volunteer_hours": 1728,  # 1,728 and 600
    "facts.partners": 5,  # 3 and 5: the largest, from the second objective
    "facts.local_spend": 2400,  # £2,400 and £1,200
    "facts.own_value": 15000,  # given for the first objective only, with its source
    "facts.own_value_source": "Our 2026 evaluation by Sussex Community Research, page 12",
    "facts.period": "last_12_months",  # the old questions said "in the last 12 months"
}
# bea answered the first objective (health_wellbeing) in full and the second only in part.
BEA_FACTS = {
    "facts.who_benefits": ["older_people", "people_who_are_isolated", "whole_community"],
    "facts.equality": ["age", "disability"],
    "facts.people_reached": 44,
    "facts.volunteers": 9,
    "facts.volunteer_hours": 702,
    "facts.partners": 2,
    "facts.period": "last_12_months",
}


# ---- the release's database, upgraded ---------------------------------------------------------------


@pytest.fixture
def release_url(tmp_path: Path, empty_db_url: str) -> str:
    """The release's database in this test's database, upgraded to the latest revision."""
    if ON_POSTGRES:
        upgrade(empty_db_url, RELEASE_REVISION)
        run_async_in_thread(lambda: _load_rows(FIXTURE, empty_db_url))
        url = empty_db_url
    else:
        copy = tmp_path / "release.sqlite"
        copy.write_bytes(FIXTURE.read_bytes())
        url = f"sqlite+aiosqlite:///{copy}"
    assert _revision(url) == RELEASE_REVISION
    upgrade(url)  # what `svbot db upgrade` runs
    return url


async def _load_rows(source: Path, url: str) -> None:
    """Every row of the SQLite file into the (migrated, empty) database at `url`, as the release left them."""
    sqlite_engine = sa.create_engine(f"sqlite:///{source}", poolclass=NullPool)
    read = sa.MetaData()
    read.reflect(sqlite_engine)
    engine = create_async_engine(to_async_url(url), poolclass=NullPool)

    def copy(connection: sa.Connection) -> None:
        target = sa.MetaData()
        target.reflect(connection)
        with sqlite_engine.connect() as sqlite_connection:
            for table in target.sorted_tables:
                if table.name == "alembic_version" or table.name not in read.tables:
                    continue
                rows = [dict(r._mapping) for r in sqlite_connection.execute(sa.select(read.tables[table.name]))]
                for row in rows:
                    for name, value in row.items():  # SQLite keeps no time zone: svbot writes UTC
                        if isinstance(value, datetime) and value.tzinfo is None:
                            row[name] = value.replace(tzinfo=UTC)
                if rows:
                    connection.execute(table.insert(), rows)
                if rows and "id" in table.c:
                    connection.execute(
                        sa.text(f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), :n)"),
                        {"n": max(r["id"] for r in rows)},
                    )

    try:
        async with engine.begin() as connection:
            await connection.run_sync(copy)
    finally:
        await engine.dispose()
        sqlite_engine.dispose()


def _revision(url: str) -> str:
    async def work() -> str:
        engine = create_async_engine(to_async_url(url), poolclass=NullPool)
        try:
            async with engine.connect() as connection:
                return (await connection.execute(sa.text("SELECT version_num FROM alembic_version"))).scalar_one()
        finally:
            await engine.dispose()

    return run_async_in_thread(work)


_ANSWERS = sa.table(
    "answers", sa.column("conversation_id", sa.Integer), sa.column("dialogue_id", sa.String),
    sa.column("key", sa.String), sa.column("value", sa.JSON), sa.column("organisation_id", sa.Integer),
)  # fmt: skip
_CONVERSATIONS = sa.table("conversations", sa.column("id", sa.Integer), sa.column("state", sa.JSON))
_STATEMENTS = sa.table("statements", sa.column("id", sa.Integer), sa.column("data", sa.JSON))


def _select(url: str, query: sa.Select) -> list[sa.Row]:
    async def work() -> list[sa.Row]:
        engine = create_async_engine(to_async_url(url), poolclass=NullPool)
        try:
            async with engine.connect() as connection:
                return list((await connection.execute(query)).all())
        finally:
            await engine.dispose()

    return run_async_in_thread(work)


def bank(url: str, conversation_id: int) -> dict[str, Any]:
    rows = _select(url, sa.select(_ANSWERS.c.key, _ANSWERS.c.value).where(
        _ANSWERS.c.conversation_id == conversation_id, _ANSWERS.c.dialogue_id == "social_value"))  # fmt: skip
    return {r.key: r.value for r in rows}


def state(url: str, conversation_id: int) -> dict[str, Any]:
    return _select(url, sa.select(_CONVERSATIONS.c.state).where(_CONVERSATIONS.c.id == conversation_id))[0].state


# ---- (c) the facts, in the bank and in each conversation ---------------------------------------------


def test_the_bank_holds_the_organisation_wide_facts(release_url: str) -> None:
    ann = bank(release_url, ANN)
    assert {k: v for k, v in ann.items() if k.startswith("facts.")} == ANN_FACTS
    bea = bank(release_url, BEA)
    assert {k: v for k, v in bea.items() if k.startswith("facts.")} == BEA_FACTS
    # The old answers stay as they were.
    assert ann["per_objective.more_volunteering.people_reached"] == 140
    assert ann["per_objective.less_isolation.people_reached"] == 90
    assert ann["per_objective.less_isolation.commitment_measure"] == "Our call log"
    assert ann["org.where"] == "Hollingdean, Brighton (BN1)"
    rows = _select(release_url, sa.select(_ANSWERS.c.organisation_id).where(
        _ANSWERS.c.conversation_id == ANN, _ANSWERS.c.key.like("facts.%")))  # fmt: skip
    assert {r.organisation_id for r in rows} == {LUNCH_CLUB}, "the facts belong to the organisation, for colleagues"


def test_each_conversation_has_the_facts_and_the_half_way_one_keeps_its_place(release_url: str) -> None:
    ann = state(release_url, ANN)
    assert {k: v for k, v in ann["answers"].items() if k.startswith("facts.")} == ANN_FACTS
    bea = state(release_url, BEA)
    assert {k: v for k, v in bea["answers"].items() if k.startswith("facts.")} == BEA_FACTS
    # Skipped under the only objective that asked it: skipped as a fact too, so not asked again.
    assert {k for k in bea["skipped"] if k.startswith("facts.")} == {"facts.local_spend", "facts.own_value"}
    assert bea["cursor"] == "per_objective.community_integration.people_reached", "the cursor is left alone"
    assert bea["mode"] == "ask"
    assert bea["answers"]["per_objective.health_wellbeing.people_reached"] == 44


def test_stored_statements_are_not_changed(release_url: str) -> None:
    with sqlite3.connect(FIXTURE) as release:
        before = {i: json.loads(d) for i, d in release.execute("SELECT id, data FROM statements")}
    after = {r.id: r.data for r in _select(release_url, sa.select(_STATEMENTS.c.id, _STATEMENTS.c.data))}
    assert after == before and len(after) == 1


def test_the_mapping_never_overwrites_and_takes_the_largest() -> None:
    mapping = _migration()
    answers = {
        "objectives": ["b_obj", "a_obj"],
        "per_objective.a_obj.people_reached": 90, "per_objective.b_obj.people_reached": 140,
        "per_objective.a_obj.volunteers": 12, "per_objective.b_obj.volunteers": None,  # skipped under b
        "per_objective.a_obj.beneficiaries": ["carers", "older_people"],
        "per_objective.b_obj.beneficiaries": ["older_people", "children"],
        "per_objective.a_obj.own_value": 20000,  # no source: not a value svbot may show
        "per_objective.b_obj.own_value": 5000, "per_objective.b_obj.own_value_source": "Our evaluation",
        "facts.volunteers": 30,  # already given in the new walk-through
    }  # fmt: skip
    facts = {key: value for key, (value, _) in mapping.new_facts(answers).items()}
    assert facts == {
        "facts.who_benefits": ["older_people", "children", "carers"],  # the first objective's order first
        "facts.people_reached": 140,
        "facts.own_value": 5000, "facts.own_value_source": "Our evaluation",
        "facts.period": "last_12_months",
    }  # fmt: skip
    assert mapping.new_facts({"facts.period": "other", "per_objective.a.partners": 3}) == {
        "facts.partners": (3, ["per_objective.a.partners"])
    }, "a period already chosen stays"


def _migration() -> Any:
    path = next((MIGRATIONS / "versions").glob("0008_*.py"))
    spec = importlib.util.spec_from_file_location("migration_0008", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# ---- (b) the finished organisation's statement ------------------------------------------------------


async def test_the_stored_statement_still_renders(release_url: str, tmp_path: Path) -> None:
    bot = await make_bot(release_url, dialogues_dir=dialogues_dir(), clock=Clock())
    try:
        async with bot.sessionmaker() as session:
            record = await latest_statement(session, LUNCH_CLUB)
    finally:
        await bot.db_engine.dispose()  # type: ignore[attr-defined]
    assert record is not None
    knowledge = load_knowledge(knowledge_dir())
    markdown = export(record, knowledge, "md")
    assert isinstance(markdown, str)
    assert markdown.startswith("# ") and "Hollybush Lunch Club" in markdown.splitlines()[0]
    for shown in ("140", "1,728", "£2,400", "£15,000", "Sussex Community Research", "Recruit 4 new volunteers",
                  "31 March 2028", "Members tell us they feel less lonely"):  # fmt: skip
        assert shown in markdown, shown
    document = Document(io.BytesIO(export(record, knowledge, "docx")))  # type: ignore[arg-type]
    assert "Hollybush Lunch Club" in document.paragraphs[0].text

    env = {**os.environ, "DATABASE_URL": release_url}
    command = [sys.executable, "-m", "svbot", "statement", "export", "--org", str(LUNCH_CLUB)]
    done = subprocess.run([*command, "--format", "md"], capture_output=True, text=True, env=env, cwd=tmp_path,
                          timeout=120)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "Hollybush Lunch Club" in done.stdout and "1,728" in done.stdout
    out = tmp_path / "statement.docx"
    done = subprocess.run([*command, "--format", "docx", "--out", str(out)], capture_output=True, text=True,
                          env=env, cwd=tmp_path, timeout=120)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "Hollybush Lunch Club" in Document(str(out)).paragraphs[0].text


async def test_the_finished_organisation_is_offered_its_facts_next_time(release_url: str) -> None:
    bot = await make_bot(release_url, dialogues_dir=dialogues_dir(), clock=Clock())
    ann = ScenarioBot(bot, user="ann")
    try:
        await ann.say("start")
        for _ in range(30):
            meta = ann.last_message.meta
            if meta.get("key") == "facts.people_reached":
                break
            await ann.press(text("dialogue.button.answer_yes")) if meta.get("confirm") else await ann.say("skip")
        assert ann.last_message.meta == {"key": "facts.people_reached", "confirm": "yes"}, ann.transcript[-4:]
        assert "140" in ann.last, "offered back ('Last time you told me: 140'), not asked from scratch"
    finally:
        await bot.db_engine.dispose()  # type: ignore[attr-defined]


# ---- (a) the person half-way through carries on -------------------------------------------------------

# bea's answers to the questions the new walk-through adds (the rest she gave before the upgrade).
BEA_NEW = {
    "per_objective.health_wellbeing.over_and_above": "Volunteers make extra calls at Christmas that no grant pays for",
    "per_objective.community_integration.over_and_above": "We go with people to their first visit, unpaid",
    "per_objective.community_integration.change": "People who were alone now go out to a group every week",
    "per_objective.community_integration.evidence_kinds": "case study",
    "per_objective.community_integration.evidence_detail": "Our case notes show 11 people joined a group this year",
    "per_objective.community_integration.commitment": "Introduce 20 people to a local group by March 2028",
}


WEEKS_LATER = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)
A_MINUTE_LATER = datetime(2026, 10, 20, 18, 49, tzinfo=UTC)  # her last answer: 19:48 UK time, 20 October 2026
FIRST_NEW = "per_objective.health_wellbeing.over_and_above"  # the first question she has not answered


@pytest.mark.parametrize(
    ("said", "now"),
    [("about 50", WEEKS_LATER), ("about 50", A_MINUTE_LATER), ("start", WEEKS_LATER)],
    ids=["answers weeks later", "answers a minute later", "says start"],
)
async def test_the_half_way_person_finishes_with_the_new_questions(release_url: str, said: str, now: datetime) -> None:
    bot = await make_bot(release_url, dialogues_dir=dialogues_dir(), clock=Clock(now))
    bea = ScenarioBot(bot, user="bea")
    try:
        # She answers the question she last saw, which the walk-through no longer asks (or says "start").
        await bea.say(said)
        assert all(m.kind != "error" for m in bea.replies), bea.text
        if said != "start":
            assert "Welcome back" in bea.text, "told, not given another question in reply to her answer"
            await bea.press(text("dialogue.button.carry_on"))
        asked = await finish(bea, BEA_NEW)
    finally:
        await bot.db_engine.dispose()  # type: ignore[attr-defined]

    carried = [key for key, offered in asked if key.startswith(("facts.", "org.", "framework", "objectives"))]
    assert all(offered for key, offered in asked if key in carried), (
        f"facts carried over are offered with their answers, not asked from scratch: {asked}"
    )
    first_new = next(key for key, offered in asked if not offered)
    assert first_new == FIRST_NEW, f"the first question with no answer yet is the first new one: {asked}"
    statement = "\n".join(m.text for m in bea.replies if m.markdown)
    assert statement.startswith("# ") and "Whitehawk Befrienders" in statement.splitlines()[0]
    assert "Volunteers make extra calls at Christmas" in statement, "the new question's answer is in it"
    assert "44" in statement and "702" in statement, "the figures carried over are in it"
    rows = _select(release_url, sa.select(_STATEMENTS.c.id))
    assert len(rows) == 2, "ann's statement and now bea's"


async def test_carrying_on_goes_straight_to_the_first_new_question(release_url: str) -> None:
    bot = await make_bot(release_url, dialogues_dir=dialogues_dir(), clock=Clock(WEEKS_LATER))
    bea = ScenarioBot(bot, user="bea")
    try:
        await bea.say("about 50")
        await bea.press(text("dialogue.button.carry_on"))
        assert bea.last_message.meta.get("key") == FIRST_NEW, bea.text
    finally:
        await bot.db_engine.dispose()  # type: ignore[attr-defined]


async def test_the_half_way_persons_figures_appear_once(release_url: str) -> None:
    bot = await make_bot(release_url, dialogues_dir=dialogues_dir(), clock=Clock())
    bea = ScenarioBot(bot, user="bea")
    try:
        await bea.say("start")
        await finish(bea, BEA_NEW)
    finally:
        await bot.db_engine.dispose()  # type: ignore[attr-defined]
    # Issue 14, finding 1: "identical answers then appear twice in the statement". The migration keeps the
    # old per-objective answers (so stored statements stay as they are) and adds facts.*: her statement
    # has the group's figures and who benefits once, for the whole group, not again under the objective
    # they were first given for.
    latest = _select(release_url, sa.select(_STATEMENTS.c.data).order_by(_STATEMENTS.c.id.desc()).limit(1))
    data = latest[0].data
    assert data["numbers"]["people_reached"] == 44 and data["numbers"]["volunteer_hours"] == 702
    assert data["who_benefits"] == BEA_FACTS["facts.who_benefits"]
    assert data["equality_groups"] == BEA_FACTS["facts.equality"]
    for objective in data["objectives"]:
        assert objective["beneficiaries"] == [] and objective["equality_groups"] == []
        assert all(objective["numbers"][name] is None for name in ("people_reached", "volunteers", "partners"))


async def finish(bot: ScenarioBot, answers: dict[str, str]) -> list[tuple[str, bool]]:
    """Carry on to the statement: the answers given here, "Keep" for answers given before, "skip" for the
    rest; "yes" to every check and "All correct" at the review. Returns each question asked, and whether it
    came with an answer already (to keep, ticked, or "still right?")."""
    asked: list[tuple[str, bool]] = []
    for _ in range(80):
        if "draft evidence statement" in bot.text:
            return asked
        message = bot.last_message
        key = message.meta.get("key")
        labels = [b.label for b in (*message.buttons, *message.controls)]
        if message.meta.get("confirm"):  # "just to check", or "last time you told me ...: still right?"
            asked.append((key, True))
            await bot.press(text("dialogue.button.answer_yes"))
        elif key is None and text("dialogue.button.answer_yes") in labels:
            await bot.press(text("dialogue.button.answer_yes"))
        elif key is None:
            assert text("dialogue.button.all_correct") in labels, bot.transcript[-4:]
            await bot.press(text("dialogue.button.all_correct"))
        elif key in answers:
            asked.append((key, False))
            await bot.say(answers[key])
        elif text("dialogue.button.keep") in labels:
            asked.append((key, True))
            await bot.press(text("dialogue.button.keep"))
        elif message.multi_select and any(b.selected for b in message.buttons):  # ticked as answered before
            asked.append((key, True))
            await bot.press(text("dialogue.button.done"))
        else:
            asked.append((key, False))
            await bot.say("skip")
        assert all(m.kind != "error" for m in bot.replies), bot.transcript[-4:]
    raise AssertionError("the walk-through never finished:\n" + "\n".join(bot.transcript[-12:]))
