"""Slack under a burst: many first messages at once, and one person typing fast."""

from __future__ import annotations

import asyncio

from tests.fakes.slack_api import FakeSlack
from tests.test_slack import SlackUser, app, bot, fake, settings, slack  # noqa: F401  (fixtures)


async def test_a_burst_of_first_messages_checks_the_token_once_and_answers_everyone(
    slack: SlackUser,  # noqa: F811
    fake: FakeSlack,  # noqa: F811
) -> None:
    people = []
    for n in range(20):
        person = SlackUser(slack.http, fake, user=f"U{n:07d}")
        person.dm = f"D{n:07d}"
        people.append(person)
    responses = await asyncio.gather(*(person.say("hello") for person in people))
    assert {r.status_code for r in responses} == {200}
    await fake.wait_for("chat.postMessage", count=20, timeout=30)  # a greeting and question each
    assert [c.method for c in fake.calls].count("auth.test") == 1, "one token check fills the cache for all"
    answered = {c.args["channel"] for c in fake.calls if c.method == "chat.postMessage"}
    assert answered == {person.dm for person in people}


async def test_one_person_typing_fast_gets_replies_in_order(slack: SlackUser, fake: FakeSlack) -> None:  # noqa: F811
    await slack.say("hello")
    assert "What is your group called?" in (await slack.reply(1)).args["text"]
    # Two answers sent back to back, before the first is answered: they are taken in order.
    await asyncio.gather(slack.say("Lunch Club"), slack.say("We cook hot meals"))
    second, third = await slack.reply(2), await slack.reply(3)
    # Whichever answer reached svbot first was the name; the replies came back in the order asked.
    assert second.args["text"].startswith("What does ") and second.args["text"].endswith(" do?")
    assert third.args["text"] == "How many people came?"
