"""Monitoring reports and the support organisation (issue 16 item 4), through the shipped bot: a member
shares its latest report with `share report` and takes it back with `stop sharing report`; the support
admin reads it only while it is shared (refused as kindly as an unshared statement otherwise); `members`
says which open reports are submitted, drafted or not started; `svbot deadlines list --status` says the
same per deadline."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from svbot.deadlines.models import UPCOMING, Deadline, Grant
from svbot.deadlines.service import mark_submitted, rules_for, set_cursor
from svbot.models import Identity, Membership, Organisation, Person
from svbot.monitoring import MonitoringReport, save_draft
from svbot.paths import dialogues_dir
from svbot.support.access import visible_report
from svbot.support.chat import NOT_FOUND
from svbot.turns import SORRY, Bot
from tests.reliability.support import svbot_env
from tests.scenario import Clock, ScenarioBot, make_bot

NOW = datetime(2027, 4, 12, 9, 0, tzinfo=UTC)  # a Monday, twelve days after the quarter ended
Q1 = "Quarterly monitoring report (1 of 4)"


@dataclass
class World:
    bot: Bot
    brighton: int  # a support organisation
    hastings: int  # another one
    hollybush: int  # Brighton's member, whose reports these are
    kitchen: int  # another of Brighton's members
    deadlines: dict[str, int]  # Hollybush's, by title

    def user(self, name: str) -> ScenarioBot:
        return ScenarioBot(self.bot, user=name)


@pytest.fixture
async def world(db_url: str) -> AsyncIterator[World]:
    bot = await make_bot(db_url, dialogues_dir=dialogues_dir(), clock=Clock(NOW))
    async with bot.sessionmaker() as session, session.begin():
        brighton = Organisation(name="Brighton CVS", kind="support")
        hastings = Organisation(name="Hastings CVS", kind="support")
        session.add_all([brighton, hastings])
        await session.flush()
        hollybush = Organisation(name="Hollybush Advice", kind="member", support_org_id=brighton.id)
        kitchen = Organisation(name="Bike Kitchen", kind="member", support_org_id=brighton.id)
        session.add_all([hollybush, kitchen])
        await session.flush()
        grant = Grant(external_id="360G-hollybush", organisation_id=hollybush.id, support_org_id=brighton.id,
                      title="Advice grant", planned_start=date(2026, 10, 1), planned_end=date(2027, 9, 30))  # fmt: skip
        session.add(grant)
        await session.flush()
        rules = await rules_for(session, brighton.id)
        deadlines = {}
        for key, title, start, end, due in (
            ("quarterly:0", "Quarterly monitoring report (0 of 4)", date(2026, 10, 1), date(2026, 12, 31),
             date(2027, 1, 30)),
            ("quarterly:1", Q1, date(2027, 1, 1), date(2027, 3, 31), date(2027, 4, 20)),
            ("quarterly:2", "Quarterly monitoring report (2 of 4)", date(2027, 4, 1), date(2027, 6, 30),
             date(2027, 4, 25)),
            ("quarterly:3", "Quarterly monitoring report (3 of 4)", date(2027, 7, 1), date(2027, 9, 30),
             date(2027, 10, 30)),
        ):  # fmt: skip
            row = Deadline(grant_id=grant.id, organisation_id=hollybush.id, key=key, title=title, due_date=due,
                           period_start=start, period_end=end, status=UPCOMING)  # fmt: skip
            set_cursor(row, rules, NOW)
            session.add(row)
            await session.flush()
            deadlines[title] = row.id
        ids = (brighton.id, hastings.id, hollybush.id, kitchen.id)
    yield World(bot, *ids, deadlines)
    await bot.db_engine.dispose()  # type: ignore[attr-defined]


async def person(world: World, user: str, organisation_id: int, role: str = "member") -> ScenarioBot:
    async with world.bot.sessionmaker() as session, session.begin():
        someone = Person(display_name=user)
        session.add(someone)
        await session.flush()
        session.add(Identity(person_id=someone.id, platform="console", platform_user_id=user, chat_id=user))
        session.add(Membership(person_id=someone.id, organisation_id=organisation_id, role=role))
    return world.user(user)


async def person_id(world: World, user: str) -> int:
    async with world.bot.sessionmaker() as session:
        found = await session.scalar(select(Identity.person_id).where(Identity.platform_user_id == user))
        assert found is not None
        return found


async def report_of(world: World, title: str) -> MonitoringReport | None:
    async with world.bot.sessionmaker() as session:
        return await session.scalar(
            select(MonitoringReport).where(MonitoringReport.deadline_id == world.deadlines[title])
        )


async def write_and_keep(world: World, bot: ScenarioBot, title: str) -> None:
    """Write the report in chat (`write report`, then its button), skipping what can be skipped, and
    keep it as a draft."""
    await bot.say("write report")
    assert "Which report would you like to write?" in bot.text
    wanted = f"mr:write:{world.deadlines[title]}"
    offered = [b.payload for b in bot.last_message.buttons]
    assert wanted in offered
    later = f"mr:write:{world.deadlines['Quarterly monitoring report (3 of 4)']}"
    assert later not in offered and "(1 more: say due all to see it.)" in bot.text, "October's is not written in April"
    await bot.send(bot.inbound(payload=wanted))
    for _ in range(40):
        assert SORRY not in bot.text, bot.transcript[-6:]
        if "Here's what you told me" in bot.text:
            break
        await bot.say("skip")
    await bot.say("all correct")
    await bot.press("Keep as a draft")
    assert "I've kept it as a draft" in bot.last, bot.transcript[-6:]


def labels(bot: ScenarioBot) -> list[str]:
    return [b.label for m in bot.replies for b in m.buttons]


async def test_a_report_is_read_by_the_support_admin_only_while_it_is_shared(world: World) -> None:
    ann = await person(world, "ann", world.hollybush)  # a member, not the organisation's admin
    sue = await person(world, "sue", world.brighton, "support_admin")
    hal = await person(world, "hal", world.hastings, "support_admin")
    kit = await person(world, "kit", world.kitchen, "org_admin")

    await ann.say("share report")
    assert "You haven't started a monitoring report yet" in ann.text
    await write_and_keep(world, ann, Q1)
    row = await report_of(world, Q1)
    assert row is not None and row.shared is False

    # Not shared yet: the support admin sees it is drafted, but cannot read it.
    await sue.say("members")
    assert "Hollybush Advice:" in sue.text and "drafted" in sue.text
    await sue.press("Hollybush Advice")
    assert "They haven't shared a monitoring report with you." in sue.text
    assert not any(label.startswith("Read: ") for label in labels(sue))
    await sue.send(sue.inbound(payload=f"sv:rep:{row.id}"))
    assert sue.text == NOT_FOUND

    await ann.say("share report")
    assert "your support organisation can now read your quarterly monitoring report (1 of 4)" in ann.text

    await sue.say("members")
    await sue.press("Hollybush Advice")
    await sue.press(f"Read: {Q1}")
    assert "The monitoring report of Hollybush Advice, as they shared it:" in sue.text
    said = "\n".join(m.text for m in sue.replies if m.markdown)
    assert "**Period:** 1 January to 31 March 2027" in said
    assert [m.file.filename for m in sue.replies if m.file] == ["hollybush-advice-monitoring-report.docx"]
    assert "Mark as submitted" not in labels(sue), "submitting is the organisation's, not the admin's"

    # Nobody else reads it: another support organisation's admin, another member, forged ids.
    for other in (hal, kit):
        await other.send(other.inbound(payload=f"sv:rep:{row.id}"))
        assert other.text == NOT_FOUND
    for forged in ("sv:rep:99999", "sv:rep:-1", "sv:rep:1;drop"):
        await sue.send(sue.inbound(payload=forged))
        assert sue.text == NOT_FOUND
    await sue.say("share report")  # a support admin has no report of their own to share
    assert "Only someone in a member organisation" in sue.text

    await ann.say("stop sharing report")
    assert "no longer shared" in ann.text
    await sue.send(sue.inbound(payload=f"sv:rep:{row.id}"))
    assert sue.text == NOT_FOUND
    sue_person, ann_person = await person_id(world, "sue"), await person_id(world, "ann")
    async with world.bot.sessionmaker() as session:
        assert await visible_report(session, sue_person, row.id) is None
        assert await visible_report(session, ann_person, row.id) is not None


async def test_members_shows_submitted_drafted_and_not_started(world: World) -> None:
    ann = await person(world, "ann", world.hollybush)
    sue = await person(world, "sue", world.brighton, "support_admin")
    await sue.say("members")
    assert "• Hollybush Advice: 1 overdue, 2 due soon; reports: 3 not started" in sue.text
    assert "• Bike Kitchen: nothing overdue\n" in sue.text + "\n", "no reports, no report words"

    await write_and_keep(world, ann, Q1)  # drafted in chat
    async with world.bot.sessionmaker() as session, session.begin():
        identity = await session.scalar(select(Identity.id).where(Identity.platform_user_id == "ann"))
        assert identity is not None
        late = world.deadlines["Quarterly monitoring report (0 of 4)"]
        assert await mark_submitted(session, late, identity, NOW) is not None
    await sue.say("members")
    assert "• Hollybush Advice: nothing overdue, 2 due soon; reports: 1 submitted, 1 drafted, 1 not started" in sue.text


async def test_a_report_left_half_way_is_a_draft_straight_away(world: World) -> None:
    """No review, no "keep as a draft": two answers, then "cancel". The answers are in the draft at
    once, so the support admin counts it as drafted, and what was said is kept as said."""
    ann = await person(world, "ann", world.hollybush)
    sue = await person(world, "sue", world.brighton, "support_admin")
    await ann.say("write report")
    await ann.send(ann.inbound(payload=f"mr:write:{world.deadlines[Q1]}"))
    assert "What did you agree to deliver?" in ann.text  # this grant has no outcomes yet
    await ann.say("skip")
    await ann.say("Weekly drop-ins, and a training day")  # what they delivered
    assert "How many different people took part" not in ann.text
    while "How many different people took part" not in ann.text:
        await ann.say("skip")
    await ann.say("about 40")
    await ann.say("cancel")
    row = await report_of(world, Q1)
    assert row is not None and row.status == "draft"
    kept = row.answers["answers"]
    assert kept["activities"] == "Weekly drop-ins, and a training day"
    assert kept["reached"] == 40 and kept["reached~qualifier"] == "about"
    assert "report_deadline" not in kept, "svbot's own marker is not part of the report"
    await sue.say("members")
    assert "reports: 1 drafted, 2 not started" in sue.text

    # Back to it: the number given again plainly clears its "about" in the draft too.
    await ann.say("start")
    await ann.say("back")
    assert "How many different people took part" in ann.text, ann.transcript[-4:]
    await ann.say("42")
    kept = (await report_of(world, Q1)).answers["answers"]  # type: ignore[union-attr]
    assert kept["reached"] == 42 and "reached~qualifier" not in kept, kept


async def test_deadlines_list_status_says_submitted_draft_or_not_started(
    world: World, db_url: str, tmp_path: Path
) -> None:
    await person(world, "ann", world.hollybush)
    async with world.bot.sessionmaker() as session, session.begin():
        identity = await session.scalar(select(Identity.id).where(Identity.platform_user_id == "ann"))
        assert identity is not None
        draft = await session.get(Deadline, world.deadlines[Q1])
        assert draft is not None
        await save_draft(session, draft, {"activities": "Weekly drop-ins"}, [], NOW)
        late = world.deadlines["Quarterly monitoring report (0 of 4)"]
        assert await mark_submitted(session, late, identity, NOW) is not None

    def listed(*args: str) -> list[str]:
        command = [sys.executable, "-m", "svbot.cli", "deadlines", "list", *args, "--today", "2027-04-12"]
        done = subprocess.run(command, capture_output=True, text=True, env=svbot_env(db_url), cwd=tmp_path, timeout=120)
        assert done.returncode == 0 and "Traceback" not in done.stdout + done.stderr, done.stderr
        return done.stdout.splitlines()

    rows = {line.split(" for Advice grant")[0].rsplit("Quarterly", 1)[1]: line for line in listed("--status", "--all")}
    assert "submitted submitted" in " ".join(rows[" monitoring report (0 of 4)"].split())
    assert " due draft Quarterly" in " ".join(rows[" monitoring report (1 of 4)"].split())
    assert " due not started Quarterly" in " ".join(rows[" monitoring report (2 of 4)"].split())
    assert " upcoming not started Quarterly" in " ".join(rows[" monitoring report (3 of 4)"].split())
    assert len(rows) == 4
    plain = listed()
    assert len(plain) == 3 and not any("not started" in line or " draft " in line for line in plain)
