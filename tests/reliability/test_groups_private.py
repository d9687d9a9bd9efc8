"""Private answers in groups (issue 21, item 9): every command that shows an organisation's data, asked in a
Telegram group or a Slack channel, is answered in the person's private chat; the group sees a short note
and nothing of the organisation. Tried on both fakes through the app `svbot serve` builds, as a person
who is an admin of a member organisation and of its support organisation, with a deadline, a shared
statement and a shared monitoring report on file. And a button press in a group, said straight to the
core (a press is untrusted input), is moved to the private chat too."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from svbot.app import App, open_app
from svbot.deadlines.models import Deadline, Grant
from svbot.evidence import StatementRecord
from svbot.messages import Inbound
from svbot.models import Membership, Organisation
from svbot.monitoring import MonitoringReport
from svbot.paths import dialogues_dir
from svbot.statements.model import Numbers, ObjectiveEvidence, StatementInput
from svbot.support.invites import create_invite
from tests.fakes.slack_api import FakeSlack
from tests.fakes.telegram_api import BOT_USERNAME, FakeTelegram
from tests.scenario import Clock, make_bot

MEMBER, SUPPORT = "Quokka Allotment Friends", "Wombat CVS"
DEADLINE, STORY = "Zebra final report", "marmalade sandwiches"
# What may never be seen in the group: names, the deadline, the statement, a join code, a sign-in link.
LEAKS = re.compile(r"(?i:Quokka|Wombat|Zebra|marmalade|sign-in|/dashboard)|\b[A-Z2-9]{4}-[A-Z2-9]{6}\b")

COMMANDS = [
    "due", "due all", "statement", "write report", "members", "organisations", "my data", "dashboard",
    "invite", "invite admin", "broadcast", "broadcasts", "share statement", "share report", "submitted",
    "snooze 1 week", "limit 100", "reword", "new statement", "remove member", "delete my data",
]  # fmt: skip
PUBLIC = ["help", "hello", "privacy"]  # answered in the group, and must still say nothing of the organisation


async def seed(app: App) -> tuple[str, str]:
    """The two organisations, their data, and a support-admin and an org-admin code for them."""
    now = datetime.now(UTC)
    async with app.bot.sessionmaker() as session, session.begin():
        support = Organisation(name=SUPPORT, kind="support")
        session.add(support)
        await session.flush()
        member = Organisation(name=MEMBER, kind="member", support_org_id=support.id)
        session.add(member)
        await session.flush()
        grant = Grant(external_id="360G-zebra", organisation_id=member.id, title="Zebra grant", description="",
                      funder_id="", funder_name="", programme="", currency="GBP", content_hash="")  # fmt: skip
        session.add(grant)
        await session.flush()
        deadline = Deadline(grant_id=grant.id, organisation_id=member.id, key="final", title=DEADLINE,
                            due_date=date.today() + timedelta(days=5), status="upcoming")  # fmt: skip
        session.add(deadline)
        await session.flush()
        data = StatementInput(org_name=MEMBER, framework_id="local_pledge", period="2026-27", objectives=[
            ObjectiveEvidence(objective_id="involve_local_people", activity=f"We grow {STORY}.",
                              numbers=Numbers(people_reached=40), story=f"Lunch with {STORY}.")])  # fmt: skip
        record = StatementRecord(organisation_id=member.id, framework_id="local_pledge", period="2026-27",
                                 data=data.model_dump(mode="json"))  # fmt: skip
        record.shared = True
        session.add(record)
        session.add(MonitoringReport(deadline_id=deadline.id, organisation_id=member.id, shared=True,
                                     answers={"answers": {"summary": f"We served {STORY}."}}))  # fmt: skip
        admin = await create_invite(session, support.id, now, role="support_admin")
        own = await create_invite(session, member.id, now, role="org_admin")
    return admin.code, own.code


# -- Telegram --------------------------------------------------------------------------------------------

ANN, GROUP = 8201, -100777


@pytest.mark.attack(
    "9",
    "Every command that shows an organisation's data (21 of them) asked in a Telegram group",
    "Each is run in the person's private chat; the group gets a one-line note, nothing of the organisation",
)
async def test_nothing_of_the_organisation_reaches_a_telegram_group(
    tmp_path: Path, db_url: str, fake: FakeTelegram
) -> None:
    from tests.test_telegram import make_settings
    from tests.test_telegram_people import serving

    settings = make_settings(tmp_path, db_url, fake, SVBOT_DIALOGUES_DIR=None)  # the shipped walk-throughs
    async with serving(settings, fake) as served:
        for code in await seed(served.app):
            await served.say(ANN, f"/start {code}", first_name="Ann")
        assert "Welcome" in fake.last_message(ANN).text
        _, own = await seed_more_codes(served.app)
        # Each command in a group of its own: Telegram allows a bot 20 messages a minute in one group, and
        # svbot keeps to that, so one group would make this test wait minutes for nothing it checks.
        for number, said in enumerate([*COMMANDS, f"join {own}", *PUBLIC]):
            group_id = GROUP - number
            in_group = {"chat_id": group_id, "chat_type": "supergroup"}
            private = len(fake.chat(ANN))
            await served.say(ANN, f"@{BOT_USERNAME} {said}", first_name="Ann", **in_group)
            seen = [m.text for m in fake.chat(group_id)]
            assert seen, f"{said!r}: the group was answered"
            if said not in PUBLIC:
                assert all("private message" in t for t in seen), (said, seen)
                assert len(fake.chat(ANN)) > private, f"{said!r} was answered in Ann's private chat"
            # and as a command ("/due@bot"; one that is not a command gets the list of commands)
            await served.say(ANN, f"/{said.replace(' ', '')}@{BOT_USERNAME}", first_name="Ann", **in_group)
            seen = [m.text for m in fake.chat(group_id)]
            leaked = [t for t in seen if LEAKS.search(t)]
            assert not leaked, f"{said!r} put the organisation's data in the group: {leaked}"
            assert not any(m.document for m in fake.chat(group_id)), "never a file in the group"
        private_text = "\n".join(m.text for m in fake.chat(ANN))
        assert DEADLINE in private_text and MEMBER in private_text, "the private chat had it all (the check can fail)"


async def seed_more_codes(app: App) -> tuple[str, str]:
    """A fresh org-admin code for the member organisation (to `join` with in the group)."""
    async with app.bot.sessionmaker() as session, session.begin():
        member = await session.scalar(select(Organisation).where(Organisation.name == MEMBER))
        assert member is not None
        made = await create_invite(session, member.id, datetime.now(UTC), role="org_admin")
    return "", made.code


# -- Slack -----------------------------------------------------------------------------------------------


@pytest.mark.attack(
    "9",
    "Every command that shows an organisation's data asked in a Slack channel, by mention and by /svbot",
    "Each is run in the person's DM; the channel gets a one-line note, nothing of the organisation",
)
async def test_nothing_of_the_organisation_reaches_a_slack_channel(db_url: str) -> None:
    import httpx

    from svbot.config import Settings
    from tests.serving import serve_app
    from tests.test_shipped_wiring import SLACK_SECRET
    from tests.test_slack import SlackUser, shown
    from tests.test_slack_groups import CHANNEL, SHOWN, mention

    async with FakeSlack() as fake:
        settings = Settings(DATABASE_URL=db_url, SLACK_BOT_TOKEN="xoxb-wiring", SLACK_SIGNING_SECRET=SLACK_SECRET,
                            SLACK_API_URL=fake.api_url)  # fmt: skip
        async with open_app(settings, migrate=False) as app, serve_app(app.web_app()) as base_url:
            async with httpx.AsyncClient(base_url=base_url) as http:
                ann = SlackUser(http, fake, "U0000201", "ann")
                for code in await seed(app):
                    await ann.say(f"join {code}")
                    await fake.wait_quiet(0.3)
                assert any("Welcome" in shown(c) for c in fake.ok_calls("chat.postMessage"))
                _, own = await seed_more_codes(app)
                for said in [*COMMANDS, f"join {own}", *PUBLIC]:
                    for how in ("mention", "command"):
                        before = len(fake.calls)
                        if how == "mention":
                            await mention(ann, said)
                        else:
                            await ann.command(said, channel=CHANNEL)
                        await fake.wait_for("chat.postMessage", count=1, timeout=10)
                        # Anything arriving later still lands in the channel's calls and is checked below.
                        await fake.wait_quiet(0.15)
                        calls = [c for c in fake.calls[before:] if c.method in SHOWN]
                        public = [c for c in calls if _in_channel(c, CHANNEL)]
                        private = [c for c in calls if c.args.get("channel") == ann.dm]
                        seen = [shown(c) for c in public]
                        assert seen, f"{said!r} ({how}): the channel was answered"
                        leaked = [t for t in seen if LEAKS.search(t)]
                        assert not leaked, f"{said!r} ({how}) put the organisation's data in the channel: {leaked}"
                        if said not in PUBLIC:
                            assert private, f"{said!r} ({how}) was answered in Ann's DM"
        await fake.wait_quiet(0.5)
        late = [shown(c) for c in fake.calls if c.method in SHOWN and _in_channel(c, CHANNEL)]
        assert not [t for t in late if LEAKS.search(t)], "nothing of the organisation in the channel, even late"
        assert not any(c.args.get("channel_id") == CHANNEL for c in fake.calls), "never a file in the channel"
        in_dm = "\n".join(shown(c) for c in fake.ok_calls("chat.postMessage") if c.args.get("channel") == ann.dm)
        assert DEADLINE in in_dm and MEMBER in in_dm, "the DM had it all (the check can fail)"


def _in_channel(call, channel: str) -> bool:  # type: ignore[no-untyped-def]
    """Seen in the channel: a post or update there, or an answer through the slash command's response URL
    (ephemeral ones too: they show in the channel, if only to the sender)."""
    return call.method == "respond" or call.args.get("channel") == channel


# -- a press in a group, straight to the core --------------------------------------------------------------


@pytest.mark.attack(
    "9",
    "A statement's or a member's button pressed in a group (a forged or forwarded press)",
    "No feature button is answered in a group: the press is run again in the private chat",
)
async def test_a_feature_button_pressed_in_a_group_is_answered_privately(db_url: str) -> None:
    bot = await make_bot(db_url, dialogues_dir=dialogues_dir(), clock=Clock(datetime.now(UTC)))
    try:
        fake_app = type("A", (), {"bot": bot})()
        admin, _ = await seed(fake_app)  # type: ignore[arg-type]

        def said(text: str | None = None, payload: str | None = None, group: bool = True) -> Inbound:
            said.n += 1  # type: ignore[attr-defined]
            return Inbound(platform="telegram", user_id="8301", chat_id="-100900" if group else "8301", text=text,
                           payload=payload, event_id=f"p{said.n}", user_name="Ann", is_group=group)  # type: ignore[attr-defined]  # fmt: skip

        said.n = 0  # type: ignore[attr-defined]
        assert "Welcome" in (await bot.handle(said(f"join {admin}", group=False)))[-1].text
        async with bot.sessionmaker() as session:
            statement = await session.scalar(select(StatementRecord.id))
            member = await session.scalar(select(Organisation.id).where(Organisation.name == MEMBER))
            report = await session.scalar(select(MonitoringReport.id))
            memberships = len((await session.scalars(select(Membership))).all())
        assert memberships == 1
        for payload in (f"sv:stmt:{statement}", f"sv:org:{member}", f"sv:rep:{report}", f"bc:org:{member}",
                        "dl:snooze:1", "mr:open:1", "pv:erase:yes"):  # fmt: skip
            replies = await bot.handle(said(payload=payload))
            assert len(replies) == 1 and replies[0].take_private, (payload, [r.text for r in replies])
            assert not LEAKS.search(replies[0].text) and not replies[0].buttons
        # the same press in the private chat is answered there (so the test above could have failed)
        replies = await bot.handle(said(payload=f"sv:stmt:{statement}", group=False))
        assert any(STORY in (r.text or "") or r.file for r in replies), [r.text for r in replies]
    finally:
        await bot.db_engine.dispose()  # type: ignore[attr-defined]
