"""Reminders: planned exactly once, delivered at least once and never doubled, snooze/submitted, DST,
rate limits, the chat-facing services and the .ics feed. Real SQLite files, real planner and dispatcher;
the platforms are a recording sender."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from icalendar import Calendar
from sqlalchemy import func, select, text

from svbot.app import send_limits
from svbot.db import make_engine, make_sessionmaker
from svbot.deadlines.ics import deadlines_ics
from svbot.deadlines.models import SUBMITTED, UPCOMING, Deadline, Grant, ReminderPolicy
from svbot.deadlines.planner import plan_reminders
from svbot.deadlines.schedules import ReminderRules
from svbot.deadlines.service import (
    deadlines_for_org,
    delivery_failures,
    format_due_list,
    mark_submitted,
    set_cursor,
    snooze,
    upcoming_for_org,
)
from svbot.delivery.dispatcher import Dispatcher
from svbot.delivery.models import CANCELLED, CLAIMED, FAILED, PENDING, SENT, OutboxMessage
from svbot.delivery.ratelimit import Limits, RateLimiter
from svbot.messages import Outbound, PermanentFailure, RetryLater
from svbot.models import Identity, Membership, Organisation, Person
from tests.scenario import NoWait, RecordingSender

LONDON = ZoneInfo("Europe/London")


def london(*args: int) -> datetime:
    return datetime(*args, tzinfo=LONDON).astimezone(UTC)


async def make_org(db, members: list[tuple[str, str]]) -> tuple[int, list[int]]:
    """An organisation with one person per (platform, chat id); returns (org id, identity ids)."""
    async with db() as session, session.begin():
        org = Organisation(name="Hastings Youth", kind="member")
        session.add(org)
        await session.flush()
        identities = []
        for platform, chat_id in members:
            person = Person(display_name=chat_id)
            session.add(person)
            await session.flush()
            identity = Identity(
                person_id=person.id, platform=platform, platform_user_id=chat_id, chat_id=chat_id
            )
            session.add_all([identity, Membership(person_id=person.id, organisation_id=org.id)])
            await session.flush()
            identities.append(identity.id)
        return org.id, identities


async def add_deadline(
    db, org_id: int, due: date, now: datetime, title: str = "Quarterly monitoring report"
) -> int:
    async with db() as session, session.begin():
        grant = Grant(external_id=f"g-{uuid.uuid4()}", organisation_id=org_id, title="Youth club")
        session.add(grant)
        await session.flush()
        deadline = Deadline(grant_id=grant.id, organisation_id=org_id, key="q1", title=title, due_date=due)
        deadline.status = UPCOMING
        set_cursor(deadline, ReminderRules(), now)
        session.add(deadline)
        await session.flush()
        return deadline.id


async def outbox(db) -> list[OutboxMessage]:
    async with db() as session:
        return list(await session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))


def dispatcher(db, sender: RecordingSender, **options) -> Dispatcher:
    clock = NoWait()
    limiter = RateLimiter(send_limits(), clock=clock.clock, sleep=clock.sleep)
    return Dispatcher(db, {"telegram": sender, "slack": sender}, limiter, **options)


DUE = date(2027, 1, 29)  # a Friday, in GMT: reminders at 09:00 UTC on 15, 26 and 29 Jan, 5 Feb
CREATED = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


async def test_a_reminder_is_planned_once_however_often_the_planner_runs(db) -> None:
    org, (alice, bob) = await make_org(db, [("telegram", "111"), ("slack", "D222")])
    deadline = await add_deadline(db, org, DUE, CREATED)
    assert (await plan_reminders(db, london(2027, 1, 15, 8, 59))).queued == 0  # not yet

    at = london(2027, 1, 15, 9, 0)
    first = await plan_reminders(db, at)
    assert (first.deadlines, first.queued) == (1, 2)
    for later in (at, at + timedelta(hours=1), at + timedelta(days=2)):
        assert (await plan_reminders(db, later)).queued == 0
    rows = await outbox(db)
    assert [r.dedupe_key for r in rows] == [
        f"reminder:{deadline}:2027-01-29:14:{alice}",
        f"reminder:{deadline}:2027-01-29:14:{bob}",
    ]
    message = rows[0].payload
    assert message["kind"] == "reminder"
    assert (
        message["text"]
        == "Reminder: Quarterly monitoring report for Youth club is due Fri 29 Jan 2027 (in 14 days)."
    )
    assert [(b["label"], b["payload"]) for b in message["buttons"]] == [
        ("Submitted", f"dl:submitted:{deadline}"),
        ("Remind me in 3 days", f"dl:snooze:{deadline}:3"),
        ("Help me write it", f"dl:help:{deadline}"),
    ]
    assert (await plan_reminders(db, london(2027, 1, 26, 9, 0))).queued == 2  # the 3-days-before one


async def test_missed_reminders_are_not_sent_in_a_burst(db) -> None:
    org, _ = await make_org(db, [("telegram", "111")])
    deadline = await add_deadline(db, org, DUE, CREATED)
    await plan_reminders(db, london(2027, 1, 29, 10, 0))  # the planner was down for two weeks
    rows = await outbox(db)
    assert [r.dedupe_key.split(":")[3] for r in rows] == ["0"]  # only "on the day"
    async with db() as session:
        stored = await session.get(Deadline, deadline)
    assert stored.next_reminder_at == london(2027, 2, 5, 9, 0)  # next: 7 days overdue


async def test_two_planners_at_once_on_one_database_plan_each_reminder_once(db, db_url: str) -> None:
    org, identities = await make_org(db, [("telegram", "111"), ("telegram", "222"), ("slack", "D3")])
    for day in range(40):
        await add_deadline(db, org, DUE + timedelta(days=day % 5), CREATED)
    engines = [make_engine(db_url) for _ in range(3)]
    try:
        planners = [make_sessionmaker(e) for e in engines]
        moments = [london(2027, 1, 19, 9, 0), london(2027, 1, 29, 9, 0)]
        for now in moments:
            results = await asyncio.gather(*(plan_reminders(p, now) for p in planners for _ in range(2)))
            assert sum(r.queued for r in results) == 40 * len(identities)
    finally:
        for engine in engines:
            await engine.dispose()
    rows = await outbox(db)
    assert len(rows) == len({r.dedupe_key for r in rows}) == 2 * 40 * len(identities)


async def test_a_crash_between_claim_and_mark_loses_nothing_and_sends_nothing_twice(db) -> None:
    org, _ = await make_org(db, [("telegram", "111"), ("telegram", "222")])
    await add_deadline(db, org, DUE, CREATED)
    now = london(2027, 1, 15, 9, 0)
    await plan_reminders(db, now)
    sender = RecordingSender()
    crashed = dispatcher(db, sender, claim_timeout=timedelta(minutes=5))
    claimed = await crashed.claim(now)  # ... and the process dies before sending or marking
    assert len(claimed) == 2
    assert {r.status for r in await outbox(db)} == {CLAIMED}

    survivor = dispatcher(db, sender, claim_timeout=timedelta(minutes=5))
    assert (await survivor.run_once(now + timedelta(minutes=1))).claimed == 0  # the claim still holds
    result = await survivor.run_once(now + timedelta(minutes=6))  # the claim expired
    assert result.sent == 2
    assert sorted(chat for chat, _ in sender.sent) == ["111", "222"]
    for later in (now + timedelta(minutes=12), now + timedelta(days=1)):
        assert (await survivor.run_once(later)).claimed == 0
    rows = await outbox(db)
    assert len(rows) == 2
    assert [(r.status, r.attempts, r.platform_message_id is not None) for r in rows] == [(SENT, 2, True)] * 2
    # The late mark of the crashed dispatcher cannot undo the survivor's work.
    await crashed._mark(claimed[0], status=PENDING)
    assert (await outbox(db))[0].status == SENT


async def test_a_crash_after_the_platform_accepted_resends_once_and_keeps_one_row(db) -> None:
    org, _ = await make_org(db, [("telegram", "111")])
    await add_deadline(db, org, DUE, CREATED)
    now = london(2027, 1, 15, 9, 0)
    await plan_reminders(db, now)

    class DiesAfterSending(RecordingSender):
        async def send(self, chat_id: str, message: Outbound) -> str | None:
            await super().send(chat_id, message)
            raise KeyboardInterrupt  # the process is killed before the mark

    dying = DiesAfterSending()
    with pytest.raises(KeyboardInterrupt):
        await dispatcher(db, dying).run_once(now)
    sender = RecordingSender()
    assert (await dispatcher(db, sender).run_once(now + timedelta(minutes=6))).sent == 1
    assert len(dying.sent) + len(sender.sent) == 2  # at least once: the only case of a repeat
    assert [(r.status, r.attempts) for r in await outbox(db)] == [(SENT, 2)]


async def test_platform_asks_to_wait_then_the_retry_succeeds(db) -> None:
    org, _ = await make_org(db, [("telegram", "111")])
    await add_deadline(db, org, DUE, CREATED)
    now = london(2027, 1, 15, 9, 0)
    await plan_reminders(db, now)
    sender = RecordingSender()
    sender.failures["111"] = [RetryLater("Too Many Requests", retry_after=120), ConnectionResetError("reset")]
    send = dispatcher(db, sender, base_backoff=timedelta(seconds=30))
    assert (await send.run_once(now)).retried == 1
    [row] = await outbox(db)
    assert (row.status, row.error, row.next_attempt_at) == (
        PENDING,
        "Too Many Requests",
        now + timedelta(seconds=120),
    )
    assert (await send.run_once(now + timedelta(seconds=119))).claimed == 0
    assert (await send.run_once(now + timedelta(seconds=120))).retried == 1  # a network fault: back off again
    [row] = await outbox(db)
    assert row.next_attempt_at == now + timedelta(seconds=180)  # 30 s doubled for the second attempt
    assert (await send.run_once(now + timedelta(seconds=180))).sent == 1
    assert [(r.status, r.attempts, r.error) for r in await outbox(db)] == [(SENT, 3, None)]


async def test_blocked_user_is_recorded_deactivated_and_never_retried(db) -> None:
    org, (blocked, fine) = await make_org(db, [("telegram", "111"), ("telegram", "222")])
    await add_deadline(db, org, DUE, CREATED)
    now = london(2027, 1, 15, 9, 0)
    await plan_reminders(db, now)
    sender = RecordingSender()
    sender.failures["111"] = [PermanentFailure("blocked")]
    result = await dispatcher(db, sender).run_once(now)
    assert (result.sent, result.failed) == (1, 1)
    rows = {r.identity_id: r for r in await outbox(db)}
    assert (rows[blocked].status, rows[blocked].error) == (FAILED, "blocked")
    assert (await dispatcher(db, sender).run_once(now + timedelta(days=1))).claimed == 0
    async with db() as session:
        assert (await session.get(Identity, blocked)).active is False
        assert (await session.get(Identity, fine)).active is True
        failures = await delivery_failures(session)
    assert [(f.chat_id, f.error, f.organisation_id) for f in failures] == [("111", "blocked", org)]
    # The next reminder goes only to the person still reachable.
    await plan_reminders(db, london(2027, 1, 26, 9, 0))
    assert [r.identity_id for r in await outbox(db) if r.status == PENDING] == [fine]


async def test_a_channel_gone_fails_without_deactivating_and_giving_up_after_max_attempts(db) -> None:
    org, (gone, flaky) = await make_org(db, [("slack", "C1"), ("slack", "C2")])
    await add_deadline(db, org, DUE, CREATED)
    now = london(2027, 1, 15, 9, 0)
    await plan_reminders(db, now)
    sender = RecordingSender()
    sender.failures["C1"] = [PermanentFailure("channel_not_found")]
    sender.failures["C2"] = [RetryLater("slow down", 1.0)] * 3
    send = dispatcher(db, sender, max_attempts=3, base_backoff=timedelta(seconds=1))
    for minute in range(4):
        await send.run_once(now + timedelta(minutes=minute))
    rows = {r.identity_id: r for r in await outbox(db)}
    assert (rows[gone].status, rows[gone].error) == (FAILED, "channel_not_found")
    assert (rows[flaky].status, rows[flaky].attempts) == (FAILED, 3)
    assert rows[flaky].error == "gave up after 3 attempts: slow down"
    async with db() as session:
        assert (await session.get(Identity, gone)).active is True


async def test_snooze_holds_only_that_persons_reminders_then_brings_one_back(db) -> None:
    org, (alice, bob) = await make_org(db, [("telegram", "111"), ("telegram", "222")])
    deadline = await add_deadline(db, org, DUE, CREATED)
    now = london(2027, 1, 15, 9, 0)
    await plan_reminders(db, now)
    async with db() as session, session.begin():  # Alice presses "Remind me in 3 days" before it is sent
        item = await snooze(session, deadline, alice, london(2027, 1, 27, 21, 0))  # 21:00: quiet hours
    assert item is not None and item.deadline_id == deadline
    rows = {r.identity_id: r for r in await outbox(db)}
    assert (rows[alice].status, rows[bob].status) == (CANCELLED, PENDING)

    # The 3-days-before reminder (26 Jan) falls inside Alice's snooze: Bob only.
    await plan_reminders(db, london(2027, 1, 26, 9, 0))
    latest = [r for r in await outbox(db) if ":3:" in r.dedupe_key]
    assert [r.identity_id for r in latest] == [bob]
    # The snooze ends at 08:00 next morning (quiet hours); then Alice, and only Alice, hears again.
    assert (await plan_reminders(db, london(2027, 1, 28, 7, 59))).queued == 0
    back = await plan_reminders(db, london(2027, 1, 28, 8, 0))
    assert (back.queued, back.snoozes) == (1, 1)
    last = (await outbox(db))[-1]
    assert (last.identity_id, last.dedupe_key.startswith(f"snooze:{deadline}:")) == (alice, True)
    assert "is due Fri 29 Jan 2027 (tomorrow)" in last.payload["text"]
    assert (await plan_reminders(db, london(2027, 1, 28, 12, 0))).queued == 0
    # On the day both get it again.
    await plan_reminders(db, london(2027, 1, 29, 9, 0))
    assert sorted(r.identity_id for r in await outbox(db) if ":0:" in r.dedupe_key) == [alice, bob]


async def test_submitted_stops_every_reminder_for_that_deadline_only(db) -> None:
    org, (alice, bob) = await make_org(db, [("telegram", "111"), ("telegram", "222")])
    _, (stranger,) = await make_org(db, [("telegram", "999")])
    done = await add_deadline(db, org, DUE, CREATED)
    other = await add_deadline(db, org, DUE, CREATED, title="Final monitoring report")
    now = london(2027, 1, 15, 9, 0)
    await plan_reminders(db, now)
    async with db() as session, session.begin():
        await snooze(session, done, bob, london(2027, 1, 20, 10, 0))
        assert await mark_submitted(session, done, stranger, now) is None  # not their organisation
        assert await mark_submitted(session, 12345, alice, now) is None
        item = await mark_submitted(session, done, alice, now)
    assert item is not None and item.status == SUBMITTED
    rows = await outbox(db)
    assert {r.status for r in rows if r.ref == f"deadline:{done}"} == {CANCELLED}
    assert {r.status for r in rows if r.ref == f"deadline:{other}"} == {PENDING}
    async with db() as session:
        stored = await session.get(Deadline, done)
    assert (stored.status, stored.status_by_identity_id, stored.next_reminder_at) == (SUBMITTED, alice, None)
    for moment in (
        london(2027, 1, 20, 10),
        london(2027, 1, 26, 9),
        london(2027, 1, 29, 9),
        london(2027, 2, 5, 9),
    ):
        await plan_reminders(db, moment)
    later = [r for r in await outbox(db) if r.ref == f"deadline:{done}" and r.status != CANCELLED]
    assert later == []
    assert len([r for r in await outbox(db) if r.ref == f"deadline:{other}"]) == 8  # 4 reminders x 2 people
    sender = RecordingSender()
    await dispatcher(db, sender).drain(london(2027, 2, 6, 9, 0))
    assert all(f"dl:submitted:{done}" not in m.buttons[0].payload for _, m in sender.sent)
    assert len(sender.sent) == 8


async def test_reminders_follow_london_time_across_both_clock_changes(db) -> None:
    org, _ = await make_org(db, [("telegram", "111")])
    # Due Thursday 2 April 2026: 14 days before is in GMT, 3 days before (Mon 30 March) in BST.
    spring = await add_deadline(db, org, date(2026, 4, 2), datetime(2026, 3, 1, tzinfo=UTC))
    # Due Tuesday 27 October 2026: 3 days before is Saturday -> Friday 23rd (BST); on the day is GMT.
    autumn = await add_deadline(db, org, date(2026, 10, 27), datetime(2026, 10, 1, tzinfo=UTC))

    async def keys_at(moment: datetime) -> list[str]:
        await plan_reminders(db, moment)
        return [r.dedupe_key.split(":")[1] + ":" + r.dedupe_key.split(":")[3] for r in await outbox(db)]

    assert await keys_at(datetime(2026, 3, 19, 8, 59, tzinfo=UTC)) == []
    assert await keys_at(datetime(2026, 3, 19, 9, 0, tzinfo=UTC)) == [f"{spring}:14"]
    assert await keys_at(datetime(2026, 3, 30, 7, 59, tzinfo=UTC)) == [f"{spring}:14"]
    assert await keys_at(datetime(2026, 3, 30, 8, 0, tzinfo=UTC)) == [f"{spring}:14", f"{spring}:3"]

    def autumn_keys(keys: list[str]) -> list[str]:
        return [k.split(":")[1] for k in keys if k.startswith(f"{autumn}:")]

    assert autumn_keys(await keys_at(datetime(2026, 10, 13, 7, 59, tzinfo=UTC))) == []
    assert autumn_keys(await keys_at(datetime(2026, 10, 13, 8, 0, tzinfo=UTC))) == ["14"]  # 09:00 BST
    assert autumn_keys(await keys_at(datetime(2026, 10, 23, 7, 59, tzinfo=UTC))) == ["14"]
    assert autumn_keys(await keys_at(datetime(2026, 10, 23, 8, 0, tzinfo=UTC))) == ["14", "3"]  # Fri, BST
    assert autumn_keys(await keys_at(datetime(2026, 10, 27, 8, 59, tzinfo=UTC))) == ["14", "3"]
    assert autumn_keys(await keys_at(datetime(2026, 10, 27, 9, 0, tzinfo=UTC))) == ["14", "3", "0"]  # GMT


async def test_a_reminder_planned_at_night_waits_for_the_morning(db) -> None:
    org, _ = await make_org(db, [("telegram", "111")])
    await add_deadline(db, org, DUE, CREATED)
    night = london(2027, 1, 16, 2, 30)  # the clock was down; 14-days-before is overdue by 17 hours
    await plan_reminders(db, night)
    [row] = await outbox(db)
    assert row.next_attempt_at == london(2027, 1, 18, 8, 0)  # Saturday night -> Monday 08:00 (weekends off)
    sender = RecordingSender()
    assert (await dispatcher(db, sender).run_once(london(2027, 1, 17, 12, 0))).claimed == 0
    assert (await dispatcher(db, sender).run_once(london(2027, 1, 18, 8, 0))).sent == 1


async def test_a_support_organisations_policy_sets_offsets_and_weekends(db) -> None:
    org, _ = await make_org(db, [("telegram", "111")])
    async with db() as session, session.begin():
        support = Organisation(name="Sussex CVS", kind="support")
        session.add(support)
        await session.flush()
        session.add(ReminderPolicy(support_org_id=support.id, offsets=[7], send_time="10:30", weekends=True))
    deadline = await add_deadline(db, org, date(2027, 1, 31), CREATED)  # Sunday
    async with db() as session, session.begin():
        stored = await session.get(Deadline, deadline)
        grant = await session.get(Grant, stored.grant_id)
        grant.support_org_id = support.id
        stored.next_reminder_at, stored.next_offset_index = london(2027, 1, 24, 10, 30), 0
    await plan_reminders(db, london(2027, 1, 24, 10, 30))  # Sunday 10:30: weekends allowed here
    [row] = await outbox(db)
    assert row.dedupe_key.endswith(":7:" + str(row.identity_id))
    async with db() as session:
        assert (await session.get(Deadline, deadline)).next_reminder_at is None  # only one offset


# ---------------------------------------------------------------- services for the chat, .ics


async def test_whats_due_lists_the_organisations_next_deadlines_in_plain_words(db) -> None:
    org, _ = await make_org(db, [("telegram", "111")])
    other_org, _ = await make_org(db, [("telegram", "222")])
    today = date(2027, 1, 28)
    await add_deadline(db, org, date(2027, 1, 31), CREATED)
    await add_deadline(db, org, date(2027, 1, 20), CREATED, title="Final monitoring report")
    await add_deadline(db, org, date(2026, 6, 1), CREATED, title="Ancient report")  # still owed: first
    await add_deadline(db, other_org, date(2027, 1, 29), CREATED, title="Someone else's")
    async with db() as session:
        items = await upcoming_for_org(session, org, today)
    assert format_due_list(items, today) == (
        "Ancient report for Youth club — was due Mon 1 Jun 2026 (241 days ago)\n"
        "Final monitoring report for Youth club — was due Wed 20 Jan 2027 (8 days ago)\n"
        "Quarterly monitoring report for Youth club — due Sun 31 Jan 2027 (in 3 days)"
    )
    assert [i.display_status(today) for i in items] == ["overdue", "overdue", "due"]
    assert format_due_list([], today) == "Nothing is due. I'll remind you before the next report."


async def test_ics_feed_parses_and_holds_each_deadline_with_an_alarm(db) -> None:
    org, (alice,) = await make_org(db, [("telegram", "111")])
    first = await add_deadline(db, org, date(2027, 1, 29), CREATED)
    second = await add_deadline(db, org, date(2027, 4, 30), CREATED, title="Final monitoring report")
    async with db() as session, session.begin():
        await mark_submitted(session, first, alice, CREATED)
        items = await deadlines_for_org(session, org)
    data = deadlines_ics(items, "Hastings Youth: monitoring deadlines", CREATED)
    calendar = Calendar.from_ical(data)
    events = {str(e["uid"]): e for e in calendar.walk("VEVENT")}
    assert set(events) == {f"deadline-{first}@svbot", f"deadline-{second}@svbot"}
    final = events[f"deadline-{second}@svbot"]
    assert final.decoded("dtstart") == date(2027, 4, 30)
    assert final.decoded("dtend") == date(2027, 5, 1)
    assert str(final["summary"]) == "Final monitoring report for Youth club"
    [alarm] = final.walk("VALARM")
    assert alarm.decoded("trigger") == -timedelta(days=2, hours=15)  # 09:00 three days before
    submitted = events[f"deadline-{first}@svbot"]
    assert str(submitted["summary"]).endswith("(submitted)")
    assert submitted.walk("VALARM") == []


# ---------------------------------------------------------------- rate limits and indexes


async def test_rate_limiter_spaces_messages_per_platform_and_per_chat() -> None:
    clock = NoWait()
    bursty = Limits(per_second=30.0, per_chat_interval=1.0)  # a bucket of 30: a burst of 30 is allowed
    limiter = RateLimiter({**send_limits(), "telegram": bursty}, clock=clock.clock, sleep=clock.sleep)
    waits = [await limiter.acquire("telegram", f"chat{i}") for i in range(31)]
    assert waits[:30] == [0.0] * 30
    assert waits[30] == pytest.approx(1 / 30)
    assert await limiter.acquire("telegram", "chat0") == pytest.approx(1 - 1 / 30, abs=0.05)  # 1 s per chat
    assert await limiter.acquire("slack", "C1") == 0.0
    assert await limiter.acquire("slack", "C1") == pytest.approx(1.0)
    assert await limiter.acquire("slack", "C2") == 0.0
    limiter.pause("slack", 5.0)
    assert await limiter.acquire("slack", "C3") == pytest.approx(5.0)
    custom = RateLimiter({"console": Limits(per_second=2)}, clock=clock.clock, sleep=clock.sleep)
    assert [await custom.acquire("console", "x") for _ in range(3)][2] == pytest.approx(0.5)


async def test_planning_and_claiming_read_only_what_is_due_through_indexes(db) -> None:
    async with db() as session, session.begin():
        if session.get_bind().dialect.name == "postgresql":
            # On empty tables PostgreSQL would rightly scan; ask it whether an index can serve the query.
            await session.execute(text("SET LOCAL enable_seqscan = off"))
            await session.execute(text("SET LOCAL enable_bitmapscan = off"))
            explain, now, uses = "EXPLAIN", "CAST('2027-01-01 00:00:00+00' AS timestamptz)", "using "
        else:
            explain, now, uses = "EXPLAIN QUERY PLAN", "'2027-01-01 00:00:00'", "USING INDEX "
        plan = (
            await session.execute(
                text(
                    f"{explain} SELECT * FROM deadlines WHERE next_reminder_at <= {now} "
                    "ORDER BY next_reminder_at LIMIT 2000"
                ),
            )
        ).all()
        claim = (
            await session.execute(
                text(
                    f"{explain} SELECT * FROM outbox WHERE status IN ('pending', 'claimed') "
                    f"AND next_attempt_at <= {now} ORDER BY next_attempt_at, id LIMIT 100"
                ),
            )
        ).all()
        count = await session.scalar(select(func.count()).select_from(Deadline))
    assert count == 0
    assert f"{uses}ix_deadlines_next_reminder_at" in " ".join(str(r[-1]) for r in plan)
    assert "ix_outbox_status_next" in " ".join(str(r[-1]) for r in claim)
