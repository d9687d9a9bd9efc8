"""What a grant agreed (issue 16, item 1): outcomes with targets and units, a budget, and outcomes a
grantee proposes. Through the real `svbot` command, a grants file, and the service functions."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from svbot.deadlines.importer import import_grants
from svbot.deadlines.models import AGREED, PROPOSED, Grant
from svbot.deadlines.outcomes import (
    OutcomeProblem,
    OutcomeSpec,
    agreed_outcomes,
    parse_outcome,
    parse_outcomes,
    propose_outcomes,
    set_agreed_outcomes,
)
from svbot.models import Organisation, Person
from tests.conftest import run_sql
from tests.test_programmes import ok, one_line_error, svbot

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
HEADER = (
    "Identifier,Title,Description,Currency,Amount Awarded,Amount Applied For,Amount Disbursed,Award Date,"
    "Planned Dates:Start Date,Planned Dates:End Date,Recipient Org:Identifier,Recipient Org:Name,"
    "Funding Org:Identifier,Funding Org:Name,Grant Programme:Code,Agreed outcomes,Budget\n"
)


def test_outcomes_are_read_as_text_target_unit() -> None:
    assert parse_outcome("Train advisers:4:advisers") == OutcomeSpec("Train advisers", Decimal("4.00"), "advisers")
    assert parse_outcome(" Advice sessions : 1,200 ") == OutcomeSpec("Advice sessions", Decimal("1200.00"), "")
    assert parse_outcome("Open a drop-in") == OutcomeSpec("Open a drop-in")
    assert parse_outcome("Open a drop-in:") == OutcomeSpec("Open a drop-in")
    assert parse_outcome("Raise funds::pounds") == OutcomeSpec("Raise funds", None, "pounds")
    # A colon in the text is kept: only a number after one starts the target.
    assert parse_outcome("Phase 2: open the café:2:sites") == OutcomeSpec("Phase 2: open the café", Decimal(2), "sites")
    assert parse_outcome("Time: 10am sessions") == OutcomeSpec("Time: 10am sessions")
    assert [o.text for o in parse_outcomes("A:1:x; B\nC:3")] == ["A", "B", "C"]
    assert parse_outcome("Train advisers:4:advisers").describe() == "Train advisers: 4 advisers"
    with pytest.raises(OutcomeProblem, match="no outcome before the target"):
        parse_outcome(":4:advisers")


def test_grants_add_stores_outcomes_and_a_budget_and_grants_outcomes_lists_them(db_url: str, tmp_path: Path) -> None:
    ok(db_url, tmp_path, "support", "create", "Test CVS")
    ok(db_url, tmp_path, "support", "add-org", "--support-org", "1", "--name", "Advice Centre")
    grant = ["grants", "add", "--org", "2", "--title", "Advice grant", "--start", "01/04/2027", "--end", "31/03/2028",
             "--amount", "15000", "--budget", "12000", "--outcome", "Train advisers:4:advisers",
             "--outcome", "Advice sessions:300:sessions", "--outcome", "Open a drop-in"]  # fmt: skip
    assert "1 imported" in ok(db_url, tmp_path, *grant)
    reference = "svbot-2-advice-grant-2027-04-01"
    listed = ok(db_url, tmp_path, "grants", "outcomes", reference)
    assert listed.splitlines() == [
        f"Advice grant (grant 1, {reference})",
        "  awarded £15,000, budget £12,000",
        "  1. Train advisers: 4 advisers",
        "  2. Advice sessions: 300 sessions",
        "  3. Open a drop-in",
    ]
    assert ok(db_url, tmp_path, "grants", "outcomes", "1") == listed, "the grant's number works too"
    # Entering it again is harmless; with other outcomes, they replace the agreed ones.
    assert "1 unchanged" in ok(db_url, tmp_path, *grant)
    assert run_sql(db_url, "SELECT count(*) FROM grant_outcomes")[0][0] == 3
    changed = [*grant[: grant.index("--outcome")], "--outcome", "Train advisers:6:advisers"]
    assert "1 updated" in ok(db_url, tmp_path, *changed)
    assert ok(db_url, tmp_path, "grants", "outcomes", reference).splitlines()[2:] == ["  1. Train advisers: 6 advisers"]

    one_line_error(svbot(db_url, tmp_path, "grants", "outcomes", "nope"), "there is no grant 'nope'")
    one_line_error(svbot(db_url, tmp_path, *grant[:10], "--outcome", ":4:x"), "--outcome: ':4:x' has no outcome")
    one_line_error(svbot(db_url, tmp_path, *grant[:10], "--budget", "lots"), "--budget: 'lots' is not a number")


async def test_a_grants_file_carries_outcomes_and_a_budget_and_keeps_title_description_and_amounts(
    db: async_sessionmaker[AsyncSession], tmp_path: Path
) -> None:
    rows = [
        "360G-cvs-001,Lunch club grant,Weekly lunches for older people,GBP,5000,6000,2500,01/10/2026,01/11/2026,"
        '31/10/2027,GB-CHC-1234567,Hollybush Lunch Club,GB-COH-0,Our CVS,LUNCH,"Serve lunches:1,200:meals; '
        'Recruit volunteers:10:volunteers; Start a walking group","£4,800"',
        "360G-cvs-002,Befriending,Phone calls,GBP,3000,,,01/10/2026,01/11/2026,31/10/2027,GB-CHC-7654321,"
        "Whitehawk Befrienders,GB-COH-0,Our CVS,,Calls:many:calls,twelve",
        "360G-cvs-003,No outcomes,Nothing agreed yet,GBP,1000,,,01/10/2026,01/11/2026,31/10/2027,GB-CHC-1111111,"
        "Third Group,GB-COH-0,Our CVS,,,",
    ]
    path = tmp_path / "grants.csv"
    path.write_text(HEADER + "\n".join(rows) + "\n", encoding="utf-8")
    summary = await import_grants(db, path, now=NOW)
    assert (summary.imported, summary.skipped) == (3, [])
    notes = dict(summary.warnings)
    assert notes["row 3 (360G-cvs-002)"] == ["Budget: 'twelve' is not a number; ignored"]
    async with db() as session:
        grants = {g.external_id: g for g in await session.scalars(select(Grant))}
        lunch = grants["360G-cvs-001"]
        assert (lunch.title, lunch.description, lunch.currency) == (
            "Lunch club grant", "Weekly lunches for older people", "GBP"
        )  # fmt: skip
        assert (lunch.amount_awarded, lunch.amount_applied_for, lunch.amount_disbursed, lunch.budget) == (
            Decimal("5000"), Decimal("6000"), Decimal("2500"), Decimal("4800")
        )  # fmt: skip
        said = [(o.text, o.target, o.unit, o.status) for o in await agreed_outcomes(session, lunch.id)]
        assert said == [
            ("Serve lunches", Decimal("1200"), "meals", AGREED),
            ("Recruit volunteers", Decimal("10"), "volunteers", AGREED),
            ("Start a walking group", None, "", AGREED),
        ]
        # "many" is not a number: the whole cell is the outcome's text, as written.
        befriending = grants["360G-cvs-002"]
        assert [o.text for o in await agreed_outcomes(session, befriending.id)] == ["Calls:many:calls"]
        assert befriending.budget is None
        assert await agreed_outcomes(session, grants["360G-cvs-003"].id) == []

    again = await import_grants(db, path, now=NOW)
    assert again.unchanged == 3, "a re-import of the same file changes nothing"
    async with db() as session:
        assert len(await agreed_outcomes(session, lunch.id)) == 3


async def test_outcomes_a_grantee_proposes_are_marked_proposed_and_listed_after_agreed_ones(
    db: async_sessionmaker[AsyncSession], db_url: str, tmp_path: Path
) -> None:
    async with db() as session, session.begin():
        org = Organisation(name="Hollybush Lunch Club", kind="member", external_id="GB-CHC-1")
        person = Person(display_name="Ann")
        session.add_all([org, person])
        await session.flush()
        grant = Grant(external_id="360G-x-1", organisation_id=org.id, title="Lunch club grant")
        session.add(grant)
        await session.flush()
        grant_id, person_id = grant.id, person.id

    async with db() as session, session.begin():
        stored = await propose_outcomes(
            session, grant_id, ["Serve lunches:40:meals a week", OutcomeSpec("Fewer people lonely")], person_id
        )
        assert [(o.status, o.proposed_by_person_id) for o in stored] == [(PROPOSED, person_id)] * 2
    async with db() as session:
        found = await agreed_outcomes(session, grant_id)
    assert [(o.text, o.target, o.unit, o.status) for o in found] == [
        ("Serve lunches", Decimal("40"), "meals a week", PROPOSED),
        ("Fewer people lonely", None, "", PROPOSED),
    ]

    # Proposing again replaces what was proposed; the agreed ones come first and stay.
    async with db() as session, session.begin():
        await set_agreed_outcomes(session, grant_id, [OutcomeSpec("Serve lunches", Decimal(50), "meals a week")])
        await propose_outcomes(session, grant_id, ["Serve lunches:45:meals a week"], person_id)
    async with db() as session:
        found = await agreed_outcomes(session, grant_id)
    assert [(o.text, o.target, o.status) for o in found] == [
        ("Serve lunches", Decimal("50"), AGREED),
        ("Serve lunches", Decimal("45"), PROPOSED),
    ]
    listed = ok(db_url, tmp_path, "grants", "outcomes", "360G-x-1").splitlines()
    assert listed[1:] == [
        "  1. Serve lunches: 50 meals a week",
        "  2. Serve lunches: 45 meals a week  [proposed by Ann, not yet agreed]",
    ]

    async with db() as session:
        with pytest.raises(OutcomeProblem, match="there is no grant with id 999"):
            await propose_outcomes(session, 999, ["Anything"], person_id)
