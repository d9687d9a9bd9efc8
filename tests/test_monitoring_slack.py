"""Issue 16's transcript on Slack: the reminder's "Help me write it" button, pressed in Slack, drafts
the quarterly report through the app `svbot serve` builds (the fake Slack server, real slack-bolt,
real HTTP): the answers typed in the direct message, the draft readable on Slack (no raw `|` tables),
then "Mark as submitted" closes the deadline."""

from __future__ import annotations

from collections.abc import Awaitable
from decimal import Decimal

from sqlalchemy import select

from svbot.app import App, close_senders
from svbot.deadlines.models import SUBMITTED, Deadline
from svbot.deadlines.planner import plan_reminders
from svbot.delivery.dispatcher import Dispatcher
from svbot.turns import SORRY
from tests.fakes.slack_api import TEAM_ID, Call
from tests.scenario import ScenarioBot
from tests.test_monitoring import THREE_TARGETS, grantee, stored
from tests.test_shipped_wiring import slack_app  # noqa: F401  (the served app, on a fake Slack)
from tests.test_slack import SlackUser, labels, shown

REPORT = "Quarterly monitoring report (1 of 4)"  # tests.test_monitoring.grantee's report: Q1 2027, due 30 April


async def posted_by(person: SlackUser, action: Awaitable[object]) -> list[Call]:
    """Do something in Slack (`action`, not yet awaited); the messages svbot posted in answer, once it
    has gone quiet."""
    before = len(person.fake.ok_calls("chat.postMessage"))
    await action
    await person.fake.wait_for("chat.postMessage", count=before + 1, timeout=10)
    await person.fake.wait_quiet(0.3)
    return person.fake.ok_calls("chat.postMessage")[before:]


async def test_help_me_write_it_on_slack_through_the_served_app(
    slack_app: tuple[App, SlackUser],  # noqa: F811
) -> None:
    app, person = slack_app
    fake = person.fake
    bot = ScenarioBot(app.bot, user=f"{TEAM_ID}:{person.user}", platform="slack")  # as svbot names Slack users
    ids = await grantee(bot, outcomes=THREE_TARGETS, budget=Decimal(12000))
    deadline_id = ids[REPORT]
    said = shown((await posted_by(person, person.say("due")))[-1])  # in the DM: svbot can reach them there
    assert REPORT in said and SORRY not in said

    # The reminder, planned and sent as `svbot reminders run` does, arrives in the DM with its buttons.
    async with app.bot.sessionmaker() as session:
        first_reminder = (await session.get(Deadline, deadline_id)).next_reminder_at
    assert (await plan_reminders(app.bot.sessionmaker, first_reminder)).queued == 1
    senders = app.senders()
    try:
        assert (await Dispatcher(app.bot.sessionmaker, senders, app.limiter()).drain(first_reminder)).sent == 1
    finally:
        await close_senders(senders)
    reminder = await fake.wait_for("chat.postMessage", where=lambda c: "Reminder:" in shown(c))
    assert reminder.args["channel"] == person.dm
    assert "Help me write it" in labels(reminder)

    replies = await posted_by(person, person.press(reminder, "Help me write it"))
    said = "\n".join(shown(m) for m in replies)
    assert "for 1 January to 31 March 2027" in said and "Train advisers (target: 4 advisers)" in said
    assert "the last 12 months" not in said.lower()
    for answer_text in ("3", "skip", "about 10", "skip", "20", "skip", "Drop-ins", "£4,000", "skip", "skip",
                        "skip", "1", "skip", "skip"):  # fmt: skip
        said = "\n".join(shown(m) for m in await posted_by(person, person.say(answer_text)))
        assert SORRY not in said, (answer_text, said)
    assert "Here's what you told me for this report" in said

    draft = await posted_by(person, person.say("all correct"))
    report = "\n".join(shown(m) for m in draft)
    assert "*Period:* 1 January to 31 March 2027" in report, "Slack's own bold, the deadline's own period"
    assert "Train advisers: 3 of 4 advisers (3 ÷ 4 = 75%)" in report
    assert "Spent £4,000 of the £12,000 budget" in report
    assert "1 person took part from 1 January to 31 March 2027." in report
    assert "|" not in report, "no raw tables on Slack"
    assert "|" not in "\n".join(str(m.args.get("text", "")) for m in draft), "nor in the notification text"
    assert "**" not in report and "## " not in report, "Markdown said as Slack's mrkdwn"
    upload = fake.ok_calls("upload")
    assert len(upload) == 1 and upload[0].body.startswith(b"PK"), "the Word file is uploaded"
    last = draft[-1]
    assert labels(last) == ["Mark as submitted", "Keep as a draft"]
    deadline, row = await stored(bot, deadline_id)
    assert deadline.status != SUBMITTED and row is not None and row.status == "draft"

    said = "\n".join(shown(m) for m in await posted_by(person, person.press(last, "Mark as submitted")))
    assert "I've marked the quarterly monitoring report (1 of 4) for Advice grant as submitted" in said
    deadline, row = await stored(bot, deadline_id)
    assert deadline.status == SUBMITTED and deadline.next_reminder_at is None, "its reminders stop"
    assert row is not None and row.status == "submitted"
    assert row.answers["answers"]["activities"] == "Drop-ins"
    async with app.bot.sessionmaker() as session:
        assert await session.scalar(select(Deadline.status).where(Deadline.id == deadline_id)) == SUBMITTED
