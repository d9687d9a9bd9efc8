"""Slack as people use it in a workspace (issue 17), through the app `svbot serve` builds, real slack-bolt
over signed HTTP and the fake Slack Web API: channel threads (mention to start, then answer in the
thread), someone else's buttons, what goes to the DM, `/svbot` in a DM between two people, shared files,
and every payload of a whole walk-through in a thread checked with slack_sdk's own Block Kit models."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable
from typing import Any
from urllib.parse import urlencode

import pytest
from slack_sdk.models.blocks import Block
from sqlalchemy import func, select

from svbot.app import App
from svbot.channels.slack.adapter import SENT_TO_DM, TYPED_ONLY
from svbot.channels.slack.render import TICK, ticked_labels
from svbot.models import Answer, InboundEvent
from svbot.turns import SORRY
from tests.fakes.slack_api import BOT_USER_ID, TEAM_ID, Call
from tests.scenario import typed_answer
from tests.test_shipped_wiring import FIRST_QUESTION, new_code, slack_app  # noqa: F401  (the served app, on a fake Slack)
from tests.test_slack import CONTROL_LABELS, SlackUser, _ts, labels, shown

CHANNEL = "C0000777"
SHOWN = ("chat.postMessage", "chat.update", "chat.postEphemeral", "respond")  # what people can see


async def after(person: SlackUser, action: Awaitable[object]) -> list[Call]:
    """Do something in Slack; every call svbot made in answer that people can see, once it is quiet."""
    before = len(person.fake.calls)
    await action
    await _any_new(person, before)
    await person.fake.wait_quiet(0.3)
    return [c for c in person.fake.calls[before:] if c.method in SHOWN]


async def _any_new(person: SlackUser, before: int, timeout: float = 10.0) -> None:
    fake = person.fake
    assert fake._changed is not None
    async with asyncio.timeout(timeout), fake._changed:
        await fake._changed.wait_for(lambda: any(c.method in SHOWN for c in fake.calls[before:]))


async def mention(person: SlackUser, said: str) -> str:
    """@svbot in the channel: svbot answers in a thread under this message; returns its ts."""
    ts = _ts()
    event = {"type": "app_mention", "channel": CHANNEL, "user": person.user, "ts": ts,
             "text": f"<@{BOT_USER_ID}> {said}"}  # fmt: skip
    assert (await person.event(event)).status_code == 200
    return ts


async def in_thread(person: SlackUser, thread: str, said: str, **extra: Any) -> None:
    """Type in a channel thread, without mentioning svbot (Slack sends it as message.channels)."""
    event = {"type": "message", "channel": CHANNEL, "channel_type": "channel", "user": person.user,
             "text": said, "ts": _ts(), "thread_ts": thread, **extra}  # fmt: skip
    assert (await person.event(event)).status_code == 200


async def event_rows(app: App) -> int:
    async with app.bot.sessionmaker() as session:
        return int(await session.scalar(select(func.count()).select_from(InboundEvent)) or 0)


def other(person: SlackUser, user: str = "U0000099", name: str = "kim") -> SlackUser:
    return SlackUser(person.http, person.fake, user, name)


def valid_blocks(call: Call) -> None:
    """Slack's own models: every block parses and passes validation (lengths, counts, required fields)."""
    blocks = call.args.get("blocks") or []
    if isinstance(blocks, str):
        blocks = json.loads(blocks)
    for block in blocks:
        parsed = Block.parse(block)
        assert parsed is not None, block
        parsed.validate_json()  # raises SlackObjectFormationError on anything Slack would refuse
        assert parsed.to_dict() == block, f"a field slack_sdk does not know: {block}"


# -- 3. threads: mention to start, then answers typed in the thread ----------------------------------------


async def test_answers_typed_in_svbots_thread_need_no_mention(slack_app: tuple[App, SlackUser]) -> None:  # noqa: F811
    app, ann = slack_app
    thread = await mention(ann, "start")
    await ann.fake.wait_for("chat.postMessage")
    await ann.fake.wait_quiet(0.3)
    ask = ann.fake.ok_calls("chat.postMessage")[-1]
    assert ask.args["channel"] == CHANNEL and ask.args["thread_ts"] == thread and FIRST_QUESTION in shown(ask)

    said = await after(ann, in_thread(ann, thread, "Riverside Lunch Club"))
    assert [c.args["thread_ts"] for c in said] == [thread] and SORRY not in shown(said[0])
    async with app.bot.sessionmaker() as session:
        assert "Riverside Lunch Club" in (await session.scalars(select(Answer.value))).all()

    rows = await event_rows(app)
    kim = other(ann)
    await kim.event({"type": "message", "channel": CHANNEL, "channel_type": "channel", "user": kim.user,
                     "text": "lunch?", "ts": _ts(), "thread_ts": thread})  # fmt: skip  # not in a walk-through here
    await kim.event({"type": "message", "channel": CHANNEL, "channel_type": "channel", "user": ann.user,
                     "text": "hello all", "ts": _ts()})  # fmt: skip  # the channel itself
    await kim.event({"type": "message", "channel": CHANNEL, "channel_type": "channel", "user": ann.user,
                     "text": "about the rota", "ts": _ts(), "thread_ts": "1690000000.000100"})  # fmt: skip
    await kim.event({"type": "message", "channel": CHANNEL, "channel_type": "group", "user": ann.user,
                     "text": f"<@{BOT_USER_ID}> x", "ts": _ts(), "thread_ts": thread})  # fmt: skip  # app_mention's
    await ann.fake.wait_quiet(0.4)
    assert [c for c in ann.fake.calls if c.method in SHOWN] == said_before(ann, said)
    assert await event_rows(app) == rows, "nothing stored for messages that are not for svbot"


def said_before(person: SlackUser, said: list[Call]) -> list[Call]:
    """Everything shown so far, which must end with `said`: nothing was posted after it."""
    shown_calls = [c for c in person.fake.calls if c.method in SHOWN]
    assert shown_calls[-len(said) :] == said
    return shown_calls


async def test_a_reply_in_a_dm_thread_stays_in_that_thread(slack_app: tuple[App, SlackUser]) -> None:  # noqa: F811
    app, ann = slack_app
    await after(ann, ann.say("start"))
    thread = ann.fake.ok_calls("chat.postMessage")[-1].ts
    said = await after(ann, ann.event({"type": "message", "channel": ann.dm, "channel_type": "im", "user": ann.user,
                                       "text": "Riverside Lunch Club", "ts": _ts(), "thread_ts": thread}))  # fmt: skip
    assert said and all(c.args.get("thread_ts") == thread for c in said)
    assert "Riverside Lunch Club" in shown(said[-1]), "the same DM conversation carried on"


# -- 1. someone else's button ---------------------------------------------------------------------------


async def test_someone_elses_button_is_turned_away_and_changes_nothing(
    slack_app: tuple[App, SlackUser],  # noqa: F811
) -> None:
    app, ann = slack_app
    thread = await mention(ann, "start")
    await ann.fake.wait_for("chat.postMessage")
    await ann.fake.wait_quiet(0.3)
    ask = ann.fake.ok_calls("chat.postMessage")[-1]
    assert "Help" in labels(ask)
    assert {b.get("block_id") for b in ask.args["blocks"] if b["type"] == "actions"} <= {
        f"svbot-for:{ann.user}.{n}" for n in range(len(ask.args["blocks"]))
    }

    kim = other(ann)
    said = await after(kim, kim.press(ask, "Help"))
    assert [c.method for c in said] == ["chat.postEphemeral"], "the message and the conversation stay as they were"
    assert said[0].args["user"] == kim.user and said[0].args["thread_ts"] == thread
    assert said[0].args["text"] == f"This is <@{ann.user}>'s question. Mention me to start your own."

    said = await after(ann, ann.press(ask, "Help"))  # Ann's own press works
    assert any(c.method == "chat.update" and c.args["ts"] == ask.ts for c in said)
    said = await after(ann, in_thread(ann, thread, "Riverside Lunch Club"))
    assert "Riverside Lunch Club" in "\n".join(shown(c) for c in said), "still on Ann's first question"


# -- 2. private things go to the DM -----------------------------------------------------------------------


@pytest.mark.parametrize("said", ["due", "write report", "statement", "members"])
async def test_an_organisation_command_in_a_thread_is_answered_in_the_dm(
    slack_app: tuple[App, SlackUser],  # noqa: F811
    said: str,
) -> None:
    app, ann = slack_app
    await mention(ann, said)
    await ann.fake.wait_for("chat.postMessage", count=2, timeout=10)
    await ann.fake.wait_quiet(0.3)
    posted = ann.fake.ok_calls("chat.postMessage")
    in_channel = [c for c in posted if c.args["channel"] == CHANNEL]
    in_dm = [c for c in posted if c.args["channel"] == ann.dm]
    assert [shown(c) for c in in_channel] == [
        "I've answered you in a private message, as it's about your organisation."
    ]
    assert in_dm and all("thread_ts" not in c.args or c.args["thread_ts"] is None for c in in_dm)
    assert SORRY not in shown(in_dm[0]) and shown(in_dm[0]).strip()
    assert (await ann.fake.wait_for("conversations.open")).args["users"] == ann.user


async def test_a_walk_through_in_a_thread_every_payload_valid_and_the_statement_in_the_dm(
    slack_app: tuple[App, SlackUser],  # noqa: F811
) -> None:
    """The whole default walk-through in a channel thread: answers typed in the thread without a
    mention, buttons pressed; the statement and its Word file arrive in the DM, a note in the thread.
    Every payload svbot sent on the way passes slack_sdk's Block Kit models."""
    app, ann = slack_app
    fake = ann.fake
    thread = await mention(ann, "start")
    await fake.wait_for("chat.postMessage")
    await fake.wait_quiet(0.3)
    transcript: list[str] = []
    ticks_listed = 0
    for _ in range(150):
        if fake.ok_calls("files.completeUploadExternal"):
            break
        current = [c for c in fake.ok_calls("chat.postMessage") if c.args["channel"] == CHANNEL][-1]
        text = shown(current)
        transcript.append(text)
        buttons = [label.removeprefix(TICK) for label in labels(current)]
        choices = [b for b in buttons if b not in CONTROL_LABELS]
        if choices and "Done" in buttons:
            await after(ann, ann.press(current, choices[0]))
            ticked = fake.ok_calls("chat.update")[-1]
            as_shown = Call(
                "chat.postMessage", {**ticked.args, "thread_ts": thread}, None, 0, response={"ts": current.ts}
            )
            await after(ann, ann.press(as_shown, "Done"))
            done = fake.ok_calls("chat.update")[-1]
            chosen = ticked_labels(ticked.args["blocks"])
            if chosen:  # item 6: the note under the question lists the ticks, not "Done"
                note = done.args["blocks"][-1]["elements"][0]["text"]
                assert note == "You chose: " + ", ".join(chosen) and "Done" not in note
                ticks_listed += 1
        elif choices:
            await after(ann, ann.press(current, choices[0]))
        elif len(transcript) > 1 and transcript[-2] == text:
            await after(ann, ann.press(current, "Skip / I don't know"))
        else:
            await after(ann, in_thread(ann, thread, typed_answer(text)))
    else:
        raise AssertionError("the walk-through did not finish:\n" + "\n---\n".join(transcript[:8]))
    await fake.wait_quiet(0.3)
    assert ticks_listed >= 1

    complete = fake.ok_calls("files.completeUploadExternal")[-1]
    assert complete.args["channel_id"] == ann.dm, "the Word file goes to the DM"
    statement = [c for c in fake.ok_calls("chat.postMessage") if c.args["channel"] == ann.dm]
    assert any("lunch club" in shown(c).lower() for c in statement), "the statement is in the DM"
    thread_posts = [c for c in fake.ok_calls("chat.postMessage") if c.args["channel"] == CHANNEL]
    assert all(c.args["thread_ts"] == thread for c in thread_posts)
    assert shown(thread_posts[-1]) == SENT_TO_DM
    assert not any(c.args.get("channel_id") == CHANNEL for c in fake.calls), "no file in the channel"

    checked = [c for c in fake.calls if c.method in SHOWN and c.args.get("blocks")]
    assert len(checked) > 20
    for call in checked:
        valid_blocks(call)


# -- 4. /svbot in a DM between two people; a shared file ------------------------------------------------------


async def test_slash_command_in_a_dm_svbot_is_not_in_answers_through_response_url(
    slack_app: tuple[App, SlackUser],  # noqa: F811
) -> None:
    app, ann = slack_app
    said = await after(ann, ann.command("start", channel="D0000777"))  # Ann's DM with Kim
    assert said and {c.method for c in said} == {"respond"}, [c.method for c in said]
    assert all(c.args["response_type"] == "ephemeral" for c in said)
    assert FIRST_QUESTION in "\n".join(str(c.args.get("text")) for c in said)
    assert not any(c.args.get("channel") == "D0000777" for c in ann.fake.calls)
    valid_blocks(said[-1])

    # A button on that ephemeral answer: Slack sends no message with it, only the response_url.
    button = next(e for b in said[-1].args["blocks"] for e in b.get("elements", ()) if e.get("type") == "button")
    payload = {
        "type": "block_actions", "api_app_id": "A0000001", "token": "legacy", "trigger_id": "77.trigger",
        "user": {"id": ann.user, "username": ann.name, "team_id": TEAM_ID}, "team": {"id": TEAM_ID},
        "channel": {"id": "D0000777", "name": "directmessage"},
        "container": {"type": "message", "message_ts": "1.1", "channel_id": "D0000777", "is_ephemeral": True},
        "response_url": ann.fake.response_url("ephemeral"),
        "actions": [{**button, "block_id": "b", "action_ts": _ts()}],
    }  # fmt: skip
    pressed = await after(
        ann, ann.post(urlencode({"payload": json.dumps(payload)}), "application/x-www-form-urlencoded")
    )
    assert pressed and {c.method for c in pressed} == {"respond"}, [c.method for c in pressed]
    assert all(c.args["_key"] == "ephemeral" for c in pressed), "answered through the press's response_url"
    assert not any(c.args.get("channel") == "D0000777" for c in ann.fake.calls)

    # The conversation is Ann's DM's: she can answer there.
    said = await after(ann, ann.say("Riverside Lunch Club"))
    assert said[-1].args["channel"] == ann.dm and "Riverside Lunch Club" in shown(said[-1])


async def test_a_shared_file_gets_a_polite_answer_and_is_not_stored(slack_app: tuple[App, SlackUser]) -> None:  # noqa: F811
    app, ann = slack_app
    file_event = {"type": "message", "subtype": "file_share", "channel": ann.dm, "channel_type": "im",
                  "user": ann.user, "text": "", "ts": _ts(), "files": [{"id": "F1", "name": "report.pdf"}]}  # fmt: skip
    said = await after(ann, ann.event(file_event))
    assert [(c.args["channel"], c.args["text"]) for c in said] == [(ann.dm, TYPED_ONLY)]
    assert await event_rows(app) == 0


# -- 6. support buttons: long names cut with "…", never mid-word ----------------------------------------------


async def test_long_organisation_names_on_buttons_end_at_a_word(slack_app: tuple[App, SlackUser]) -> None:  # noqa: F811
    app, ann = slack_app
    long_name = "The Riverside and Hollybush Community Lunch Club for Older Neighbours and Carers"
    await after(ann, ann.say(f"join {await new_code(app, long_name)}"))
    await after(ann, ann.say(f"join {await new_code(app, 'Coastal Choir')}"))
    said = await after(ann, ann.say("organisations"))
    [label] = labels(said[-1])
    assert label == "The Riverside and Hollybush Community Lunch Club for Older…"
    assert len(label) <= 60 and long_name.startswith(label.removesuffix("…"))
    valid_blocks(said[-1])


# -- 5. what people type: shown as typed, addresses clickable, no zero-width spaces -----------------------------


async def test_a_typed_email_address_stays_clickable_and_copyable(slack_app: tuple[App, SlackUser]) -> None:  # noqa: F811
    app, ann = slack_app
    await after(ann, ann.say("start"))
    said = await after(ann, ann.say("first_last@example.org *Club* <!channel>"))
    block = said[-1].args["blocks"][0]
    parts = [p for section in block["elements"] for p in section["elements"]]
    assert {"type": "link", "url": "mailto:first_last@example.org", "text": "first_last@example.org"} in parts
    assert "first_last@example.org *Club* <!channel>" in shown(said[-1])
    assert not any(p.get("style") for p in parts) and "\u200b" not in json.dumps(said[-1].args, ensure_ascii=False)
    assert "<!channel>" not in said[-1].args["text"]
    valid_blocks(said[-1])


async def test_a_command_svbot_cannot_answer_privately_gets_a_sorry_only_its_sender_sees(
    slack_app: tuple[App, SlackUser],  # noqa: F811
) -> None:
    app, ann = slack_app
    ann.fake.fail("conversations.open", "missing_scope")  # an install without im:write
    said = await after(ann, ann.command("due", channel=CHANNEL))
    assert [(c.method, c.args["response_type"], c.args["text"]) for c in said] == [
        ("respond", "ephemeral", "Sorry, something went wrong on our side. Please try again in a minute.")
    ]
    assert await event_rows(app) == 0, "nothing was run"
