"""Personal data under UK GDPR (issue 20): the notice, `my data`, `delete my data`, `svbot data ...`,
an erased organisation kept out of a re-import, and retention applied as time moves on."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import func, select

from svbot.deadlines.importer import import_grants
from svbot.deadlines.models import SUBMITTED, Deadline, Grant
from svbot.delivery.models import PENDING, SENT, OutboxMessage
from svbot.models import Answer, Conversation, Identity, InboundEvent, Membership, Organisation, Person
from svbot.privacy.erased import external_id_hash
from svbot.privacy.models import ErasedOrganisation, NoticeShown, PrivacyContact, PrivacyRequest
from svbot.support.invites import create_invite
from svbot.text import text
from tests.reliability.support import Proc, svbot_env, wait_until
from tests.scenario import TEST_DIALOGUES, ScenarioBot
from tests.test_deadline_extend import svbot
from tests.test_deadline_fixes import IMPORTED_AT, grant_file

STORY = "Marjorie from Elm Street finally left the house after her husband died."
BRIEF = text("privacy.notice.brief")


def svbot_on_test_dialogues(tmp_path: Path, db_url: str, *args: str) -> str:
    """`svbot ...` with the scenario bot's dialogues (which long answers are free text comes from them)."""
    env = svbot_env(db_url, SVBOT_DIALOGUES_DIR=str(TEST_DIALOGUES))
    done = subprocess.run([sys.executable, "-m", "svbot.cli", *args], capture_output=True, text=True, env=env,
                          cwd=tmp_path, timeout=120)  # fmt: skip
    assert done.returncode == 0 and "Traceback" not in done.stderr, done.stderr
    return done.stdout


async def join(bot: ScenarioBot, name: str = "Hollybush Lunch Club") -> int:
    async with bot.bot.sessionmaker() as session, session.begin():
        organisation = Organisation(name=name, kind="member")
        session.add(organisation)
        await session.flush()
        code = (await create_invite(session, organisation.id, bot.bot.clock())).code
    await bot.say(f"join {code}")
    assert "You're now a member of" in bot.text
    return organisation.id


async def walk_to_the_story(bot: ScenarioBot) -> None:
    await bot.say("hello")
    await bot.say("Hollybush Lunch Club")  # name
    assert "What does Hollybush Lunch Club do?" in bot.last
    await bot.say(STORY)  # about: a long text
    assert "How many people came?" in bot.last


async def person_of(bot: ScenarioBot, user: str) -> int | None:
    async with bot.bot.sessionmaker() as session:
        return await session.scalar(select(Identity.person_id).where(Identity.platform_user_id == user))


async def test_the_notice_comes_once_at_first_contact_and_privacy_tells_it_all(bot: ScenarioBot) -> None:
    await bot.say("hello")
    assert bot.replies[0].text.startswith(BRIEF), "the notice tops the first message"
    assert "What is your group called?" in bot.last, "and the walk-through starts as before"
    first_count = len(bot.replies)
    await bot.say("Hollybush Lunch Club")
    assert BRIEF not in bot.text
    other = ScenarioBot(bot.bot, user="alice", chat="another-chat")  # the same person, a new conversation
    await other.say("hello")
    assert BRIEF not in other.text and len(other.replies) == first_count, "once per person, not per chat"

    organisation_id = await join(bot)
    await bot.say("privacy")
    assert "How long: reminders and other messages I send are deleted after 90 days" in bot.text
    assert "18 months" in bot.text and "delete my data" in bot.text
    assert text("privacy.notice.no_contact") in bot.text, "no contact known yet"
    async with bot.bot.sessionmaker() as session, session.begin():
        session.add(PrivacyContact(organisation_id=organisation_id, contact="privacy@hollybush.example"))
    await bot.say("privacy")
    assert "Questions about your information: privacy@hollybush.example" in bot.text
    async with bot.bot.sessionmaker() as session:
        assert await session.scalar(select(func.count()).select_from(NoticeShown)) == 1


async def test_my_data_sends_a_json_file_and_a_readable_summary_and_is_logged(bot: ScenarioBot) -> None:
    await join(bot)
    await walk_to_the_story(bot)
    await bot.say("my data")
    json_file, txt_file = (m.file for m in bot.replies)
    assert json_file is not None and txt_file is not None
    assert json_file.filename.endswith(".json") and txt_file.mime_type == "text/plain"
    data = json.loads(json_file.content)
    assert data["person"]["display_name"] == "alice"
    assert [(i["platform"], i["platform_user_id"]) for i in data["identities"]] == [("console", "alice")]
    assert [m["organisation"] for m in data["memberships"]] == ["Hollybush Lunch Club"]
    assert any(a["value"] == STORY for a in data["answers"]), "the answers they gave"
    assert data["conversations"][0]["state"]["answers"]["about"] == STORY, "what they typed, where they are"
    summary = txt_file.content.decode()
    assert "Your chat accounts: 1" in summary and "The organisations you belong to: 1" in summary
    assert STORY[:40] in summary
    async with bot.bot.sessionmaker() as session:
        (logged,) = await session.scalars(select(PrivacyRequest))
    person = await person_of(bot, "alice")
    assert (logged.action, logged.subject, logged.subject_id, logged.requested_by) == (
        "export", "person", person, f"chat:person:{person}")  # fmt: skip
    assert logged.detail["identities"] == 1 and STORY not in json.dumps(logged.detail)


async def test_delete_my_data_asks_then_erases_the_person_and_blanks_what_they_wrote(bot: ScenarioBot) -> None:
    organisation_id = await join(bot)
    await walk_to_the_story(bot)
    person = await person_of(bot, "alice")
    async with bot.bot.sessionmaker() as session, session.begin():
        identity = await session.scalar(select(Identity).where(Identity.person_id == person))
        session.add(OutboxMessage(dedupe_key="r1", kind="reminder", platform="console", chat_id="alice",
                                  identity_id=identity.id, payload={"text": "Your report is due"},
                                  next_attempt_at=datetime.now(UTC)))  # fmt: skip
    bob = ScenarioBot(bot.bot, user="bob")
    await bob.say("hello")

    await bot.say("delete my data")
    assert "Delete your information?" in bot.last
    await bot.press("No, keep it")
    assert await person_of(bot, "alice") == person, "nothing deleted"

    await bot.say("delete my data")
    stale = bot.button("Yes, delete it")
    await bob.send(bob.inbound(payload=stale.payload))  # someone else's button does nothing
    assert text("core.old_button") in bob.text and await person_of(bot, "alice") == person
    await bot.press("Yes, delete it")
    assert "blank the longer texts" in bot.last
    await bot.press("Blank my texts too")
    assert "I've deleted your information" in bot.last

    async with bot.bot.sessionmaker() as session:
        assert await person_of(bot, "alice") is None, "no identity with their platform id"
        assert await session.scalar(select(func.count()).select_from(Membership).where(
            Membership.person_id == person)) == 0  # fmt: skip
        assert await session.scalar(select(func.count()).select_from(OutboxMessage)) == 0
        kept = {a.key: a.value for a in await session.scalars(select(Answer).where(
            Answer.organisation_id == organisation_id))}  # fmt: skip
        assert kept["name"] == "Hollybush Lunch Club", "the organisation keeps its answers"
        assert kept["about"] is None, "the free text they wrote is blanked"
        states = [c.state for c in await session.scalars(select(Conversation))]
        assert not any(STORY in json.dumps(state) for state in states)
        leftover = await session.get(Person, person)
        assert leftover is None or leftover.display_name == ""
        assert await session.scalar(select(Identity.platform_user_id).where(Identity.platform_user_id == "bob"))
        (logged,) = await session.scalars(select(PrivacyRequest).where(PrivacyRequest.action == "erase"))
    assert logged.subject_id == person and logged.detail["blank_texts"] is True
    assert logged.detail["memberships"] == 1 and logged.detail["free_texts_blanked"] >= 1
    assert "alice" not in json.dumps(logged.detail) and STORY not in json.dumps(logged.detail)

    await bot.say("hello")  # a stranger again
    assert bot.replies[0].text.startswith(BRIEF) and await person_of(bot, "alice") not in (None, person)


async def test_erasing_without_blanking_leaves_the_organisations_texts(bot: ScenarioBot) -> None:
    organisation_id = await join(bot)
    await walk_to_the_story(bot)
    await bot.say("delete my data")
    await bot.press("Yes, delete it")
    await bot.press("Leave them with my organisation")
    async with bot.bot.sessionmaker() as session:
        about = await session.scalar(select(Answer.value).where(Answer.organisation_id == organisation_id,
                                                                Answer.key == "about"))  # fmt: skip
    assert about == STORY and await person_of(bot, "alice") is None


async def test_cli_exports_and_erases_an_organisation_and_a_reimport_leaves_it_out(
    db, db_url: str, tmp_path: Path
) -> None:
    path = grant_file(tmp_path / "grants.json", end="2027-09-30")
    await import_grants(db, path, now=IMPORTED_AT)
    async with db() as session, session.begin():
        organisation = await session.scalar(select(Organisation).where(Organisation.external_id == "GB-CHC-1000001"))
        org_id = organisation.id
        first = await session.scalar(select(Deadline).where(Deadline.organisation_id == org_id).order_by(Deadline.id))
        first.status, first.status_at = SUBMITTED, datetime(2026, 8, 1, 12, tzinfo=UTC)
        person = Person(display_name="Ada Lovelace")
        session.add(person)
        await session.flush()
        session.add(Membership(person_id=person.id, organisation_id=org_id, role="org_admin"))

    exported = json.loads(svbot(tmp_path, db_url, "data", "export", "--org", str(org_id)).stdout)
    assert exported["organisation"]["name"] == "Hastings Youth"
    assert [m["name"] for m in exported["members"]] == ["Ada Lovelace"]
    assert [g["external_id"] for g in exported["grants"]] == ["360G-test-1"] and len(exported["deadlines"]) == 6
    readable = svbot(tmp_path, db_url, "data", "export", "--person", str(person.id), "--format", "txt").stdout
    assert "You" in readable and "Ada Lovelace" in readable
    assert "No person with id 999." in svbot(tmp_path, db_url, "data", "export", "--person", "999", ok=False).stderr
    assert "--person ID or --org ID" in svbot(tmp_path, db_url, "data", "export", ok=False).stderr

    said = svbot(tmp_path, db_url, "data", "erase", "--org", str(org_id), "--yes").stdout
    assert f"Erased organisation {org_id}" in said and "grants 1" in said
    async with db() as session:
        assert await session.get(Organisation, org_id) is None
        assert await session.scalar(select(func.count()).select_from(Grant)) == 0
        assert await session.scalar(select(func.count()).select_from(Deadline)) == 0
        assert await session.scalar(select(func.count()).select_from(Membership)) == 0
        assert (await session.get(Person, person.id)).display_name == "Ada Lovelace", "people may belong elsewhere"
        (hashed,) = await session.scalars(select(ErasedOrganisation.external_id_hash))
        logs = list(await session.scalars(select(PrivacyRequest).order_by(PrivacyRequest.id)))
    assert hashed == external_id_hash("GB-CHC-1000001") and "GB-CHC" not in hashed
    assert [(r.action, r.subject, r.requested_by) for r in logs] == [
        ("export", "organisation", "cli"), ("export", "person", "cli"), ("erase", "organisation", "cli")]  # fmt: skip
    assert logs[-1].detail["submitted_reports"] == ["2026-08-01"], "a submitted report's existence and date stay"
    assert "Hastings" not in json.dumps(logs[-1].detail)

    again = svbot(tmp_path, db_url, "grants", "import", str(path)).stdout
    assert "1 grants of organisations erased at their request were left out" in again
    async with db() as session:
        assert await session.scalar(select(func.count()).select_from(Organisation)) == 0
    svbot(tmp_path, db_url, "grants", "import", str(path), "--include-erased")
    async with db() as session:
        assert await session.scalar(select(Organisation.name).where(Organisation.external_id == "GB-CHC-1000001"))


async def test_cli_erases_a_person_and_sets_a_privacy_contact(bot: ScenarioBot, db_url: str, tmp_path: Path) -> None:
    organisation_id = await join(bot)
    await walk_to_the_story(bot)
    person = await person_of(bot, "alice")
    svbot(tmp_path, db_url, "data", "contact", "--org", str(organisation_id), "dpo@hollybush.example")
    assert "dpo@hollybush.example" in svbot(tmp_path, db_url, "data", "contact", "--org", str(organisation_id)).stdout
    await bot.say("privacy")
    assert "dpo@hollybush.example" in bot.text
    assert "nothing was erased" in svbot(tmp_path, db_url, "data", "erase", "--person", str(person), ok=False).stderr
    said = svbot(tmp_path, db_url, "data", "erase", "--person", str(person), "--blank-texts", "--yes").stdout
    assert f"Erased person {person}" in said and "memberships 1" in said
    assert await person_of(bot, "alice") is None


async def test_retention_forgets_old_messages_event_keys_and_the_free_text_of_abandoned_conversations(
    bot: ScenarioBot, db_url: str, tmp_path: Path
) -> None:
    organisation_id = await join(bot)
    await walk_to_the_story(bot)
    await bot.say("4")  # people: a figure, not free text
    now = datetime.now(UTC)
    async with bot.bot.sessionmaker() as session, session.begin():
        base = {"kind": "reminder", "platform": "console", "chat_id": "alice", "payload": {"text": "Due soon"},
                "next_attempt_at": now}  # fmt: skip
        session.add_all([
            OutboxMessage(dedupe_key="old-sent", status=SENT, sent_at=now - timedelta(days=91), **base),
            OutboxMessage(dedupe_key="new-sent", status=SENT, sent_at=now - timedelta(days=89), **base),
            OutboxMessage(dedupe_key="old-pending", status=PENDING, created_at=now - timedelta(days=200), **base),
        ])  # fmt: skip
        session.add(InboundEvent(platform="console", event_id="e-old", received_at=now - timedelta(days=8)))
        session.add(InboundEvent(platform="console", event_id="e-new", received_at=now - timedelta(days=6)))

    svbot_on_test_dialogues(tmp_path, db_url, "data", "retention")  # today: messages and keys, no conversation yet
    async with bot.bot.sessionmaker() as session:
        keys = set(await session.scalars(select(OutboxMessage.dedupe_key)))
        events = set(await session.scalars(select(InboundEvent.event_id)))
        (state,) = await session.scalars(select(Conversation.state))
    assert keys == {"new-sent", "old-pending"} and events == {"e-new"}
    assert state["answers"]["about"] == STORY, "a conversation in use keeps its text"

    later = (now + timedelta(days=18 * 31)).isoformat()  # eighteen months on, nobody wrote again
    said = svbot_on_test_dialogues(tmp_path, db_url, "data", "retention", "--now", later)
    assert "the free text of 1 abandoned conversations" in said
    async with bot.bot.sessionmaker() as session:
        (state,) = await session.scalars(select(Conversation.state))
        kept = {a.key: a.value for a in await session.scalars(select(Answer).where(
            Answer.organisation_id == organisation_id))}  # fmt: skip
        assert set(await session.scalars(select(OutboxMessage.dedupe_key))) == {"old-pending"}, "never unsent ones"
    assert "about" not in state["answers"] and state["answers"]["people"] == 4 and state["dialogue"] == "every_type"
    assert kept["about"] == STORY, "what the organisation kept is not touched"
    await bot.say("status")  # the walk-through carries on
    assert "Traceback" not in bot.text and text("core.sorry") not in bot.text


async def test_an_organisation_admin_removes_a_member_and_nobody_else_can(bot: ScenarioBot) -> None:
    async with bot.bot.sessionmaker() as session, session.begin():
        organisation = Organisation(name="Hollybush Lunch Club", kind="member")
        session.add(organisation)
        await session.flush()
        admin_code = (await create_invite(session, organisation.id, bot.bot.clock(), role="org_admin")).code
        member_code = (await create_invite(session, organisation.id, bot.bot.clock())).code
    await bot.say(f"join {admin_code}")
    sam = ScenarioBot(bot.bot, user="sam")
    await sam.say(f"join {member_code}")
    sam_id = await person_of(bot, "sam")

    await sam.say("remove member")  # a member is not an admin
    assert text("privacy.remove.admins_only") in sam.text
    await bot.say("remove member")
    assert "Who should I remove" in bot.last
    pick = bot.button("sam")
    await sam.send(sam.inbound(payload=pick.payload))  # the member pressing the admin's button
    assert text("support.not_found") in sam.text
    await bot.press("sam")
    assert "Remove sam from your organisation?" in bot.last
    await bot.press("Yes, remove them")
    assert "sam is no longer a member" in bot.last

    async with bot.bot.sessionmaker() as session:
        roles = dict((await session.execute(select(Membership.person_id, Membership.role))).all())
        (logged,) = await session.scalars(select(PrivacyRequest).where(PrivacyRequest.action == "remove"))
        sam_org = await session.scalar(select(Conversation.organisation_id).where(Conversation.key.like("%:sam")))
    assert sam_id not in roles and list(roles.values()) == ["org_admin"]
    assert sam_org is None, "their chat no longer speaks for the organisation"
    assert await person_of(bot, "sam") == sam_id, "the person stays: only the membership goes"
    assert logged.subject_id == sam_id and logged.detail["organisation_id"] == organisation.id
    await sam.say("remove member")
    assert text("privacy.remove.admins_only") in sam.text


async def test_the_clock_applies_retention(db, db_url: str, tmp_path: Path) -> None:
    """`svbot clock` (the process operators run) forgets an old sent message and an old event key."""
    now = datetime.now(UTC)
    async with db() as session, session.begin():
        session.add(OutboxMessage(dedupe_key="old-sent", kind="reminder", platform="console", chat_id="x",
                                  payload={"text": "Due"}, status=SENT, sent_at=now - timedelta(days=120),
                                  next_attempt_at=now - timedelta(days=120)))  # fmt: skip
        session.add(InboundEvent(platform="console", event_id="e-old", received_at=now - timedelta(days=30)))

    async def gone() -> bool:
        async with db() as session:
            left = await session.scalar(select(func.count()).select_from(OutboxMessage))
            return left == 0 and await session.scalar(select(func.count()).select_from(InboundEvent)) == 0

    clock = Proc(["clock", "--interval", "0.3"], svbot_env(db_url), tmp_path / "clock.log").start()
    try:
        await wait_until(gone, timeout=60, what="the clock's retention pass")
    finally:
        assert await clock.stop_async() == 0, clock.output


async def test_button_keys_go_90_days_after_their_last_message_and_with_the_person_they_name(db, db_url: str) -> None:
    """A group button's key keeps whose question it was (Telegram id and first name): retention forgets it
    90 days after the last message it was sent on, and erasing that person forgets it at once."""
    from svbot.channels.telegram.buttons import ButtonStore, Owner
    from svbot.config import Settings
    from svbot.models import ButtonPayload
    from svbot.privacy.erase import erase_person
    from svbot.privacy.retention import apply_retention

    store = ButtonStore(db)
    ann, bob = Owner("101", "Ann"), Owner("202", "Bob")
    old = (await store.callback_data(["dl:submitted:1"], ann))["dl:submitted:1"]
    again = (await store.callback_data(["dl:submitted:2"], ann))["dl:submitted:2"]
    bobs = (await store.callback_data(["dl:submitted:1"], bob))["dl:submitted:1"]
    now = datetime.now(UTC)
    async with db() as session, session.begin():
        for button in await session.scalars(select(ButtonPayload)):
            button.created_at = now - timedelta(days=91)
    await store.callback_data(["dl:submitted:2"], ann)  # sent again today, on a new message

    forgotten = await apply_retention(db, now, Settings(DATABASE_URL=db_url), frozenset())
    assert forgotten.buttons == 2
    assert await store.decode(old) is None and await store.decode(bobs) is None, "older than 90 days"
    kept = await store.decode(again)
    assert kept is not None and kept.owner == ann, "its newest message is new"

    async with db() as session, session.begin():
        person = Person(display_name="Ann")
        session.add(person)
        await session.flush()
        session.add(Identity(person_id=person.id, platform="telegram", platform_user_id="101", chat_id="101"))
    bobs = (await store.callback_data(["dl:submitted:3"], bob))["dl:submitted:3"]
    async with db() as session, session.begin():
        erased = await erase_person(session, person.id, now=now, requested_by="cli")
    assert erased is not None and erased.counts["group_buttons"] == 1
    assert await store.decode(again) is None, "Ann's name went with her"
    assert await store.decode(bobs) is not None, "Bob's stays"
