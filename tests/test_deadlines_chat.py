"""Deadlines in conversation: what's due, Submitted, snooze and help, by buttons and typed words,
with the reminder itself planned and sent through the real planner and dispatcher."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from svbot.app import send_limits
from svbot.deadlines.models import Deadline, Grant, Snooze
from svbot.deadlines.planner import plan_reminders
from svbot.deadlines.service import rules_for, set_cursor
from svbot.delivery.dispatcher import Dispatcher
from svbot.delivery.ratelimit import RateLimiter
from svbot.models import Identity, Membership, Organisation
from tests.scenario import START, Clock, RecordingSender, ScenarioBot, make_bot

TODAY = START.date()


@pytest.fixture
async def alice(db_url: str) -> ScenarioBot:
    bot = await make_bot(db_url, clock=Clock(), start_dialogue="every_type")
    person = ScenarioBot(bot)
    await person.say("hello")  # she is known to svbot now
    async with bot.sessionmaker() as session, session.begin():
        identity = await session.scalar(select(Identity).where(Identity.platform_user_id == "alice"))
        rules = await rules_for(session, None)
        assert identity is not None
        ours, theirs = Organisation(name="Lunch Club"), Organisation(name="Another Group")
        session.add_all([ours, theirs])
        await session.flush()
        session.add(Membership(person_id=identity.person_id, organisation_id=ours.id, role="member"))
        for org, title in ((ours, "Lunch grant"), (theirs, "Their grant")):
            grant = Grant(external_id=f"360G-{org.id}", organisation_id=org.id, title=title)
            session.add(grant)
            await session.flush()
            rows = [
                Deadline(grant_id=grant.id, organisation_id=org.id, key="q1", status="upcoming",
                         title="Quarterly monitoring report", due_date=TODAY + timedelta(days=5)),
                Deadline(grant_id=grant.id, organisation_id=org.id, key="final", status="upcoming",
                         title="Final monitoring report", due_date=TODAY + timedelta(days=100)),
            ]  # fmt: skip
            for row in rows:  # entered by hand: point the planner at each one's first reminder
                set_cursor(row, rules, START)
            session.add_all(rows)
    yield person
    await bot.db_engine.dispose()  # type: ignore[attr-defined]


async def deadlines(bot: ScenarioBot) -> dict[tuple[str, str], Deadline]:
    async with bot.bot.sessionmaker() as session:
        rows = (await session.execute(select(Deadline, Grant.title).join(Grant))).all()
    return {(title, d.key): d for d, title in rows}


async def test_whats_due_lists_only_my_organisations_reports(alice: ScenarioBot) -> None:
    await alice.say("What's due?")
    assert "Quarterly monitoring report for Lunch grant — due Fri 27 Nov 2026 (in 5 days)" in alice.last
    assert "Final monitoring report for Lunch grant" in alice.last
    assert "Their grant" not in alice.last
    assert [b.label for b in alice.last_message.buttons] == ["Submitted: Quarterly monitoring report (Fri 27 Nov 2026)"]


async def test_submitted_button_and_a_forged_id(alice: ScenarioBot) -> None:
    await alice.say("due")
    await alice.press("Submitted: Quarterly")
    assert "marked the quarterly monitoring report for Lunch grant as submitted" in alice.last
    theirs = (await deadlines(alice))[("Their grant", "q1")]
    await alice.send(alice.inbound(payload=f"dl:submitted:{theirs.id}"))
    assert "can't find that report" in alice.last
    await alice.send(alice.inbound(payload="dl:submitted:not-a-number"))
    assert "can't find that report" in alice.last
    rows = await deadlines(alice)
    assert rows[("Lunch grant", "q1")].status == "submitted"
    assert rows[("Their grant", "q1")].status == "upcoming", "another organisation's report is untouched"


async def test_typed_submitted_and_snooze(alice: ScenarioBot) -> None:
    await alice.say("submitted")
    assert "Which report do you mean?" in alice.last, "two open reports: ask which"
    await alice.press("Submitted: Quarterly")
    await alice.say("snooze forever")
    assert "How long for?" in alice.last
    await alice.say("snooze 1 week")
    # A week from Sunday is a Sunday: reminders wait for the Monday, and the reply says so.
    assert "remind you about the final monitoring report for Lunch grant on Mon 30 Nov 2026" in alice.last
    async with alice.bot.sessionmaker() as session:
        snoozes = (await session.scalars(select(Snooze))).all()
    assert len(snoozes) == 1 and snoozes[0].deadline_id == (await deadlines(alice))[("Lunch grant", "final")].id


async def test_a_reminder_is_sent_and_its_buttons_work(alice: ScenarioBot) -> None:
    sender = RecordingSender()
    due = TODAY + timedelta(days=5)
    # 3 days before the quarterly report, at 09:00 London time.
    when = START.replace(day=due.day - 3, hour=9, minute=30)
    await plan_reminders(alice.bot.sessionmaker, when)
    result = await Dispatcher(alice.bot.sessionmaker, {"console": sender}, RateLimiter(send_limits())).run_once(when)
    assert result.sent == 1 and len(sender.sent) == 1
    chat_id, reminder = sender.sent[0]
    assert chat_id == "alice" and reminder.kind == "reminder"
    assert "Quarterly monitoring report" in reminder.text
    assert [b.label for b in reminder.buttons] == ["Submitted", "Remind me in 3 days", "Help me write it"]
    alice.replies = [reminder]
    await alice.press("Remind me in 3 days")
    assert "OK, I'll remind you about the quarterly monitoring report" in alice.last
    alice.replies = [reminder]
    await alice.press("Help me write it")  # the monitoring report (tests/test_monitoring.py), not the walk-through
    assert "What is your group called?" not in alice.text
    assert "can't find the form for this report" in alice.text, "these test dialogues have no monitoring form"
    alice.replies = [reminder]
    await alice.press("Submitted")
    assert (await deadlines(alice))[("Lunch grant", "q1")].status == "submitted"
    await alice.say("submitted")
    assert "Lunch grant" in alice.last, "typed 'submitted' now means the only open report"
