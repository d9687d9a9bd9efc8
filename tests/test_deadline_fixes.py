"""Issue 16's fixes, tried as a grantee and an admin would: snooze never offers to submit, "which
report?" always offers the open reports, `due` lists every open report (oldest overdue first, a long
list summarised), the console shows reminders that fell due when a chat opens, `reminders failures`
counts what could not be delivered, and an assumed grant end is shown to the admin."""

from __future__ import annotations

import io
import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from svbot.channels.console import ConsoleChannel
from svbot.deadlines.importer import import_grants
from svbot.deadlines.models import SUBMITTED, UPCOMING, WAIVED, Deadline, Grant, Programme, Snooze
from svbot.deadlines.service import rules_for, set_cursor
from svbot.models import Identity, Membership, Organisation, Person
from tests.scenario import START, Clock, ScenarioBot, make_bot

TODAY = START.date()  # Sun 22 Nov 2026


async def member_with(bot: ScenarioBot, reports: list[tuple[str, int]]) -> dict[str, int]:
    """Alice, a member of Lunch Club, whose grant has these (title, days from today) open reports."""
    await bot.say("hello")
    async with bot.bot.sessionmaker() as session, session.begin():
        identity = await session.scalar(select(Identity).where(Identity.platform_user_id == bot.user))
        rules = await rules_for(session, None)
        org = Organisation(name="Lunch Club")
        session.add(org)
        await session.flush()
        session.add(Membership(person_id=identity.person_id, organisation_id=org.id, role="member"))
        grant = Grant(external_id=f"360G-{bot.user}", organisation_id=org.id, title="Lunch grant")
        session.add(grant)
        await session.flush()
        rows = {}
        for number, (title, days) in enumerate(reports, 1):
            row = Deadline(grant_id=grant.id, organisation_id=org.id, key=f"k{number}", status="upcoming",
                           title=title, due_date=TODAY + timedelta(days=days))  # fmt: skip
            set_cursor(row, rules, START)
            session.add(row)
            rows[title] = row
        await session.flush()
        return {title: row.id for title, row in rows.items()}


@pytest.fixture
async def alice(db_url: str) -> ScenarioBot:
    bot = await make_bot(db_url, clock=Clock(), start_dialogue="every_type")
    yield ScenarioBot(bot)
    await bot.db_engine.dispose()  # type: ignore[attr-defined]


async def test_snooze_with_two_overdue_reports_asks_which_to_snooze_and_never_offers_submitted(
    alice: ScenarioBot,
) -> None:
    ids = await member_with(alice, [("Quarterly report (1 of 4)", -40), ("Quarterly report (2 of 4)", -10)])
    await alice.say("snooze 1 week")
    assert "Which report do you mean?" in alice.last
    labels = [b.label for b in alice.last_message.buttons]
    assert labels == [
        "Snooze: Quarterly report (1 of 4) (Tue 13 Oct 2026)",
        "Snooze: Quarterly report (2 of 4) (Thu 12 Nov 2026)",
    ]
    assert not any("Submitted" in label for label in labels)
    await alice.press("Snooze: Quarterly report (2 of 4)")
    assert "remind you about the quarterly report (2 of 4) for Lunch grant on Mon 30 Nov 2026" in alice.last
    async with alice.bot.sessionmaker() as session:
        statuses = {d.id: d.status for d in await session.scalars(select(Deadline))}
        snoozes = [(s.deadline_id, s.until.date()) for s in await session.scalars(select(Snooze))]
    assert set(statuses.values()) == {"upcoming"}, "snoozing marks nothing submitted"
    assert snoozes == [(ids["Quarterly report (2 of 4)"], date(2026, 11, 30))]


async def test_which_report_always_lists_the_open_reports_even_when_none_is_due_soon(alice: ScenarioBot) -> None:
    await member_with(alice, [("Quarterly report", 50), ("Final report", 120)])
    await alice.say("submitted")
    assert "Which report do you mean?" in alice.last
    assert [b.label for b in alice.last_message.buttons] == [
        "Submitted: Quarterly report (Mon 11 Jan 2027)",
        "Submitted: Final report (Mon 22 Mar 2027)",
    ]
    await alice.say("snooze 3 days")
    assert "Which report do you mean?" in alice.last
    assert [b.payload.split(":")[1::2] for b in alice.last_message.buttons] == [["snooze", "3"]] * 2


async def test_nothing_open_says_so_for_snooze_as_well_as_submitted(alice: ScenarioBot) -> None:
    await member_with(alice, [])
    await alice.say("snooze 1 week")
    assert alice.last == "You have no monitoring reports waiting, so there's nothing to snooze."
    assert not alice.last_message.buttons


async def test_due_lists_every_open_report_oldest_overdue_first_and_summarises_a_long_list(
    alice: ScenarioBot,
) -> None:
    reports = [("Ancient report", -400), ("Old report", -90)] + [(f"Report {n}", 30 * n) for n in range(1, 8)]
    await member_with(alice, reports)
    await alice.say("due")
    lines = alice.last.splitlines()
    assert lines[0] == "Your monitoring reports, oldest first:"
    assert lines[1] == "Ancient report for Lunch grant — was due Sat 18 Oct 2025 (400 days ago)"
    assert lines[2].startswith("Old report for Lunch grant — was due Mon 24 Aug 2026")
    assert len(lines) == 1 + 6 + 1
    assert lines[-1] == "…and 3 more: say due all to see them all."
    assert [b.label for b in alice.last_message.buttons][:2] == [
        "Submitted: Ancient report (Sat 18 Oct 2025)",
        "Submitted: Old report (Mon 24 Aug 2026)",
    ]
    await alice.say("due all")
    lines = alice.last.splitlines()
    assert len(lines) == 1 + 9 and lines[-1].startswith("Report 7 for Lunch grant")
    assert "more" not in alice.last


async def test_the_console_shows_reminders_that_fell_due_when_a_chat_opens(db_url: str) -> None:
    clock = Clock()
    bot = await make_bot(db_url, clock=clock, start_dialogue="every_type")
    try:
        ada, bob = ScenarioBot(bot, user="ada"), ScenarioBot(bot, user="bob")
        await member_with(ada, [("Quarterly report", 4)])  # due Thu 26 Nov: reminded Mon 23 Nov, 09:00
        await member_with(bob, [("Bob's report", 4)])
        clock.advance(days=1)  # Mon 23 Nov 2026, 10:00 UTC; no `svbot clock` has run
        out = io.StringIO()
        await ConsoleChannel(bot, "ada", out=out, interactive=False).run(["1"])
        shown = out.getvalue()
        assert shown.startswith("Reminder: Quarterly report for Lunch grant is due Thu 26 Nov 2026 (in 3 days).")
        assert "  1. Submitted\n  2. Remind me in 3 days\n  3. Help me write it" in shown
        assert "Bob's report" not in shown, "another console user's reminder stays for them"
        assert "marked the quarterly report for Lunch grant as submitted" in shown, "1 pressed the reminder's button"
        again = io.StringIO()
        await ConsoleChannel(bot, "ada", out=again, interactive=False).run([])
        assert again.getvalue() == "", "shown once"
        bobs = io.StringIO()
        await ConsoleChannel(bot, "bob", out=bobs, interactive=False).run([])
        assert bobs.getvalue().startswith("Reminder: Bob's report for Lunch grant is due Thu 26 Nov 2026")
    finally:
        await bot.db_engine.dispose()  # type: ignore[attr-defined]


# ---------------------------------------------------------------- imports that respect what people did

PTC = Path(__file__).parent / "data" / "360giving" / "samples" / "powertochange_a002400000nO46WAAS.json"
IMPORTED_AT = datetime(2026, 8, 15, 12, 0, tzinfo=UTC)


async def test_ignore_before_leaves_years_of_history_untracked(db) -> None:
    """Power to Change's real file: 870 grants from 2015 on. Imported today with --ignore-before, no
    member is overdue for a report svbot never reminded them of."""
    summary = await import_grants(db, PTC, now=IMPORTED_AT, ignore_before=date(2025, 1, 1))
    assert summary.imported == 870 and summary.deadlines_created == 0
    assert summary.deadlines_untracked > 1000
    async with db() as session:
        assert await session.scalar(select(func.count()).select_from(Deadline)) == 0
    # A cutoff between a grant's reports: the later one only (start 2017-01-17, end 2017-06-14).
    again = await import_grants(db, PTC, now=IMPORTED_AT, ignore_before=date(2017, 6, 1))
    assert again.updated == 870, "a different cutoff applies the schedule again"
    assert [(d.key, d.due_date) for d in await deadlines_of(db, "360G-ptc-gr-01653")] == [
        ("final", date(2017, 7, 14))
    ]


def grant_file(path: Path, end: str | None, start: str = "2026-04-01") -> Path:
    planned = {"startDate": start, **({"endDate": end} if end else {})}
    grant = {
        "id": "360G-test-1", "title": "Youth club", "description": "Sessions", "currency": "GBP",
        "amountAwarded": 10000,
        "awardDate": "2026-03-01", "plannedDates": [planned],
        "recipientOrganization": [{"id": "GB-CHC-1000001", "name": "Hastings Youth"}],
        "fundingOrganization": [{"id": "GB-CHC-2000002", "name": "East Sussex Fund"}],
    }  # fmt: skip
    path.write_text(json.dumps({"grants": [grant]}))
    return path


async def deadlines_of(db, external_id: str) -> list[Deadline]:
    async with db() as session:
        grant = await session.scalar(select(Grant).where(Grant.external_id == external_id))
        query = select(Deadline).where(Deadline.grant_id == grant.id).order_by(Deadline.due_date, Deadline.key)
        return list(await session.scalars(query))


async def test_a_reimport_never_undoes_what_people_did_and_untouched_deadlines_follow_the_schedule(
    db, tmp_path: Path
) -> None:
    path = grant_file(tmp_path / "grants.json", end="2027-09-30")  # six quarters
    first = await import_grants(db, path, now=IMPORTED_AT)
    assert first.deadlines_created == 6
    by_key = {d.key: d for d in await deadlines_of(db, "360G-test-1")}
    async with db() as session, session.begin():
        people = Person(display_name="Ada")
        session.add(people)
        await session.flush()
        ada = Identity(person_id=people.id, platform="console", platform_user_id="ada", chat_id="ada")
        session.add(ada)
        await session.flush()
        q1, q2, q3, q4 = [await session.get(Deadline, by_key[f"quarterly:{n}"].id) for n in range(1, 5)]
        q1.status, q1.status_at = SUBMITTED, IMPORTED_AT  # the first report went in
        q2.status, q2.status_at = WAIVED, IMPORTED_AT  # the funder said not to bother
        q3.due_date, q3.status_at = date(2027, 3, 15), IMPORTED_AT  # given more time
        session.add(Snooze(deadline_id=q4.id, identity_id=ada.id, until=IMPORTED_AT, remind_at=None))

    # The funder's file now says the grant started a month later and ends after a year: the schedule
    # moves every report and has no fourth or fifth quarter.
    grant_file(path, end="2027-04-30", start="2026-05-01")
    second = await import_grants(db, path, now=IMPORTED_AT)
    assert second.updated == 1
    after = {d.key: d for d in await deadlines_of(db, "360G-test-1")}
    assert (after["quarterly:1"].status, after["quarterly:1"].due_date) == (SUBMITTED, date(2026, 7, 30))
    assert (after["quarterly:2"].status, after["quarterly:2"].due_date) == (WAIVED, date(2026, 10, 30))
    assert (after["quarterly:3"].status, after["quarterly:3"].due_date) == (UPCOMING, date(2027, 3, 15))
    assert after["quarterly:4"].due_date == by_key["quarterly:4"].due_date, "snoozed: kept as it was"
    assert "quarterly:5" not in after, "untouched, and the schedule has no fifth quarter now"
    # Untouched: follows the schedule (a year from 1 May 2026 has its final report after 30 April 2027).
    assert after["final"].due_date == date(2027, 5, 30) and after["final"].id == by_key["final"].id
    assert (second.deadlines_updated, second.deadlines_kept, second.deadlines_removed) == (1, 4, 1)


async def test_a_reimport_adds_no_past_report_and_a_later_cutoff_untracks_untouched_history(
    db, tmp_path: Path
) -> None:
    path = grant_file(tmp_path / "grants.json", end="2027-03-31")  # due 30 Jul, 30 Oct 2026, 30 Jan, 30 Apr 2027
    await import_grants(db, path, now=IMPORTED_AT, ignore_before=date(2026, 9, 1))
    assert [d.key for d in await deadlines_of(db, "360G-test-1")] == ["quarterly:2", "quarterly:3", "final"]
    # A changed file, imported without the flag: the July report, already past, is not brought back.
    grant_file(path, end="2027-03-31", start="2026-04-02")
    later = await import_grants(db, path, now=IMPORTED_AT)
    assert later.deadlines_past_skipped == 1 and later.deadlines_created == 0
    assert [d.key for d in await deadlines_of(db, "360G-test-1")] == ["quarterly:2", "quarterly:3", "final"]
    # The admin decides to track from February only: untouched earlier reports go, a submitted one stays.
    [q2, q3, final] = await deadlines_of(db, "360G-test-1")
    async with db() as session, session.begin():
        stored = await session.get(Deadline, q2.id)
        stored.status, stored.status_at = SUBMITTED, IMPORTED_AT
    cut = await import_grants(db, path, now=IMPORTED_AT, ignore_before=date(2027, 2, 1))
    assert (cut.deadlines_untracked, cut.deadlines_removed) == (2, 0)  # July's (never stored) and January's
    assert [(d.key, d.status) for d in await deadlines_of(db, "360G-test-1")] == [
        ("quarterly:2", SUBMITTED),
        ("final", UPCOMING),
    ]


async def test_a_programmes_ignore_before_applies_when_the_import_names_no_date(db, tmp_path: Path) -> None:
    async with db() as session, session.begin():
        cvs = Organisation(name="Our CVS", kind="support")
        session.add(cvs)
        await session.flush()
        session.add(Programme(support_org_id=cvs.id, code="COMM", title="Community", ignore_before=date(2026, 9, 1)))
        cvs_id = cvs.id
    path = grant_file(tmp_path / "grants.json", end="2027-03-31")  # due 30 Jul, 30 Oct 2026, 30 Jan, 30 Apr 2027
    grant = json.loads(path.read_text())
    grant["grants"][0]["grantProgramme"] = [{"code": "COMM", "title": "Community"}]
    path.write_text(json.dumps(grant))
    summary = await import_grants(db, path, now=IMPORTED_AT, support_org_id=cvs_id)
    assert (summary.deadlines_created, summary.deadlines_untracked) == (3, 1)
    # The import's own date comes first.
    again = await import_grants(db, path, now=IMPORTED_AT, support_org_id=cvs_id, ignore_before=date(2027, 1, 1))
    assert again.deadlines_untracked == 2
    assert [d.key for d in await deadlines_of(db, "360G-test-1")] == ["quarterly:3", "final"]
