"""Who the planner reminds when many organisations fall due at once, and how the database finds them.

The recipients query (svbot.delivery.recipients) runs inside the clock's write transaction, so its
plan matters: SQLite once read every identity for each due organisation (1.4 s for 2,000 due among
12,500 organisations, while chat turns waited). test_reminders.py covers one organisation's members
(several platforms, a blocked one); here: many organisations, shared members, unreachable identities.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest
from sqlalchemy import event, insert, select

from svbot.deadlines.models import UPCOMING, Deadline, Grant
from svbot.deadlines.planner import plan_reminders
from svbot.deadlines.schedules import ReminderRules
from svbot.deadlines.service import set_cursor
from svbot.delivery.models import OutboxMessage
from svbot.delivery.recipients import reachable_members
from svbot.models import Identity, Membership, Organisation, Person
from tests.conftest import ON_POSTGRES

CREATED = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
DUE = date(2027, 1, 29)
FIRST_REMINDER = datetime(2027, 1, 15, 9, 0, tzinfo=UTC)  # 14 days before, 09:00 in London (GMT)


# ---------------------------------------------------------------- exactly the right people


# Each person: the organisations they belong to and their identities as (platform, chat_id, active).
# Organisations 1-12; those with an even number have a report due.
PEOPLE: list[tuple[list[int], list[tuple[str, str | None, bool]]]] = [
    *[([org], [("telegram", f"t{org}", True)]) for org in range(1, 11)],  # one each in 1-10
    ([2, 4, 5, 6], [("slack", "D-shared", True)]),  # in three due organisations and a quiet one
    ([2, 3], [("telegram", "t-two", True), ("slack", "D-two", True)]),  # two chats: both reminded
    ([4], [("telegram", "t-blocked", False), ("slack", "D-fine", True)]),  # blocked us on one of two
    ([6], [("telegram", None, True)]),  # never wrote to us: no chat to write to first
    ([8], []),  # a member with no chat identity at all
    ([], [("telegram", "t-nobody", True)]),  # in no organisation
    ([11], [("telegram", "t-quiet", True)]),  # only in an organisation with nothing due
]
ORGANISATIONS = range(1, 13)  # 12 has no members at all
DUE_ORGS = [org for org in ORGANISATIONS if org % 2 == 0]


async def people(db) -> tuple[dict[int, int], dict[int, set[int]]]:
    """Store ORGANISATIONS and PEOPLE. Returns (organisation number -> id, organisation id ->
    identity ids that can be reached there), the latter worked out here from PEOPLE, not the database."""
    orgs: dict[int, int] = {}
    reachable: dict[int, set[int]] = {}
    async with db() as session, session.begin():
        for number in ORGANISATIONS:
            org = Organisation(name=f"Group {number}", kind="member")
            session.add(org)
            await session.flush()
            orgs[number] = org.id
            reachable[org.id] = set()
        for n, (member_of, chats) in enumerate(PEOPLE):
            person = Person(display_name=f"Person {n}")
            session.add(person)
            await session.flush()
            session.add_all(Membership(person_id=person.id, organisation_id=orgs[number]) for number in member_of)
            for k, (platform, chat_id, active) in enumerate(chats):
                identity = Identity(
                    person_id=person.id, platform=platform, platform_user_id=f"u{n}-{k}", chat_id=chat_id, active=active
                )
                session.add(identity)
                await session.flush()
                if active and chat_id is not None:
                    for number in member_of:
                        reachable[orgs[number]].add(identity.id)
    return orgs, reachable


async def test_many_organisations_due_at_once_each_deadline_reaches_exactly_its_members(db) -> None:
    orgs, reachable = await people(db)
    expected: set[tuple[int, int]] = set()
    async with db() as session, session.begin():
        for number in ORGANISATIONS:
            org_id = orgs[number]
            grant = Grant(external_id=f"g-{number}", organisation_id=org_id, title=f"Grant {number}")
            session.add(grant)
            await session.flush()
            # Two reports due in organisation 4, one in each other even one, none in the odd ones.
            reports = {4: 2}.get(number, 1 if number in DUE_ORGS else 0)
            for k in range(reports):
                deadline = Deadline(
                    grant_id=grant.id, organisation_id=org_id, key=f"q{k}", title="Report", due_date=DUE
                )
                deadline.status = UPCOMING
                set_cursor(deadline, ReminderRules(), CREATED)
                session.add(deadline)
                await session.flush()
                expected |= {(deadline.id, identity) for identity in reachable[org_id]}
            if not reports:  # a report months away: nothing now
                later = Deadline(
                    grant_id=grant.id, organisation_id=org_id, key="later", title="Report", due_date=date(2027, 6, 30)
                )
                later.status = UPCOMING
                set_cursor(later, ReminderRules(), CREATED)
                session.add(later)

    result = await plan_reminders(db, FIRST_REMINDER)

    async with db() as session:
        rows = (await session.scalars(select(OutboxMessage))).all()
        identities = {i.id: i for i in (await session.scalars(select(Identity))).all()}
    got = {(int(row.ref.split(":")[1]), row.identity_id) for row in rows}
    assert got == expected
    assert (result.deadlines, result.queued) == (len(DUE_ORGS) + 1, len(expected))
    # Each row is addressed to that identity's own chat.
    assert all(
        (row.platform, row.chat_id) == (identities[row.identity_id].platform, identities[row.identity_id].chat_id)
        for row in rows
    )
    # The spot checks the table above promises: the shared member once per due organisation's report
    # (organisation 4 has two), the quiet organisation's member and the unreachable ones never.
    by_chat: dict[str | None, int] = {}
    for row in rows:
        by_chat[row.chat_id] = by_chat.get(row.chat_id, 0) + 1
    assert by_chat["D-shared"] == 4 and by_chat["t-two"] == by_chat["D-two"] == 1 and by_chat["D-fine"] == 2
    assert not {"t-blocked", "t-nobody", "t-quiet", None, "t1", "t3"} & set(by_chat)


async def test_reachable_members_one_row_per_organisation_and_identity_in_identity_order(db) -> None:
    orgs, reachable = await people(db)
    asked = [orgs[number] for number in (2, 3, 4, 12)]
    async with db() as session:
        found = await reachable_members(session, asked)
        platforms = dict((await session.execute(select(Identity.id, Identity.platform))).all())
    assert [(r.identity_id, r.organisation_id) for r in found] == sorted(
        (identity, org) for org in asked for identity in reachable[org]
    )
    assert all(r.platform == platforms[r.identity_id] for r in found)
    async with db() as session:
        assert await reachable_members(session, []) == []


# ---------------------------------------------------------------- how SQLite finds them


ORGS_IN_PLAN_TEST = 5_000  # one member each, one identity each


async def fill(db, organisations: int) -> None:
    """Many organisations with a member and a chat identity each, inserted in bulk."""
    stamp = CREATED

    def rows(make: Any) -> list[dict[str, Any]]:
        return [make(i) for i in range(1, organisations + 1)]

    async with db() as session, session.begin():
        await session.execute(
            insert(Organisation), rows(lambda i: {"id": i, "name": f"Org {i}", "kind": "member", "created_at": stamp})
        )
        await session.execute(insert(Person), rows(lambda i: {"id": i, "display_name": f"P{i}", "created_at": stamp}))
        await session.execute(
            insert(Identity),
            rows(
                lambda i: {
                    "id": i,
                    "person_id": i,
                    "platform": "telegram",
                    "platform_user_id": str(i),
                    "chat_id": str(i),
                    "display_name": "",
                    "active": True,
                    "created_at": stamp,
                }
            ),
        )
        await session.execute(
            insert(Membership),
            rows(lambda i: {"person_id": i, "organisation_id": i, "role": "member", "created_at": stamp}),
        )


async def recipients_plan(db, organisation_ids: list[int]) -> list[str]:
    """SQLite's plan for the very statement reachable_members runs (caught on its way to the driver)."""
    engine = db.kw["bind"].sync_engine
    caught: list[tuple[str, Any]] = []

    def catch(conn, cursor, statement, parameters, context, executemany) -> None:  # type: ignore[no-untyped-def]
        caught.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", catch)
    try:
        async with db() as session:
            found = await reachable_members(session, organisation_ids)
    finally:
        event.remove(engine, "before_cursor_execute", catch)
    assert len(found) == len(organisation_ids)
    [(statement, parameters)] = caught
    async with db() as session:
        connection = await session.connection()
        return [row[-1] for row in await connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters)]


@pytest.mark.skipif(ON_POSTGRES, reason="SQLite's query plan (PostgreSQL plans for itself)")
async def test_recipients_go_from_the_due_organisations_memberships_to_identities_never_scanning_them(db) -> None:
    await fill(db, ORGS_IN_PLAN_TEST)
    # A few due organisations; a fifth of them (after ANALYZE this flipped at about a tenth); all
    # (without statistics, from about 3,300 on). Statistics as in production (none), then after ANALYZE.
    sizes = [50, ORGS_IN_PLAN_TEST // 5, ORGS_IN_PLAN_TEST]
    plans: dict[str, list[str]] = {}
    for statistics in ("none", "ANALYZE"):
        if statistics == "ANALYZE":
            async with db() as session, session.begin():
                await (await session.connection()).exec_driver_sql("ANALYZE")
        for size in sizes:
            step = ORGS_IN_PLAN_TEST // size
            due = list(range(step, ORGS_IN_PLAN_TEST + 1, step))
            plans[f"{size} of {ORGS_IN_PLAN_TEST} organisations, statistics: {statistics}"] = await recipients_plan(
                db, due
            )
    scans = {case: plan for case, plan in plans.items() if any(s.startswith("SCAN identities") for s in plan)}
    assert not scans, f"every identity read for the due organisations: {scans}"
    for case, plan in plans.items():
        assert plan[0].startswith("SEARCH memberships USING COVERING INDEX"), (case, plan)
        assert any(s.startswith("SEARCH identities USING INDEX") for s in plan), (case, plan)
