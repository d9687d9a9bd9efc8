"""Support organisations in chat: join codes, roles and isolation, shared statements, composing a
broadcast. Two support organisations, each with members, on a real database through the real Bot;
forged button payloads and typed ids are refused without revealing whether the thing exists."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import func, select

from svbot.app import send_limits
from svbot.deadlines.models import Deadline, Grant
from svbot.deadlines.service import mark_submitted, snooze
from svbot.delivery.models import SENT, OutboxMessage
from svbot.delivery.ratelimit import RateLimiter
from svbot.evidence import StatementRecord
from svbot.knowledge import load_knowledge
from svbot.models import Conversation, Identity, Membership, Organisation, Person
from svbot.paths import dialogues_dir, knowledge_dir
from svbot.statements.model import Numbers, ObjectiveEvidence, StatementInput
from svbot.support.access import member_statuses, visible_statement
from svbot.support.broadcasts import follow_up
from svbot.support.chat import NOT_FOUND, SUPPORT_ONLY
from svbot.support.invites import create_invite, redeem
from svbot.support.models import Broadcast, Invite
from svbot.support.sending import send_outbox
from svbot.turns import Bot
from tests.scenario import Clock, RecordingSender, ScenarioBot, make_bot

KNOWLEDGE = load_knowledge(knowledge_dir())
SHIPPED = RateLimiter(send_limits())


@dataclass
class World:
    bot: Bot
    clock: Clock
    s1: int  # Brighton support organisation (framework local_pledge)
    s2: int  # another support organisation
    a: int  # member of s1
    b: int  # member of s1
    c: int  # member of s2

    def user(self, name: str) -> ScenarioBot:
        return ScenarioBot(self.bot, user=name)

    async def session(self):  # type: ignore[no-untyped-def]
        return self.bot.sessionmaker()


@pytest.fixture
async def world(db_url: str) -> AsyncIterator[World]:
    clock = Clock()
    bot = await make_bot(db_url, dialogues_dir=dialogues_dir(), clock=clock)
    async with bot.sessionmaker() as session, session.begin():
        s1 = Organisation(name="Brighton CVS", kind="support", framework_id="local_pledge")
        s2 = Organisation(name="Hastings CVS", kind="support")
        session.add_all([s1, s2])
        await session.flush()
        a = Organisation(name="Allotment Friends", kind="member", support_org_id=s1.id)
        b = Organisation(name="Bike Kitchen", kind="member", support_org_id=s1.id)
        c = Organisation(name="Coastal Choir", kind="member", support_org_id=s2.id)
        session.add_all([a, b, c])
        await session.flush()
        ids = (s1.id, s2.id, a.id, b.id, c.id)
    yield World(bot, clock, *ids)
    await bot.db_engine.dispose()  # type: ignore[attr-defined]


async def code_for(world: World, org_id: int, role: str = "member", uses: int = 1, days: float = 14) -> str:
    async with world.bot.sessionmaker() as session, session.begin():
        made = await create_invite(session, org_id, world.clock(), role=role, uses=uses, days=days)
    return made.code


async def joined(world: World, name: str, org_id: int, role: str = "member") -> ScenarioBot:
    user = world.user(name)
    await user.say(f"join {await code_for(world, org_id, role)}")
    assert "Welcome!" in user.text, user.text
    return user


async def conversation_org(world: World, user: str) -> int | None:
    async with world.bot.sessionmaker() as session:
        return await session.scalar(select(Conversation.organisation_id).where(Conversation.key.like(f"%:{user}")))


async def person_of(world: World, user: str) -> int:
    async with world.bot.sessionmaker() as session:
        return await session.scalar(select(Identity.person_id).where(Identity.platform_user_id == user))


async def identity_of(world: World, user: str) -> int:
    async with world.bot.sessionmaker() as session:
        return await session.scalar(select(Identity.id).where(Identity.platform_user_id == user))


async def add_statement(world: World, org_id: int, *, shared: bool = False, story: str | None = None) -> int:
    data = StatementInput(
        org_name="Allotment Friends",
        framework_id="local_pledge",
        period="2026-27",
        objectives=[
            ObjectiveEvidence(
                objective_id="involve_local_people",
                activity="We run a community allotment.",
                numbers=Numbers(people_reached=40),
                story=story,
            )
        ],
    )
    async with world.bot.sessionmaker() as session, session.begin():
        record = StatementRecord(
            organisation_id=org_id, framework_id="local_pledge", period="2026-27", data=data.model_dump(mode="json")
        )
        record.shared = shared
        session.add(record)
        await session.flush()
        return record.id


async def outbox_count(world: World, kind: str = "broadcast") -> int:
    async with world.bot.sessionmaker() as session:
        return await session.scalar(select(func.count()).select_from(OutboxMessage).where(OutboxMessage.kind == kind))


# ---- join codes ----------------------------------------------------------------------------------


async def test_join_links_the_person_and_switches_the_conversation(world: World) -> None:
    alice = world.user("alice")
    code = await code_for(world, world.a, "org_admin")
    await alice.say(f"/join {code.lower().replace('-', ' ')}")  # any case, spaces instead of the dash
    assert "You're now an admin of Allotment Friends" in alice.text
    assert await conversation_org(world, "alice") == world.a
    async with world.bot.sessionmaker() as session:
        role = await session.scalar(
            select(Membership.role).where(Membership.person_id == await person_of(world, "alice"))
        )
        stored = (await session.scalars(select(Invite.code_hash))).all()
    assert role == "org_admin"
    assert code not in stored and code.replace("-", "") not in stored  # only the hash is kept


async def test_a_single_use_code_works_once(world: World) -> None:
    code = await code_for(world, world.a)
    alice, bob = world.user("alice"), world.user("bob")
    await alice.say(f"join {code}")
    assert "Welcome!" in alice.text
    await bob.say(f"join {code}")
    assert "that code doesn't work" in bob.text
    assert await conversation_org(world, "bob") is None
    await alice.say(f"join {code}")  # using it again yourself is harmless
    assert "already a member of Allotment Friends" in alice.text


async def test_a_limited_use_code_and_an_expired_code(world: World) -> None:
    code = await code_for(world, world.b, uses=2, days=1)
    for name in ("ann", "ben"):
        user = world.user(name)
        await user.say(f"join {code}")
        assert "Welcome!" in user.text
    late = world.user("cat")
    await late.say(f"join {code}")
    assert "that code doesn't work" in late.text

    fresh = await code_for(world, world.b, days=1)
    world.clock.advance(days=1, seconds=1)
    await late.say(f"join {fresh}")
    assert "that code doesn't work" in late.text
    await late.say("join NOPE-NOPE1")
    assert "that code doesn't work" in late.text
    async with world.bot.sessionmaker() as session:
        members = await session.scalar(
            select(func.count()).select_from(Membership).where(Membership.organisation_id == world.b)
        )
    assert members == 2


async def test_racing_for_the_last_use_of_a_code(world: World) -> None:
    code = await code_for(world, world.a)
    async with world.bot.sessionmaker() as session, session.begin():
        people = [Person(display_name=n) for n in ("p1", "p2")]
        session.add_all(people)
        await session.flush()
        now = world.clock()
        first = await redeem(session, code, people[0].id, now)
        second = await redeem(session, code, people[1].id, now)
    assert first is not None and second is None


async def test_invites_from_chat_follow_roles(world: World) -> None:
    alice = await joined(world, "alice", world.a, "org_admin")
    await alice.say("invite")
    code = alice.text.split("\n\n")[1]
    bob = world.user("bob")
    await bob.say(f"join {code}")
    assert "You're now a member of Allotment Friends" in bob.text

    await bob.say("invite")  # a member cannot invite
    assert "you can't invite people" in bob.text
    await alice.say(f"invite {world.b}")  # nor can an admin invite to somebody else's organisation
    assert "you can't invite people" in alice.text
    await alice.say(f"invite {world.s1} admin")
    assert "you can't invite people" in alice.text

    admin = await joined(world, "admin1", world.s1, "support_admin")
    await admin.say(f"invite {world.a} admin")  # a support admin may invite into their members
    assert "an admin of Allotment Friends" in admin.text
    other = await joined(world, "admin2", world.s2, "support_admin")
    await other.say(f"invite {world.a}")  # ...but not into another support organisation's
    assert "you can't invite people" in other.text
    await other.say("invite 99999")
    assert "you can't invite people" in other.text


# ---- roles and isolation -------------------------------------------------------------------------


async def test_forged_organisation_buttons_are_refused(world: World) -> None:
    alice = await joined(world, "alice", world.a, "org_admin")
    bob = await joined(world, "bob", world.b)
    await bob.send(bob.inbound(payload=f"sv:use:{world.a}"))
    assert bob.text == NOT_FOUND
    assert await conversation_org(world, "bob") == world.b
    for payload in (f"sv:org:{world.a}", "sv:org:99999", "sv:use:x", "sv:nope:1", "sv:"):
        await bob.send(bob.inbound(payload=payload))
        assert bob.text == NOT_FOUND, payload

    alice_person = await person_of(world, "alice")
    async with world.bot.sessionmaker() as session, session.begin():
        session.add(Membership(person_id=alice_person, organisation_id=world.b, role="member"))
    await alice.say("organisations")
    assert "→ Allotment Friends (admin)" in alice.text and "• Bike Kitchen (member)" in alice.text
    await alice.press("Bike Kitchen")
    assert "working with Bike Kitchen" in alice.text
    assert await conversation_org(world, "alice") == world.b


async def test_support_admins_see_their_members_only(world: World) -> None:
    await joined(world, "alice", world.a, "org_admin")
    admin = await joined(world, "admin1", world.s1, "support_admin")
    other = await joined(world, "admin2", world.s2, "support_admin")
    async with world.bot.sessionmaker() as session, session.begin():
        grant = Grant(external_id="g-1", organisation_id=world.a, support_org_id=world.s1, title="Growing")
        session.add(grant)
        await session.flush()
        session.add(
            Deadline(
                grant_id=grant.id,
                organisation_id=world.a,
                key="q1",
                title="Quarterly report",
                due_date=date(2026, 11, 1),
            )
        )

    await admin.say("members")
    assert "Brighton CVS: 2 members, 1 with overdue reports" in admin.text
    assert "Allotment Friends: 1 overdue" in admin.text and "Coastal Choir" not in admin.text
    await admin.press("Allotment Friends")
    assert "Quarterly report for Growing" in admin.text
    assert "haven't shared" in admin.text

    await other.say("members")
    assert "Coastal Choir" in other.text and "Allotment Friends" not in other.text
    await other.send(other.inbound(payload=f"sv:org:{world.a}"))
    assert other.text == NOT_FOUND
    admin2, alice = await person_of(world, "admin2"), await person_of(world, "alice")
    async with world.bot.sessionmaker() as session:
        assert await member_statuses(session, admin2, world.s1, date(2026, 11, 22)) is None
        assert await member_statuses(session, alice, world.s1, date(2026, 11, 22)) is None

    member = world.user("alice")
    await member.say("members")
    assert member.text == SUPPORT_ONLY


async def test_statements_are_seen_by_the_support_admin_only_once_shared(world: World) -> None:
    alice = await joined(world, "alice", world.a, "org_admin")
    bob = await joined(world, "bob", world.a)
    admin = await joined(world, "admin1", world.s1, "support_admin")
    other = await joined(world, "admin2", world.s2, "support_admin")
    outsider = await joined(world, "carol", world.b)
    statement = await add_statement(world, world.a)

    await admin.send(admin.inbound(payload=f"sv:stmt:{statement}"))
    assert admin.text == NOT_FOUND  # not shared yet
    await bob.say("share statement")  # only the organisation's admin decides
    assert "Only your organisation's admin" in bob.text
    await alice.say("share statement")
    assert "can now read your latest statement" in alice.text

    await admin.send(admin.inbound(payload=f"sv:stmt:{statement}"))
    assert "The social value statement of Allotment Friends" in admin.text
    assert any(m.file and m.file.filename.endswith(".docx") for m in admin.replies)
    for user in (other, outsider):
        await user.send(user.inbound(payload=f"sv:stmt:{statement}"))
        assert user.text == NOT_FOUND
    await bob.send(bob.inbound(payload=f"sv:stmt:{statement}"))  # their own organisation's: yes
    assert "Allotment Friends" in bob.text
    for forged in ("sv:stmt:99999", "sv:stmt:-1", "sv:stmt:1;drop"):
        await admin.send(admin.inbound(payload=forged))
        assert admin.text == NOT_FOUND

    await alice.say("stop sharing")
    admin_person, alice_person = await person_of(world, "admin1"), await person_of(world, "alice")
    async with world.bot.sessionmaker() as session:
        assert await visible_statement(session, admin_person, statement) is None
        assert await visible_statement(session, alice_person, statement) is not None


async def test_reminder_buttons_check_membership(world: World) -> None:
    await joined(world, "alice", world.a, "org_admin")
    await joined(world, "admin1", world.s1, "support_admin")
    await joined(world, "carol", world.c)
    ids = {name: await identity_of(world, name) for name in ("alice", "admin1", "carol")}
    async with world.bot.sessionmaker() as session, session.begin():
        grant = Grant(external_id="g-2", organisation_id=world.a, support_org_id=world.s1, title="Growing")
        session.add(grant)
        await session.flush()
        deadline = Deadline(
            grant_id=grant.id, organisation_id=world.a, key="q1", title="Report", due_date=date(2027, 1, 1)
        )
        session.add(deadline)
        await session.flush()
        now = datetime(2026, 12, 1, tzinfo=UTC)
        for outsider in ("carol", "admin1"):  # another org's member; even the support admin is not a member
            identity = ids[outsider]
            assert await mark_submitted(session, deadline.id, identity, now) is None
            assert await snooze(session, deadline.id, identity, now + timedelta(days=3)) is None
        assert await mark_submitted(session, 99999, ids["alice"], now) is None
        assert deadline.status == "upcoming"
        done = await mark_submitted(session, deadline.id, ids["alice"], now)
        assert done is not None and done.status == "submitted"


async def test_members_of_a_support_organisation_are_not_asked_for_a_framework(world: World) -> None:
    alice = await joined(world, "alice", world.a, "org_admin")
    await alice.say("start")
    assert "What is your organisation or group called?" not in alice.text  # she joined it: svbot knows
    assert "what does Allotment Friends do, and where?" in alice.text
    await alice.say("We grow vegetables together.")
    await alice.say("skip")  # her group's size
    assert "Whose objectives" not in alice.text
    assert "Who benefits from your work?" in alice.text
    for _ in range(7):  # the whole group's facts, each skipped
        await alice.say("skip")
        if "Which of these does your work help with?" in alice.text:
            break
    assert "We involve local people in shaping what we do" in [b.label for b in alice.last_message.buttons]

    loner = world.user("dora")  # in no support organisation: asked as before
    await loner.say("start")
    for answer in ("Dora's Group", "We knit.", "skip"):
        await loner.say(answer)
    assert "Whose objectives" in loner.text


# ---- composing a broadcast -------------------------------------------------------------------------


async def test_a_support_admin_composes_previews_and_sends_a_broadcast(world: World) -> None:
    for name, org in (("alice", world.a), ("bob", world.b), ("bea", world.b)):
        await joined(world, name, org)
    await joined(world, "carol", world.c)  # another support organisation's member: not in the audience
    admin = await joined(world, "admin1", world.s1, "support_admin")

    await admin.say("broadcast")
    assert "A message from Brighton CVS. Who is it for?" in admin.text
    await admin.press("All members")
    assert "A message to all members (3 people)" in admin.text
    assert "What would you like to say?" in admin.text
    await admin.say("Funding surgery on Tuesday at 10am, Community Hub.")
    assert "Message from Brighton CVS:\n\nFunding surgery on Tuesday" in admin.text
    assert "It goes to 3 people in 2 organisations (all members)" in admin.text
    assert await outbox_count(world) == 0  # nothing before Send
    send = admin.button("Send")
    await admin.press("Send")
    assert "Sending to 3 people now" in admin.text
    assert await outbox_count(world) == 3
    await admin.send(admin.inbound(payload=send.payload))  # pressed twice
    assert "already been sent" in admin.text
    assert await outbox_count(world) == 3
    async with world.bot.sessionmaker() as session:
        rows = (await session.scalars(select(OutboxMessage).where(OutboxMessage.kind == "broadcast"))).all()
    assert sorted(r.chat_id for r in rows) == ["alice", "bea", "bob"]
    assert len({r.dedupe_key for r in rows}) == 3

    recorder = RecordingSender()
    result = await send_outbox(world.bot.sessionmaker, {"console": recorder}, limiter=SHIPPED, wait_for_retries=False)
    assert result.sent == 3
    assert await follow_up(world.bot.sessionmaker) == 1
    assert await follow_up(world.bot.sessionmaker) == 0  # told once
    await send_outbox(world.bot.sessionmaker, {"console": recorder}, limiter=SHIPPED, wait_for_retries=False)
    chat, report = recorder.sent[-1]
    assert chat == "admin1"
    assert report.text.startswith("Your broadcast to all members is finished: 3 of 3 delivered, 0 failed.")
    await admin.say("broadcast status")
    assert "3 of 3 delivered" in admin.text


async def test_broadcast_buttons_are_checked(world: World) -> None:
    await joined(world, "alice", world.a)
    admin = await joined(world, "admin1", world.s1, "support_admin")
    other = await joined(world, "admin2", world.s2, "support_admin")
    bob = await joined(world, "bob", world.b)

    await bob.say("broadcast")
    assert bob.text == SUPPORT_ONLY
    await bob.send(bob.inbound(payload=f"bc:to:{world.s1}:all"))
    assert bob.text == SUPPORT_ONLY
    await other.send(other.inbound(payload=f"bc:to:{world.s1}:all"))  # another support org's admin
    assert other.text == SUPPORT_ONLY
    await admin.send(admin.inbound(payload=f"bc:to:{world.s1}:org:{world.c}"))  # not one of our members
    assert admin.text == NOT_FOUND

    await admin.send(admin.inbound(payload=f"bc:to:{world.s1}:org:{world.a}"))
    await admin.say("Hello Allotment Friends")
    send = admin.button("Send").payload
    for intruder in (other, bob):
        await intruder.send(intruder.inbound(payload=send))
        assert intruder.text == NOT_FOUND
    await other.send(other.inbound(payload="bc:send:99999"))
    assert other.text == NOT_FOUND
    assert await outbox_count(world) == 0
    async with world.bot.sessionmaker() as session:
        assert (await session.scalars(select(Broadcast.status))).all() == ["draft"]
    await admin.press("Cancel")
    assert "Cancelled" in admin.text
    await admin.send(admin.inbound(payload=send))
    assert "already been cancelled" in admin.text
    assert await outbox_count(world) == 0


async def test_sent_rows_are_marked(world: World) -> None:
    """The follow-up counts from the outbox: a row marked sent is counted once."""
    await joined(world, "alice", world.a)
    admin = await joined(world, "admin1", world.s1, "support_admin")
    await admin.send(admin.inbound(payload=f"bc:to:{world.s1}:all"))
    await admin.say("Hi all")
    await admin.press("Send")
    await send_outbox(world.bot.sessionmaker, {"console": RecordingSender()}, limiter=SHIPPED, wait_for_retries=False)
    async with world.bot.sessionmaker() as session:
        statuses = (await session.scalars(select(OutboxMessage.status).where(OutboxMessage.kind == "broadcast"))).all()
    assert statuses == [SENT]


async def test_join_and_invite_words_inside_an_answer_stay_answers(world: World) -> None:
    alice = await joined(world, "alice", world.a, "org_admin")
    await alice.say("start")
    assert "what does Allotment Friends do, and where?" in alice.text  # she joined it: its name is not asked
    await alice.say("join us for lunch on Fridays")
    assert "how much does your group spend" in alice.text  # taken as the answer, not as a join code
    await alice.say("back")
    await alice.say("invite friends round to grow food")
    assert "how much does your group spend" in alice.text
    async with world.bot.sessionmaker() as session:
        state = await session.scalar(select(Conversation.state).where(Conversation.key.like("%:alice")))
        invites_made = await session.scalar(select(func.count()).select_from(Invite))
    assert state["answers"]["org.what"] == "invite friends round to grow food"
    assert invites_made == 1  # only the one alice joined with
