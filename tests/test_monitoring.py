"""Monitoring reports (issue 16, items 2 to 4), through the shipped bot: `write report` or the reminder's
"Help me write it" drafts the report for one deadline, for that deadline's own period, against what the
grant agreed; the draft lists what is missing and invents nothing; Mark as submitted stops the
reminders, Keep as a draft keeps one draft that a colleague can carry on; `svbot monitoring export`."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime
from decimal import Decimal
from io import BytesIO
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from svbot.app import App
from svbot.deadlines.models import PROPOSED, SUBMITTED, UPCOMING, Deadline, Grant, GrantOutcome, Programme
from svbot.deadlines.outcomes import OutcomeSpec, set_agreed_outcomes
from svbot.deadlines.service import rules_for, set_cursor
from svbot.models import Answer, Conversation, Identity, Membership, Organisation, Person
from svbot.monitoring import MonitoringReport, read_outcomes
from svbot.monitoring_report import ReportInput, compose, period_text, render
from svbot.paths import dialogues_dir
from svbot.turns import SORRY
from tests.fakes.telegram_api import FakeTelegram
from tests.reliability.support import svbot_env
from tests.scenario import Clock, ScenarioBot, make_bot
from tests.test_shipped_wiring import telegram_app  # noqa: F401  (the served app, on a fake Telegram)

NOW = datetime(2027, 4, 12, 9, 0, tzinfo=UTC)  # a Monday, twelve days after the quarter ended
Q1 = (date(2027, 1, 1), date(2027, 3, 31))
THREE_TARGETS = [
    OutcomeSpec("Train advisers", Decimal(4), "advisers"),
    OutcomeSpec("Run drop-in sessions", Decimal(24), "sessions"),
    OutcomeSpec("Help people with debt", Decimal(200), "people"),
]


@pytest.fixture
async def shipped(db_url: str) -> AsyncIterator[ScenarioBot]:
    bot = await make_bot(db_url, dialogues_dir=dialogues_dir(), clock=Clock(NOW))
    yield ScenarioBot(bot, user="ann")
    await bot.db_engine.dispose()  # type: ignore[attr-defined]


async def person_in(bot: ScenarioBot, user: str, organisation_id: int) -> None:
    async with bot.bot.sessionmaker() as session, session.begin():
        person = Person(display_name=user)
        session.add(person)
        await session.flush()
        session.add(Identity(person_id=person.id, platform=bot.platform, platform_user_id=user, chat_id=user))
        session.add(Membership(person_id=person.id, organisation_id=organisation_id, role="member"))


async def grantee(
    bot: ScenarioBot,
    *,
    outcomes: list[OutcomeSpec] | None = None,
    budget: Decimal | None = None,
    reports: list[tuple[str, date, date, date]] | None = None,
    programme: str = "",
) -> dict[str, int]:
    """Ann of Hollybush Advice, whose grant agreed `outcomes` and has these open reports (title, period
    start, period end, due). Returns the ids: org, grant and each report by title."""
    reports = reports or [("Quarterly monitoring report (1 of 4)", *Q1, date(2027, 4, 30))]
    async with bot.bot.sessionmaker() as session, session.begin():
        org = Organisation(name="Hollybush Advice", kind="member")
        session.add(org)
        await session.flush()
        grant = Grant(external_id="360G-hollybush", organisation_id=org.id, title="Advice grant", budget=budget,
                      programme=programme, planned_start=date(2027, 1, 1), planned_end=date(2027, 12, 31))  # fmt: skip
        session.add(grant)
        await session.flush()
        if outcomes:
            await set_agreed_outcomes(session, grant.id, outcomes)
        rules = await rules_for(session, None)
        ids = {"org": org.id, "grant": grant.id}
        for number, (title, start, end, due) in enumerate(reports, 1):
            row = Deadline(grant_id=grant.id, organisation_id=org.id, key=f"quarterly:{number}", title=title,
                           due_date=due, period_start=start, period_end=end, status=UPCOMING)  # fmt: skip
            set_cursor(row, rules, NOW)
            session.add(row)
            await session.flush()
            ids[title] = row.id
    await person_in(bot, bot.user, ids["org"])
    return ids


async def answer(bot: ScenarioBot, *said: str) -> None:
    for text in said:
        await bot.say(text)
        assert SORRY not in bot.text, bot.transcript[-6:]


async def stored(bot: ScenarioBot, deadline_id: int) -> tuple[Deadline, MonitoringReport | None]:
    async with bot.bot.sessionmaker() as session:
        deadline = await session.get(Deadline, deadline_id)
        row = await session.scalar(select(MonitoringReport).where(MonitoringReport.deadline_id == deadline_id))
        assert deadline is not None
        return deadline, row


def chat_report(bot: ScenarioBot) -> str:
    """The draft as it was said in chat (its Markdown pieces)."""
    return "\n".join(m.text for m in bot.replies if m.markdown)


# -- a quarterly report for a grant with three targets ---------------------------------------------------


async def test_a_quarterly_report_for_three_targets_written_with_write_report(shipped: ScenarioBot) -> None:
    ids = await grantee(shipped, outcomes=THREE_TARGETS, budget=Decimal(12000))
    await shipped.say("write report")
    said = shipped.text
    intro = "Let's draft your quarterly monitoring report (1 of 4) for Advice grant, for 1 January to 31 March 2027"
    assert intro in said
    assert "Your grant agreed to: Train advisers (target: 4 advisers)." in said
    assert "How many had you achieved by 31 March 2027" in said

    await answer(shipped, "3", "Two of them now run the Tuesday drop-in.")
    assert "Run drop-in sessions (target: 24 sessions)" in shipped.text
    await answer(shipped, "about 10", "skip")
    assert "Help people with debt (target: 200 people)" in shipped.text
    await answer(shipped, "I don't know", "skip")
    assert "What activities did you deliver from 1 January to 31 March 2027?" in shipped.text
    await answer(shipped, "12 drop-ins and a training day for new advisers")
    assert "Your grant's budget is £12,000. How much of it had you spent by 31 March 2027?" in shipped.text
    await answer(shipped, "£4,000", "People came back a second time.", "Our venue closed for three weeks.", "skip")
    assert "How many different people took part from 1 January to 31 March 2027?" in shipped.text
    await answer(shipped, "about 40")
    assert "Do you collect equality monitoring? That means counting the people" in shipped.text
    await shipped.press("Yes, we do")
    await answer(shipped, "Age: 12 under 25, 8 over 65. Disabled: 9.", "Train two more advisers.")
    assert "Here's what you told me for this report" in shipped.text
    await answer(shipped, "all correct")

    report = chat_report(shipped)
    assert "**Period:** 1 January to 31 March 2027" in report
    changed = "What changed: Two of them now run the Tuesday drop-in."
    assert f"- Train advisers: 3 of 4 advisers (3 ÷ 4 = 75%)\n  {changed}" in report
    assert "- Run drop-in sessions: about 10 of 24 sessions (10 ÷ 24 = 42%)" in report
    assert "- Help people with debt: not given yet (target 200 people)" in report
    assert "- Spent £4,000 of the £12,000 budget (4,000 ÷ 12,000 = 33%)" in report
    assert (
        "## Who we reached\n\n- About 40 different people took part from 1 January to 31 March 2027.\n"
        "- Equality monitoring: Age: 12 under 25, 8 over 65. Disabled: 9."
    ) in report
    gaps = report.split("## Gaps to fill before you submit", 1)[1]
    assert "Help people with debt: how many were achieved by 31 March 2027 is not given" in gaps
    assert "different people" not in gaps and "equality" not in gaps
    assert "|" not in report, "no raw tables in chat"
    files = [m.file for m in shipped.replies if m.file is not None]
    assert [f.filename for f in files] == ["hollybush-advice-monitoring-report.docx"]
    assert [b.label for b in shipped.last_message.buttons] == ["Mark as submitted", "Keep as a draft"]

    await shipped.press("Mark as submitted")
    assert "I've marked the quarterly monitoring report (1 of 4) for Advice grant as submitted" in shipped.last
    deadline, row = await stored(shipped, ids["Quarterly monitoring report (1 of 4)"])
    assert deadline.status == SUBMITTED and deadline.next_reminder_at is None, "its reminders stop"
    assert row is not None and row.status == "submitted" and row.organisation_id == ids["org"]
    assert row.answers["answers"]["activities"] == "12 drop-ins and a training day for new advisers"
    await shipped.say("write report")
    assert "no monitoring reports waiting" in shipped.last


async def test_help_me_write_it_starts_the_report_for_that_deadline(shipped: ScenarioBot) -> None:
    ids = await grantee(
        shipped,
        outcomes=THREE_TARGETS[:1],
        reports=[("Quarterly monitoring report (1 of 4)", *Q1, date(2027, 4, 30)),
                 ("Quarterly monitoring report (2 of 4)", date(2027, 4, 1), date(2027, 6, 30), date(2027, 7, 30))],
    )  # fmt: skip
    second = ids["Quarterly monitoring report (2 of 4)"]
    await shipped.send(shipped.inbound(payload=f"dl:help:{second}"))
    assert "for 1 April to 30 June 2027" in shipped.text
    assert "How many had you achieved by 30 June 2027" in shipped.text
    assert "the last 12 months" not in shipped.text.lower()

    # One report due now: `write report` starts it; a report due next quarter is not offered.
    other = ScenarioBot(shipped.bot, user="ben")
    await person_in(other, "ben", ids["org"])
    await other.say("write report")
    assert "for 1 January to 31 March 2027" in other.text and "Which report" not in other.text

    # Someone else's report: refused, kindly.
    stranger = ScenarioBot(shipped.bot, user="eve")
    await stranger.send(stranger.inbound(payload=f"mr:write:{second}"))
    assert "can't find that report" in stranger.last


# -- a first report: the targets are asked for -----------------------------------------------------------


def test_what_was_agreed_is_read_with_its_targets() -> None:
    assert read_outcomes("Train advisers: 4 advisers; Run 12 drop-in sessions by March 2028\nOpen a drop-in") == [
        OutcomeSpec("Train advisers", Decimal(4), "advisers"),
        OutcomeSpec("Run 12 drop-in sessions by March 2028", Decimal(12), "drop-in sessions"),
        OutcomeSpec("Open a drop-in"),
    ]
    assert read_outcomes("  ;  ") == []


async def test_a_first_report_asks_what_was_agreed_and_stores_it_as_proposed(shipped: ScenarioBot) -> None:
    ids = await grantee(shipped)
    await shipped.say("write report")
    assert "for 1 January to 31 March 2027" in shipped.text
    assert "What did you agree to deliver?" in shipped.last
    await answer(shipped, "Train advisers: 4 advisers; Open a drop-in")
    assert "I've noted 2 outcomes for your support organisation to check" in shipped.text
    assert "You told me you would: Train advisers (target: 4 advisers)." in shipped.text
    async with shipped.bot.sessionmaker() as session:
        rows = list(await session.scalars(select(GrantOutcome).order_by(GrantOutcome.position)))
        person_id = await session.scalar(select(Identity.person_id).where(Identity.platform_user_id == "ann"))
    assert [(r.text, r.target, r.unit, r.status, r.proposed_by_person_id) for r in rows] == [
        ("Train advisers", Decimal(4), "advisers", PROPOSED, person_id),
        ("Open a drop-in", None, "", PROPOSED, person_id),
    ]
    await answer(shipped, "2", "skip", "1", "skip", *["skip"] * 7, "all correct")
    report = chat_report(shipped)
    assert "- Train advisers (proposed by you, not yet confirmed): 2 of 4 advisers (2 ÷ 4 = 50%)" in report
    assert "- Open a drop-in (proposed by you, not yet confirmed): 1 (no target agreed)" in report
    assert "Open a drop-in: there is no target" in report
    deadline, row = await stored(shipped, ids["Quarterly monitoring report (1 of 4)"])
    assert deadline.status == UPCOMING and row is not None and row.status == "draft"


# -- "I don't know" to most things: gaps, nothing invented --------------------------------------------------


NUMBER = re.compile(r"\d[\d,]*(?:\.\d+)?")


async def test_most_answers_i_dont_know_lists_gaps_and_invents_nothing(shipped: ScenarioBot) -> None:
    await grantee(shipped, outcomes=THREE_TARGETS, budget=Decimal(12000))
    await shipped.say("write report")
    await answer(shipped, "I don't know", "skip", "I don't know", "I don't know", "2", "I don't know")
    await answer(shipped, "I don't know", "I don't know", "skip", "I don't know", "skip")
    await answer(shipped, "I don't know", "I don't know", "I don't know", "all correct")
    report = chat_report(shipped)
    gaps = report.split("## Gaps to fill before you submit", 1)[1]
    for missing in ("Train advisers: how many", "Run drop-in sessions: how many", "What you delivered",
                    "How much of the £12,000 budget was spent by 31 March 2027", "What went well",
                    "What was hard", "How many different people took part from 1 January to 31 March 2027",
                    "Your plan for the next period"):  # fmt: skip
        assert missing in gaps, missing
    assert "Help people with debt: how many" not in gaps
    assert "- Help people with debt: 2 of 200 people (2 ÷ 200 = 1%)" in report
    assert "## What went well" not in report and "## Activities delivered" not in report
    assert "## Who we reached" not in report, "nothing said about who was reached, so no section"
    # Every number is a date of the deadline, a target or budget, or one given, or worked out from them.
    given = {"1", "2", "3", "4", "31", "30", "2027", "24", "200", "12,000"}
    body = report.split("## Gaps to fill", 1)[0]
    assert set(NUMBER.findall(body)) <= given, set(NUMBER.findall(body)) - given


# -- a small group's path stays short -----------------------------------------------------------------------


async def group_size(bot: ScenarioBot, organisation_id: int, size: str) -> None:
    """The size the group gave in its social value walk-through (its evidence bank)."""
    async with bot.bot.sessionmaker() as session, session.begin():
        identity = await session.scalar(select(Identity).where(Identity.platform_user_id == bot.user))
        assert identity is not None
        conversation = Conversation(key=f"earlier:{bot.user}", identity_id=identity.id, organisation_id=organisation_id,
                                    state={})  # fmt: skip
        session.add(conversation)
        await session.flush()
        session.add(Answer(conversation_id=conversation.id, organisation_id=organisation_id, dialogue_id="social_value",
                           key="org.size", value=size))  # fmt: skip


async def questions_until_review(bot: ScenarioBot) -> list[str]:
    """Skip every question of the report, and return what was asked."""
    asked = []
    await bot.say("write report")
    while "Here's what you told me for this report" not in bot.text:
        asked.append(bot.text)
        assert len(asked) < 30, bot.transcript[-4:]
        await answer(bot, "skip")
    await answer(bot, "all correct")
    return asked


@pytest.mark.parametrize(("size", "budget", "count"), [
    ("10k_100k", None, 9), ("under_10k", None, 8), ("10k_100k", Decimal(5000), 10), ("under_10k", Decimal(5000), 9),
])  # fmt: skip
async def test_a_small_groups_report_asks_fewer_questions_and_still_drafts(
    shipped: ScenarioBot, size: str, budget: Decimal | None, count: int
) -> None:
    ids = await grantee(shipped, outcomes=THREE_TARGETS[:1], budget=budget)
    await group_size(shipped, ids["org"], size)
    asked = await questions_until_review(shipped)
    assert len(asked) == count, asked
    small = size == "under_10k"
    assert any("A short story of one person" in q for q in asked) is not small
    assert any("Your grant's budget is £5,000" in q for q in asked) is (budget is not None)
    report = chat_report(shipped)
    assert "**Period:** 1 January to 31 March 2027" in report
    assert "Train advisers" in report and "## Gaps to fill before you submit" in report
    _deadline, row = await stored(shipped, ids["Quarterly monitoring report (1 of 4)"])
    assert row is not None


# -- a second report offers back the first's plan ----------------------------------------------------------


async def skip_until(bot: ScenarioBot, question: str) -> None:
    for _ in range(30):
        if question in bot.text:
            return
        await answer(bot, "skip")
    raise AssertionError(f"never asked {question!r}: {bot.transcript[-4:]}")


async def test_the_second_report_offers_back_the_plan_of_the_first(shipped: ScenarioBot) -> None:
    ids = await grantee(
        shipped,
        outcomes=THREE_TARGETS[:1],
        reports=[("Quarterly monitoring report (1 of 4)", *Q1, date(2027, 4, 30)),
                 ("Quarterly monitoring report (2 of 4)", date(2027, 4, 1), date(2027, 6, 30), date(2027, 7, 30))],
    )  # fmt: skip
    first, second = ids["Quarterly monitoring report (1 of 4)"], ids["Quarterly monitoring report (2 of 4)"]
    # The first report, before anything was planned: nothing to offer back.
    await shipped.send(shipped.inbound(payload=f"mr:write:{first}"))
    await answer(shipped, "3", "skip")
    assert "What activities did you deliver from 1 January to 31 March 2027?" in shipped.text
    assert "Last time you planned" not in shipped.text
    await skip_until(shipped, "What do you plan to do in the next period?")
    await answer(shipped, "Train two more advisers and open a second drop-in.", "all correct")
    await shipped.press("Mark as submitted")

    await shipped.send(shipped.inbound(payload=f"mr:write:{second}"))
    await skip_until(shipped, "What activities did you deliver")
    said = shipped.text
    assert "Last time you planned: Train two more advisers and open a second drop-in." in said
    assert "What activities did you deliver from 1 April to 30 June 2027?" in said
    # The plan is offered, never taken as this period's answer.
    await answer(shipped, "skip")
    _deadline, row = await stored(shipped, second)
    assert row is None or "activities" not in (row.answers or {}).get("answers", {})


# -- keep as a draft; two people, one draft ----------------------------------------------------------------


async def test_keep_as_a_draft_then_a_colleague_carries_on_the_same_draft(shipped: ScenarioBot) -> None:
    ids = await grantee(shipped, outcomes=THREE_TARGETS[:2])
    deadline_id = ids["Quarterly monitoring report (1 of 4)"]
    await shipped.say("write report")
    await answer(shipped, "3", "Two run the Tuesday drop-in.", "cancel")

    ben = ScenarioBot(shipped.bot, user="ben")
    await person_in(ben, "ben", ids["org"])
    await ben.say("write report")
    assert "This report is already started (by you or someone in your organisation)" in ben.text
    assert "Train advisers" not in ben.text.split("already started", 1)[1], "Ann's answers are not asked again"
    assert "Run drop-in sessions (target: 24 sessions)" in ben.text
    await answer(ben, "20", "skip", "Weekly drop-ins", *["skip"] * 6)
    assert "Here's what you told me for this report" in ben.text and "1. Achieved: 3" in ben.text
    await answer(ben, "all correct")
    report = chat_report(ben)
    assert "- Train advisers: 3 of 4 advisers (3 ÷ 4 = 75%)" in report
    assert "- Run drop-in sessions: 20 of 24 sessions (20 ÷ 24 = 83%)" in report

    await ben.press("Keep as a draft")
    assert "I've kept it as a draft" in ben.last
    deadline, row = await stored(ben, deadline_id)
    assert deadline.status == UPCOMING and deadline.next_reminder_at is not None, "reminders carry on"
    assert row is not None and row.status == "draft"
    assert row.answers["answers"]["progress.o1.achieved"] == 3

    # Ann comes back to it: one draft, with Ben's answers, asking nothing already answered.
    await shipped.say("write report")
    assert "This report is already started (by you or someone in your organisation)" in shipped.text
    assert "Here's what you told me for this report" in shipped.text
    assert "Weekly drop-ins" in shipped.text


async def test_write_report_mid_walk_through_does_not_answer_it(shipped: ScenarioBot) -> None:
    await grantee(shipped, outcomes=THREE_TARGETS[:1])
    await shipped.say("start")
    await shipped.say("write report")
    assert "Let's finish this walk-through first" in shipped.last
    nobody = ScenarioBot(shipped.bot, user="zed")
    await nobody.say("write report")
    assert "no monitoring reports waiting" in nobody.last


# -- the period is the deadline's own ---------------------------------------------------------------------


PERIOD = re.compile(r"\b(\d{1,2}) ([A-Z][a-z]+)(?: (\d{4}))? to (\d{1,2}) ([A-Z][a-z]+) (\d{4})\b")


def periods_in(text: str) -> set[str]:
    return {match.group(0) for match in PERIOD.finditer(text)}


@pytest.mark.parametrize(
    ("start", "end", "expected"),
    [
        (date(2027, 1, 1), date(2027, 3, 31), "1 January to 31 March 2027"),
        (date(2026, 10, 1), date(2027, 3, 31), "1 October 2026 to 31 March 2027"),
        (date(2027, 4, 15), date(2027, 5, 9), "15 April to 9 May 2027"),  # a one-off's odd dates
    ],
)
async def test_the_report_states_the_deadlines_own_period_and_no_other(
    shipped: ScenarioBot, start: date, end: date, expected: str
) -> None:
    ids = await grantee(shipped, outcomes=THREE_TARGETS[:1],
                        reports=[("Monitoring report", start, end, date(2027, 6, 9))])  # fmt: skip
    await shipped.say("write report")
    assert periods_in(shipped.text) == {expected}
    await answer(shipped, "1", "skip", *["skip"] * 7, "all correct")
    assert periods_in(chat_report(shipped).replace("\\", "")) == {expected}
    async with shipped.bot.sessionmaker() as session:
        from svbot.monitoring import export

        for fmt in ("md", "html", "txt"):
            content = await export(session, ids["Monitoring report"], fmt)
            assert isinstance(content, str) and periods_in(content.replace("\\", "")) == {expected}, fmt


def test_a_report_without_dates_says_so_and_invents_none() -> None:
    report = compose(ReportInput("Hollybush", "Advice grant", "Final report", None, None, date(2027, 4, 30)))
    markdown = render(report, "md")
    assert isinstance(markdown, str)
    assert "**Period:** not known" in markdown and "The dates this report covers are not known" in markdown
    assert period_text(None, date(2027, 3, 31)) is None


# -- a programme's own form -------------------------------------------------------------------------------


async def test_a_programme_uses_its_own_form_from_the_same_folder(db_url: str, tmp_path: Path) -> None:
    folder = tmp_path / "dialogues"
    shutil.copytree(dialogues_dir(), folder)
    (folder / "lottery_form.yaml").write_text(
        "id: lottery_form\ntitle: Our form\ndone: ''\nsteps:\n"
        "  - id: outcomes\n    when: 'false'\n    ask: Outcomes\n    type: multi_choice\n"
        "    options_from: 'report.outcomes if report else []'\n"
        "  - id: activities\n    ask: 'In a sentence, what did you do from {{ report.period }}?'\n"
        "    type: long_text\n    optional: true\n",
        encoding="utf-8",
    )
    real = await make_bot(db_url, dialogues_dir=folder, clock=Clock(NOW))
    bot = ScenarioBot(real, user="ann")
    try:
        await grantee(bot, outcomes=THREE_TARGETS[:1], programme="LOTTERY")
        async with real.sessionmaker() as session, session.begin():
            support = Organisation(name="Brighton CVS", kind="support")
            session.add(support)
            await session.flush()
            await session.execute(Grant.__table__.update().values(support_org_id=support.id))
            session.add(Programme(support_org_id=support.id, code="LOTTERY", title="", monitoring_form="lottery_form"))
        await bot.say("write report")
        assert "In a sentence, what did you do from 1 January to 31 March 2027?" in bot.text
        await answer(bot, "Ran 12 drop-ins")
        report = chat_report(bot)
        assert "Ran 12 drop-ins" in report and "Train advisers: not given yet (target 4 advisers)" in report
    finally:
        await real.db_engine.dispose()  # type: ignore[attr-defined]


# -- svbot monitoring export ------------------------------------------------------------------------------


def svbot(tmp_path: Path, db_url: str, *args: str, ok: bool = True) -> subprocess.CompletedProcess[str]:
    done = subprocess.run([sys.executable, "-m", "svbot.cli", *args], capture_output=True, text=True,
                          env=svbot_env(db_url), cwd=tmp_path, timeout=120)  # fmt: skip
    assert (done.returncode == 0) == ok, done.stderr
    assert "Traceback" not in done.stdout + done.stderr
    return done


async def test_svbot_monitoring_export_in_each_format(shipped: ScenarioBot, db_url: str, tmp_path: Path) -> None:
    ids = await grantee(shipped, outcomes=THREE_TARGETS, budget=Decimal(12000))
    deadline_id = str(ids["Quarterly monitoring report (1 of 4)"])
    no_draft = svbot(tmp_path, db_url, "monitoring", "export", "--deadline", deadline_id, ok=False)
    assert no_draft.stderr.startswith("svbot: deadline") and "write report" in no_draft.stderr
    await shipped.say("write report")
    await answer(shipped, "3", "<b>Two</b> run *the* drop-in", "about 10", "skip", "I don't know", "skip",
                 "Drop-ins & training", "£4,000", *["skip"] * 6, "all correct")  # fmt: skip

    md = svbot(tmp_path, db_url, "monitoring", "export", "--deadline", deadline_id, "--format", "md").stdout
    assert "- Train advisers: 3 of 4 advisers (3 ÷ 4 = 75%)" in md and "**Period:** 1 January to 31 March 2027" in md
    assert "\\<b\\>Two\\</b\\> run \\*the\\* drop-in" in md or "<b>" not in md
    txt = svbot(tmp_path, db_url, "monitoring", "export", "--deadline", deadline_id, "--format", "txt").stdout
    assert "Period: 1 January to 31 March 2027" in txt and "- Run drop-in sessions: about 10 of 24 sessions" in txt
    html = svbot(tmp_path, db_url, "monitoring", "export", "--deadline", deadline_id, "--format", "html").stdout
    assert html.startswith("<!DOCTYPE html>") and '<html lang="en-GB">' in html
    assert "&lt;b&gt;Two&lt;/b&gt; run *the* drop-in" in html and "<b>" not in html
    assert "<li>Spent £4,000 of the £12,000 budget (4,000 ÷ 12,000 = 33%)</li>" in html
    assert html.count("<ul>") == html.count("</ul>") and html.count("<li>") == html.count("</li>")
    out = tmp_path / "report.docx"
    svbot(tmp_path, db_url, "monitoring", "export", "--deadline", deadline_id, "--format", "docx", "--out", str(out))
    import docx

    document = docx.Document(BytesIO(out.read_bytes()))
    paragraphs = [p.text for p in document.paragraphs]
    assert "Quarterly monitoring report (1 of 4): Hollybush Advice" in paragraphs
    assert "Period: 1 January to 31 March 2027" in paragraphs
    assert "Train advisers: 3 of 4 advisers (3 ÷ 4 = 75%)\nWhat changed: <b>Two</b> run *the* drop-in" in paragraphs
    assert not document.tables
    assert document.core_properties.author == "Hollybush Advice"
    printed = svbot(tmp_path, db_url, "monitoring", "export", "--deadline", deadline_id, "--format", "docx", ok=False)
    assert "--out" in printed.stderr
    unknown = svbot(tmp_path, db_url, "monitoring", "export", "--deadline", "999", ok=False)
    assert unknown.stderr.startswith("svbot: No deadline with id 999.")


# -- on Telegram, through the app `svbot serve` builds ------------------------------------------------------


async def test_help_me_write_it_on_telegram_through_the_served_app(
    telegram_app: tuple[App, FakeTelegram, httpx.AsyncClient],  # noqa: F811
) -> None:
    app, fake, http = telegram_app
    user = 7001
    bot = ScenarioBot(app.bot, user=str(user), platform="telegram")
    ids = await grantee(bot, outcomes=THREE_TARGETS, budget=Decimal(12000))
    deadline_id = ids["Quarterly monitoring report (1 of 4)"]

    async def say(text: str) -> str:
        before = len(fake.chat(user))
        assert (await http.post("/telegram/webhook", json=fake.text_update(user_id=user, text=text))).status_code == 200
        return "\n".join(m.text for m in fake.chat(user)[before:])

    await say("/due")
    reminder = fake.last_message(user)  # the button's payload is the reminder's own: dl:help:ID
    before = len(fake.chat(user))
    update = fake.button_update(user_id=user, message=reminder, data=f"dl:help:{deadline_id}")
    assert (await http.post("/telegram/webhook", json=update)).status_code == 200
    said = "\n".join(m.text for m in fake.chat(user)[before:])
    assert "for 1 January to 31 March 2027" in said and "Train advisers (target: 4 advisers)" in said
    for answer_text in ("3", "skip", "about 10", "skip", "20", "skip", "Drop-ins", "£4,000", "skip", "skip",
                        "skip", "42", "No, we don't", "skip"):  # fmt: skip
        said = await say(answer_text)
        assert SORRY not in said, said
    said = await say("all correct")
    assert "Train advisers: 3 of 4 advisers (3 ÷ 4 = 75%)" in said and "|" not in said
    assert "42 different people took part from 1 January to 31 March 2027." in said
    assert "We do not collect equality monitoring." in said
    assert fake.calls_to("sendDocument"), "the Word file is sent"
    last = fake.last_message(user)
    before = len(fake.chat(user))
    update = fake.press(user_id=user, message=last, label_part="Mark as submitted")
    assert (await http.post("/telegram/webhook", json=update)).status_code == 200
    assert "as submitted" in "\n".join(m.text for m in fake.chat(user)[before:])
    deadline, row = await stored(bot, deadline_id)
    assert deadline.status == SUBMITTED and row is not None and row.status == "submitted"
