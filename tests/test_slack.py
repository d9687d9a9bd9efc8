"""The Slack channel end to end: svbot served for real by uvicorn on 127.0.0.1, Slack's side played by
properly signed HTTP requests (httpx) and a fake Web API (tests/fakes/slack_api.py) that records what
svbot sends. The core is the real Bot on a migrated SQLite file."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import itertools
import json
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import func, select
from sqlalchemy import text as sql

from svbot.app import App, build_app, close_bot, create_bot, open_app
from svbot.channels.slack.adapter import SEE_DM, SORRY_OLD_BUTTON, SlackChannel
from svbot.channels.slack.render import (
    SECTION_LIMIT,
    TICK,
    escape_mrkdwn,
    markdown_block,
    render,
    shown_text,
    split_text,
    text_block,
)
from svbot.channels.slack.sender import SlackSender
from svbot.config import Settings
from svbot.messages import Button, FileOut, Outbound, PermanentFailure, RetryLater
from svbot.models import Answer, InboundEvent
from svbot.web import mount_app
from tests.fakes.slack_api import BOT_USER_ID, TEAM_ID, Call, FakeSlack, check_blocks
from tests.scenario import typed_answer
from tests.serving import serve_app

TOKEN_KEY = "q2ZtRkW1o6v8bS0a3Zf1y0pVd7m5cTq9uJx4hN2eLgA="  # a Fernet key, for OAuth installs
SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
DATA = Path(__file__).parent / "data"
_ids = itertools.count(1)


# -- fixtures ---------------------------------------------------------------------------------------


@pytest.fixture
async def fake() -> AsyncIterator[FakeSlack]:
    async with FakeSlack() as server:
        yield server


@pytest.fixture
def settings(db_url: str, fake: FakeSlack) -> Settings:
    return Settings(
        DATABASE_URL=db_url,
        SVBOT_DIALOGUES_DIR=DATA / "dialogues",
        SLACK_BOT_TOKEN="xoxb-test-token",
        SLACK_SIGNING_SECRET=SECRET,
        SLACK_API_URL=fake.api_url.rstrip("/"),  # svbot must add the trailing "/" itself
    )


@pytest.fixture
async def app(settings: Settings) -> AsyncIterator[App]:
    """The shipped app, as `svbot serve` builds it, on test settings and the fake Slack."""
    async with open_app(settings, start_dialogue="every_type", migrate=False) as app:
        yield app


@pytest.fixture
def bot(app: App) -> Any:
    return app.bot


@pytest.fixture
async def slack(app: App, fake: FakeSlack) -> AsyncIterator[SlackUser]:
    async with serve_app(app.web_app()) as base_url, httpx.AsyncClient(base_url=base_url) as http:
        yield SlackUser(http, fake)


@asynccontextmanager
async def serve(mount: Any) -> AsyncIterator[str]:
    """Serve the mount's routes with uvicorn on a free 127.0.0.1 port, in this event loop."""
    async with serve_app(mount_app([mount])) as base_url:
        yield base_url


# -- Slack's side ----------------------------------------------------------------------------------


def signed(body: str, *, secret: str = SECRET, timestamp: int | None = None, content_type: str) -> dict:
    ts = str(int(time.time()) if timestamp is None else timestamp)
    digest = hmac.new(secret.encode(), f"v0:{ts}:{body}".encode(), hashlib.sha256).hexdigest()
    return {
        "X-Slack-Request-Timestamp": ts,
        "X-Slack-Signature": f"v0={digest}",
        "Content-Type": content_type,
    }


class SlackUser:
    """A person in Slack, as Slack would report what they do to svbot."""

    def __init__(self, http: httpx.AsyncClient, fake: FakeSlack, user: str = "U0000042", name: str = "sam") -> None:
        self.http, self.fake, self.user, self.name = http, fake, user, name
        self.dm = "D" + user.removeprefix("U")  # what the fake's conversations.open gives

    async def post(self, body: str, content_type: str, **sign: Any) -> httpx.Response:
        headers = signed(body, content_type=content_type, **sign)
        return await self.http.post("/slack/events", content=body, headers=headers)

    async def event(self, event: dict, event_id: str | None = None, retry: int | None = None) -> httpx.Response:
        body = json.dumps(
            {
                "token": "legacy",
                "team_id": TEAM_ID,
                "api_app_id": "A0000001",
                "type": "event_callback",
                "event_id": event_id or f"Ev{next(_ids):08d}",
                "event_time": int(time.time()),
                "event": event,
            }
        )
        headers = signed(body, content_type="application/json")
        if retry is not None:
            headers |= {"X-Slack-Retry-Num": str(retry), "X-Slack-Retry-Reason": "http_timeout"}
        return await self.http.post("/slack/events", content=body, headers=headers)

    async def say(self, text: str, event_id: str | None = None) -> httpx.Response:
        """Type in the direct message with svbot."""
        event = {
            "type": "message",
            "channel": self.dm,
            "channel_type": "im",
            "user": self.user,
            "text": text,
            "ts": _ts(),
        }
        response = await self.event(event, event_id)
        assert response.status_code == 200, response.text
        return response

    async def command(self, text: str, channel: str | None = None) -> httpx.Response:
        body = urlencode(
            {
                "token": "legacy",
                "team_id": TEAM_ID,
                "team_domain": "fake",
                "channel_id": channel or self.dm,
                "channel_name": "x",
                "user_id": self.user,
                "user_name": self.name,
                "command": "/svbot",
                "text": text,
                "api_app_id": "A0000001",
                "response_url": self.fake.response_url("cmd"),
                "trigger_id": f"{next(_ids)}.trigger",
            }
        )
        return await self.post(body, "application/x-www-form-urlencoded")

    async def press(self, message: Call, label: str, action_id: str | None = None) -> httpx.Response:
        """Press the button labelled `label` on a message svbot posted (Slack sends its block's id)."""
        button = _find_button(message.args["blocks"], label)
        block_id = _block_of(message.args["blocks"], button).get("block_id", "b")
        return await self.act(message, {**button, "action_id": action_id or button["action_id"], "block_id": block_id})

    async def pick_date(self, message: Call, day: str) -> httpx.Response:
        picker = next(e for b in message.args["blocks"] for e in b.get("elements", ()) if e["type"] == "datepicker")
        return await self.act(message, {"type": "datepicker", "action_id": picker["action_id"], "selected_date": day})

    async def act(self, message: Call, action: dict) -> httpx.Response:
        channel = message.args["channel"]
        posted = {
            "type": "message",
            "ts": message.ts,
            "text": message.args.get("text", ""),
            "blocks": message.args["blocks"],
            "user": BOT_USER_ID,
        }
        if message.args.get("thread_ts"):
            posted["thread_ts"] = message.args["thread_ts"]
        payload = {
            "type": "block_actions",
            "api_app_id": "A0000001",
            "token": "legacy",
            "user": {"id": self.user, "username": self.name, "team_id": TEAM_ID},
            "team": {"id": TEAM_ID, "domain": "fake"},
            "channel": {"id": channel, "name": "x"},
            "container": {
                "type": "message",
                "message_ts": message.ts,
                "channel_id": channel,
                "is_ephemeral": False,
            },
            "trigger_id": f"{next(_ids)}.trigger",
            "message": posted,
            "response_url": self.fake.response_url("act"),
            "actions": [{"block_id": "b", **action, "action_ts": _ts()}],
        }
        response = await self.post(urlencode({"payload": json.dumps(payload)}), "application/x-www-form-urlencoded")
        assert response.status_code == 200, response.text
        return response

    async def reply(self, count: int, timeout: float = 5.0) -> Call:
        """The `count`-th message svbot has posted (1-based)."""
        return await self.fake.wait_for("chat.postMessage", timeout=timeout, count=count)


def _ts() -> str:
    return f"{time.time():.6f}"


def _find_button(blocks: list[dict], label: str) -> dict:
    for block in blocks:
        for element in [*block.get("elements", ()), block.get("accessory") or {}]:
            if element.get("type") == "button" and element["text"]["text"].removeprefix(TICK) == label:
                return element
    raise AssertionError(f"no button {label!r} in {json.dumps(blocks)[:500]}")


def _block_of(blocks: list[dict], element: dict) -> dict:
    return next(b for b in blocks if element in b.get("elements", ()) or b.get("accessory") == element)


def shown(call: Call) -> str:
    """What a person sees in a posted message: the text of its text blocks (bold as *bold*)."""
    parts = [shown_text(b) for b in call.args.get("blocks") or () if b.get("type") in ("section", "rich_text")]
    return "\n".join(parts) or str(call.args.get("text", ""))


def labels(call: Call) -> list[str]:
    return [
        e["text"]["text"]
        for b in call.args.get("blocks") or ()
        for e in b.get("elements", ())
        if e.get("type") == "button"
    ]


async def count_rows(bot: Any, model: type) -> int:
    async with bot.sessionmaker() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


# -- a whole walk-through ------------------------------------------------------------------------------


async def test_walk_through_by_buttons_and_typed_answers(slack: SlackUser, fake: FakeSlack, bot: Any) -> None:
    await slack.say("hi")
    ask = await slack.reply(1)
    assert "What is your group called?" in shown(ask)
    assert "Help" in labels(ask)

    answers = ["Bob's *Club* <!channel>", "skip", "40", "12.5", "skip"]
    for number, text in enumerate(answers, start=2):
        await slack.say(text)
        await slack.reply(number)

    due = fake.ok_calls("chat.postMessage")[-1]
    assert "When is your report due?" in shown(due)
    await slack.pick_date(due, "2027-03-31")
    size = await slack.reply(7)
    assert "How big is Bob's *Club* <!channel>?" in shown(size)  # their words, shown literally
    update = await fake.wait_for("chat.update")
    assert update.args["ts"] == due.ts and not labels(update)  # the date question cannot be answered twice
    assert "2027-03-31" in json.dumps(update.args["blocks"])

    await slack.press(size, "Under £10,000 a year")
    groups = await slack.reply(8)
    assert labels(groups)[:3] == ["Older people", "Young people", "Carers"]
    chosen = await fake.wait_for("chat.update", count=2)
    assert "Under £10,000 a year" in json.dumps(chosen.args["blocks"], ensure_ascii=False)

    # Multi-choice: each press edits the same message, ticking the choice; Done moves on.
    await slack.press(groups, "Older people")
    ticked = await fake.wait_for("chat.update", count=3)
    assert ticked.args["ts"] == groups.ts
    assert TICK + "Older people" in labels(ticked)
    ticked_message = Call(
        "chat.postMessage",
        {**ticked.args, "channel": groups.args["channel"]},
        None,
        0,
        response={"ts": groups.ts},
    )
    await slack.press(ticked_message, "Carers")
    ticked = await fake.wait_for("chat.update", count=4)
    assert {TICK + "Older people", TICK + "Carers", "Young people"} <= set(labels(ticked))
    assert len(fake.ok_calls("chat.postMessage")) == 8  # toggling posted nothing new
    ticked_message = Call(
        "chat.postMessage",
        {**ticked.args, "channel": groups.args["channel"]},
        None,
        0,
        response={"ts": groups.ts},
    )
    await slack.press(ticked_message, "Done")
    assert "How many older people took part?" in shown(await slack.reply(9))

    await slack.say("7")
    assert "How many carers took part?" in shown(await slack.reply(10))
    await slack.say("3")
    funded = await slack.reply(11)
    await slack.press(funded, "Yes")
    assert "Who funds you?" in shown(await slack.reply(12))
    await slack.say("The Lottery & <Friends>")
    await slack.say("skip")
    review = await slack.reply(14)
    assert "Here's what you told me" in shown(review)
    assert "The Lottery & <Friends>" in shown(review)
    await slack.say("ok")
    done = await slack.reply(15)
    assert "Thanks, Bob's *Club* <!channel>!" in shown(done)

    async with bot.sessionmaker() as session:
        stored = dict((await session.execute(select(Answer.key, Answer.value))).all())
    assert stored["name"] == "Bob's *Club* <!channel>"
    assert stored["funder"] == "The Lottery & <Friends>"
    assert stored["due"] == "2027-03-31"
    assert sorted(stored["groups"]) == ["carers", "older"]
    for call in fake.ok_calls("chat.postMessage"):
        assert call.token == "xoxb-test-token" and call.args["channel"] == slack.dm
        # Never a real @channel: not in the notification text, and in the blocks only as literal text.
        assert "<!channel>" not in call.args["text"] and '"broadcast"' not in json.dumps(call.args["blocks"])
        assert all(b["type"] in ("rich_text", "actions", "section") for b in call.args["blocks"])


async def test_markup_in_answers_is_shown_literally(slack: SlackUser, fake: FakeSlack) -> None:
    await slack.say("hi")
    await slack.reply(1)
    await slack.say("*bold* _it_ ~gone~ `code` <https://e.vil|go> & > q")  # within the 50-character limit
    ask = await slack.reply(2)
    block = ask.args["blocks"][0]
    assert block["type"] == "rich_text", "what people typed is never sent as mrkdwn"
    parts = block["elements"][0]["elements"]
    assert all(p["type"] in ("text", "link") and not p.get("style") for p in parts), "no bold, no mention"
    assert [p["text"] for p in parts if p["type"] == "link"] == ["https://e.vil"], "a typed link shows its address"
    assert shown(ask) == "What does *bold* _it_ ~gone~ `code` <https://e.vil|go> & > q do?"
    assert "<https://" not in ask.args["text"], "nor does the notification text hide a link"


# -- ways in ---------------------------------------------------------------------------------------------


async def test_slash_commands_in_a_dm_and_from_a_channel(slack: SlackUser, fake: FakeSlack) -> None:
    response = await slack.command("help")
    assert response.status_code == 200 and response.text == ""  # acknowledged at once, work after
    help_text = shown(await slack.reply(1))
    assert "statement" in help_text and "due" in help_text

    await slack.command("start")
    await slack.reply(2)
    assert "What is your group called?" in shown(fake.ok_calls("chat.postMessage")[-1])

    await slack.command("status", channel="C0000777")  # from a shared channel: answered privately
    opened = await fake.wait_for("conversations.open")
    assert opened.args["users"] == slack.user
    note = await fake.wait_for("respond")
    assert note.args["text"] == SEE_DM and note.args["response_type"] == "ephemeral"
    status = await slack.reply(3)
    assert status.args["channel"] == "D0000042"  # the DM conversations.open gave, not the channel
    assert "question 1 of" in shown(status)

    await slack.command("")  # a bare /svbot is help: here, help with the question they are on
    assert "your own words" in shown(await slack.reply(4))


async def test_app_mention_is_answered_in_a_thread(slack: SlackUser, fake: FakeSlack) -> None:
    ts = _ts()
    event = {
        "type": "app_mention",
        "channel": "C0000777",
        "user": slack.user,
        "ts": ts,
        "text": f"<@{BOT_USER_ID}> hello",
    }
    assert (await slack.event(event)).status_code == 200
    question = await slack.reply(1)
    assert question.args["channel"] == "C0000777" and question.args["thread_ts"] == ts
    assert "What is your group called?" in shown(question)

    # Answering in the thread continues the same conversation, still in the thread.
    reply = {
        "type": "app_mention",
        "channel": "C0000777",
        "user": slack.user,
        "ts": _ts(),
        "thread_ts": ts,
        "text": f"<@{BOT_USER_ID}> Riverside Lunch Club",
    }
    await slack.event(reply)
    follow = await slack.reply(2)
    assert follow.args["thread_ts"] == ts and "What does Riverside Lunch Club do?" in shown(follow)


async def test_own_and_other_bots_messages_are_ignored(slack: SlackUser, fake: FakeSlack, bot: Any) -> None:
    base = {"type": "message", "channel": slack.dm, "channel_type": "im", "text": "hi", "ts": _ts()}
    await slack.event({**base, "user": BOT_USER_ID, "bot_id": "BBOT0001"})
    await slack.event({**base, "user": "U0000999", "bot_id": "BOTHER01", "subtype": "bot_message"})
    await slack.event({**base, "user": "U0000999", "bot_id": "BOTHER01"})
    await slack.event({**base, "user": slack.user, "subtype": "message_changed"})
    await slack.event({**base, "channel": "C0000777", "channel_type": "channel", "user": slack.user})
    await slack.say("hi")  # and a person is answered
    await slack.reply(1)
    await fake.wait_quiet(0.3)
    assert len(fake.ok_calls("chat.postMessage")) == 1
    assert await count_rows(bot, InboundEvent) == 1


# -- security and delivery ------------------------------------------------------------------------------


async def test_forged_missing_and_stale_signatures_get_401(slack: SlackUser, fake: FakeSlack, bot: Any) -> None:
    body = json.dumps(
        {
            "type": "event_callback",
            "team_id": TEAM_ID,
            "event_id": "EvFORGED",
            "event": {
                "type": "message",
                "channel_type": "im",
                "channel": "D1",
                "user": "U1",
                "text": "hi",
                "ts": _ts(),
            },
        }
    )
    forged = await slack.post(body, "application/json", secret="not-the-secret")
    stale = await slack.post(body, "application/json", timestamp=int(time.time()) - 6 * 60)
    missing = await slack.http.post("/slack/events", content=body, headers={"Content-Type": "application/json"})
    tampered_headers = signed(body, content_type="application/json")
    tampered = await slack.http.post("/slack/events", content=body.replace("hi", "bye"), headers=tampered_headers)
    challenge = json.dumps({"type": "url_verification", "challenge": "abc123", "token": "legacy"})
    unsigned_challenge = await slack.http.post(
        "/slack/events", content=challenge, headers={"Content-Type": "application/json"}
    )
    assert [r.status_code for r in (forged, stale, missing, tampered, unsigned_challenge)] == [401] * 5

    await fake.wait_quiet(0.3)
    assert fake.calls == []  # not even auth.test: nothing happened
    assert await count_rows(bot, InboundEvent) == 0

    ok = await slack.post(challenge, "application/json")
    assert ok.status_code == 200 and ok.json()["challenge"] == "abc123"


async def test_a_retried_event_is_handled_once(slack: SlackUser, fake: FakeSlack, bot: Any) -> None:
    event = {
        "type": "message",
        "channel": slack.dm,
        "channel_type": "im",
        "user": slack.user,
        "text": "hi",
        "ts": _ts(),
    }
    first, again, later = await asyncio.gather(
        slack.event(event, "EvSAME0001"),
        slack.event(event, "EvSAME0001", retry=1),
        slack.event(event, "EvSAME0001", retry=2),
    )
    assert [r.status_code for r in (first, again, later)] == [200, 200, 200]
    await slack.reply(1)
    await fake.wait_quiet(0.3)
    assert len(fake.ok_calls("chat.postMessage")) == 1  # hello and the first question, once
    assert await count_rows(bot, InboundEvent) == 1


async def test_rate_limited_reply_waits_for_retry_after_then_arrives(slack: SlackUser, fake: FakeSlack) -> None:
    fake.rate_limit("chat.postMessage", retry_after=1)
    await slack.say("hi")
    hello = await slack.reply(1, timeout=10)
    refused = fake.calls_to("chat.postMessage")[0]
    assert refused.status == 429
    assert hello.at - refused.at >= 0.9  # it waited as long as Slack asked
    assert "Hello" in shown(hello) and "What is your group called?" in shown(hello)  # nothing dropped


async def test_unknown_button_and_expired_conversation_are_answered_politely(slack: SlackUser, fake: FakeSlack) -> None:
    await slack.say("hi")
    ask = await slack.reply(1)
    # A button of a question long gone (an old message) and a button that is not ours at all.
    stale = Call(
        "chat.postMessage",
        {
            "channel": slack.dm,
            "text": "Old question",
            "blocks": [
                {"type": "section", "text": {"type": "mrkdwn", "text": "Old question"}},
                {
                    "type": "actions",
                    "elements": [
                        {
                            "type": "button",
                            "action_id": "svbot:0",
                            "value": "99:choose:1",
                            "text": {"type": "plain_text", "text": "Old choice"},
                        },
                        {
                            "type": "button",
                            "action_id": "other:app",
                            "value": "zzz",
                            "text": {"type": "plain_text", "text": "Foreign"},
                        },
                        {
                            "type": "button",
                            "action_id": "svbot:2",
                            "value": "nonsense:42",
                            "text": {"type": "plain_text", "text": "Forged"},
                        },
                    ],
                },
            ],
        },
        None,
        0,
        response={"ts": "1600000000.000100"},
    )
    await slack.press(stale, "Old choice")
    answer = await slack.reply(2)
    assert "Traceback" not in shown(answer) and shown(answer).strip()
    await slack.press(stale, "Foreign")
    sorry = await fake.wait_for("chat.postEphemeral")
    assert sorry.args["text"] == SORRY_OLD_BUTTON and sorry.args["user"] == slack.user
    await slack.press(stale, "Forged")
    forged = await slack.reply(3)
    assert "don't recognise that button" in shown(forged)

    # The conversation was not disturbed: the question they were on still takes an answer.
    assert "What is your group called?" in shown(ask)
    await slack.say("Riverside")
    await fake.wait_for("chat.postMessage", where=lambda c: "What does Riverside do?" in shown(c))


async def test_a_button_pressed_twice_counts_once(slack: SlackUser, fake: FakeSlack, bot: Any) -> None:
    for text in ("hi", "Club", "skip", "1", "2", "skip", "2027-01-01"):
        await slack.say(text)
    size = await slack.reply(7)
    assert "How big" in shown(size)
    await slack.press(size, "Over £100,000")
    await slack.reply(8)
    await slack.press(size, "Under £10,000 a year")  # the old message, pressed again
    await slack.reply(9)
    async with bot.sessionmaker() as session:
        assert await session.scalar(select(Answer.value).where(Answer.key == "size")) == "medium"


# -- sending: reminders and broadcasts -------------------------------------------------------------


async def test_sender_posts_long_text_split_and_uploads_files(fake: FakeSlack, settings: Settings) -> None:
    sender = SlackSender(settings)
    words = " ".join(f"word{i}" for i in range(1500))  # about 11,000 characters
    ts = await sender.send(
        "D0000042",
        Outbound(
            text=words,
            file=FileOut("statement.docx", b"PK\x03\x04docx", "application/octet-stream", "Draft statement"),
        ),
    )
    posted = fake.ok_calls("chat.postMessage")
    assert ts == posted[-1].ts
    sections = [shown_text(b) for c in posted for b in c.args["blocks"]]
    assert all(len(s) <= SECTION_LIMIT for s in sections) and len(sections) >= 4
    assert " ".join(sections).split() == words.split()  # every word, in order, none cut in half
    upload = await fake.wait_for("upload")
    assert upload.body == b"PK\x03\x04docx"
    complete = await fake.wait_for("files.completeUploadExternal")
    assert complete.args["channel_id"] == "D0000042"


async def test_sender_waits_out_429s_then_gives_retry_later(fake: FakeSlack, settings: Settings) -> None:
    sender = SlackSender(settings)
    fake.rate_limit("chat.postMessage", retry_after=0, times=1)
    assert await sender.send("C1", Outbound(text="Your report is due on Friday.")) is not None
    assert [c.status for c in fake.calls_to("chat.postMessage")] == [429, 200]

    fake.rate_limit("chat.postMessage", retry_after=0, times=10)
    with pytest.raises(RetryLater) as caught:
        await sender.send("C1", Outbound(text="again"))
    assert caught.value.retry_after >= 1.0
    assert len(fake.calls_to("chat.postMessage")) == 2 + 4  # first try and three retries


@pytest.mark.parametrize(
    "error", ["channel_not_found", "is_archived", "account_inactive", "not_in_channel", "user_not_found"]
)
async def test_sender_maps_permanent_errors(fake: FakeSlack, settings: Settings, error: str) -> None:
    fake.fail("chat.postMessage", error)
    with pytest.raises(PermanentFailure) as caught:
        await SlackSender(settings).send("C1", Outbound(text="hello"))
    assert str(caught.value) == error and "xoxb" not in str(caught.value)


async def test_sender_passing_fault_is_retry_later(fake: FakeSlack, settings: Settings) -> None:
    fake.fail("chat.postMessage", "internal_error")
    with pytest.raises(RetryLater):
        await SlackSender(settings).send("C1", Outbound(text="hello"))


# -- rendering ------------------------------------------------------------------------------------------


@given(st.text(max_size=300))
def test_typed_text_reads_back_exactly_and_opens_no_markup(text: str) -> None:
    block = text_block(text)
    parts = block["elements"][0]["elements"]
    assert "".join(p["text"] for p in parts) == (text or " ")  # exactly as typed: nothing added or lost
    for part in parts:
        assert part["type"] in ("text", "link") and "style" not in part
        if part["type"] == "link":  # an address, linked to itself: never a disguised link
            assert part["url"] in (part["text"], "mailto:" + part["text"])
    fallback = escape_mrkdwn(text)
    assert "<" not in fallback and ">" not in fallback  # the notification text mentions no one


@given(st.text(alphabet=st.sampled_from(list("ab &<>*_\n")), max_size=2000), st.integers(20, 300))
def test_split_never_exceeds_the_limit_or_cuts_an_entity(text: str, limit: int) -> None:
    escaped = escape_mrkdwn(text)
    pieces = split_text(escaped, limit)
    assert all(1 <= len(p) <= limit for p in pieces)
    assert "".join("".join(pieces).split()) == "".join(escaped.split())
    for piece in pieces:
        assert piece.replace("&amp;", "").replace("&lt;", "").replace("&gt;", "").count("&") == 0  # no half entities


def test_split_prefers_paragraphs_then_words() -> None:
    text = "first paragraph here\n\nsecond one " + "x" * 10
    assert split_text(text, 25) == ["first paragraph here", "second one xxxxxxxxxx"]
    assert split_text("alpha beta gamma", 11) == ["alpha beta", "gamma"]


def test_render_buttons_multi_select_and_date() -> None:
    message = Outbound(
        text="Who benefits?",
        buttons=(Button("Older people", "8:toggle:0", selected=True), Button("Carers", "8:toggle:1")),
        multi_select=True,
        controls=(Button("Done", "8:done"), Button("Back", "8:back")),
        input_hint="date",
    )
    [slack_message] = render(message)
    assert check_blocks({"text": slack_message.text, "blocks": slack_message.blocks}) is None
    choices, controls = [b for b in slack_message.blocks if b["type"] == "actions"]
    assert [e["text"]["text"] for e in choices["elements"]] == [TICK + "Older people", "Carers"]
    assert [e["value"] for e in choices["elements"]] == ["8:toggle:0", "8:toggle:1"]
    assert choices["elements"][0]["style"] == "primary" and "style" not in choices["elements"][1]
    assert [e["type"] for e in controls["elements"]] == ["datepicker", "button", "button"]
    assert [e.get("value") for e in controls["elements"][1:]] == ["8:done", "8:back"]


def test_render_long_labels_and_many_sections() -> None:
    long_label = "Improving health and wellbeing of older residents through weekly shared meals " * 2
    [one] = render(Outbound(text="Pick one", buttons=(Button(long_label, "1:choose:0"), Button("Short", "1:choose:1"))))
    assert check_blocks({"text": one.text, "blocks": one.blocks}) is None
    assert one.blocks[1]["text"] == {"type": "plain_text", "text": long_label, "emoji": False}  # in full, plainly
    parts = render(Outbound(text=("lorem ipsum " * 300 + "\n\n") * 15))
    assert len(parts) >= 2 and all(check_blocks({"text": p.text, "blocks": p.blocks}) is None for p in parts)


def test_markdown_statements_become_rich_text_with_quoted_words_literal() -> None:
    block = markdown_block("# Our value\n**Lunch club** helps \\*everyone\\* & more\n- [Site](https://a.org/x)")
    parts = block["elements"][0]["elements"]
    assert parts[0] == {"type": "text", "text": "Our value", "style": {"bold": True}}
    assert {"type": "text", "text": "Lunch club", "style": {"bold": True}} in parts
    assert {"type": "text", "text": " helps *everyone* & more"} in parts  # their asterisks, literally
    assert {"type": "link", "url": "https://a.org/x", "text": "Site"} in parts
    assert shown_text(block) == "*Our value*\n*Lunch club* helps *everyone* & more\n• Site"


# -- the default walk-through, driven by whatever it asks ----------------------------------------------

CONTROL_LABELS = {"Back", "Help", "Done", "Skip / I don't know"}


@pytest.fixture
async def default_slack(db_url: str, fake: FakeSlack) -> AsyncIterator[tuple[SlackUser, SlackChannel]]:
    settings = Settings(
        DATABASE_URL=db_url,
        SLACK_BOT_TOKEN="xoxb-test-token",
        SLACK_SIGNING_SECRET=SECRET,
        SLACK_API_URL=fake.api_url,
    )
    bot = await create_bot(settings, migrate=False)
    try:
        channel = SlackChannel(bot, settings)
        async with serve(channel.mount()) as base_url, httpx.AsyncClient(base_url=base_url) as http:
            yield SlackUser(http, fake), channel
    finally:
        await close_bot(bot)


async def settled(channel: SlackChannel, action: Any) -> None:
    """Do something (one turn), then wait until svbot has answered it."""
    before = channel.turns_finished
    await action
    async with asyncio.timeout(10):
        while channel.turns_finished == before:
            await asyncio.sleep(0.005)


async def test_default_social_value_walk_through(default_slack: tuple[SlackUser, Any], fake: FakeSlack) -> None:
    slack, channel = default_slack
    await settled(channel, slack.say("start"))
    transcript: list[str] = []
    for _ in range(120):
        if fake.ok_calls("files.completeUploadExternal"):
            break
        current = fake.ok_calls("chat.postMessage")[-1]
        current = Call(current.method, current.args, None, 0, response=current.response)
        text = shown(current)
        transcript.append(text)
        buttons = [label.removeprefix(TICK) for label in labels(current)]
        choices = [b for b in buttons if b not in CONTROL_LABELS]
        if choices and "Done" in buttons:
            await settled(channel, slack.press(current, choices[0]))
            updated = fake.ok_calls("chat.update")[-1]
            assert TICK + choices[0] in labels(updated)
            ticked = Call("chat.postMessage", {**updated.args}, None, 0, response={"ts": current.ts})
            await settled(channel, slack.press(ticked, "Done"))
        elif choices:
            await settled(channel, slack.press(current, choices[0]))
        elif len(transcript) > 1 and transcript[-2] == text:
            await settled(channel, slack.press(current, "Skip / I don't know"))  # as a person would
        else:
            await settled(channel, slack.say(typed_answer(text)))
    else:
        raise AssertionError("the walk-through did not finish:\n" + "\n---\n".join(transcript[-6:]))

    upload = await fake.wait_for("upload")
    assert upload.body[:2] == b"PK"  # a .docx is a zip
    statement = [shown(c) for c in fake.ok_calls("chat.postMessage")[-6:]]
    assert any("weekly lunch club where older neighbours eat together & chat" in s for s in statement)
    for call in fake.ok_calls("chat.postMessage"):
        assert check_blocks(call.args) is None


# -- many workspaces: Bolt's OAuth flow and slack_sdk's installation store ----------------------------


async def test_oauth_install_then_events_and_reminders_use_the_installed_token(db_url: str, fake: FakeSlack) -> None:
    settings = Settings(
        DATABASE_URL=db_url,
        SVBOT_DIALOGUES_DIR=DATA / "dialogues",
        SLACK_SIGNING_SECRET=SECRET,
        SLACK_API_URL=fake.api_url,
        SLACK_CLIENT_ID="1111.2222",
        SLACK_CLIENT_SECRET="client-secret",
        SVBOT_ENCRYPTION_KEY=TOKEN_KEY,
    )
    app = await build_app(settings, start_dialogue="every_type", migrate=False)
    bot = app.bot
    assert app.channel("slack") is not None, "a many-workspace install is a Slack install"
    try:
        async with serve_app(app.web_app()) as base_url, httpx.AsyncClient(base_url=base_url) as http:
            install = await http.get("/slack/install")
            assert install.status_code == 200 and "slack.com/oauth/v2/authorize" in install.text
            state = install.cookies.get("slack-app-oauth-state") or ""
            assert state and f"state={state}" in install.text
            # Bolt marks the state cookie Secure; a browser would send it back over https.
            done = await http.get(
                "/slack/oauth_redirect",
                params={"code": "temporary-code", "state": state},
                headers={"Cookie": f"slack-app-oauth-state={state}"},
            )
            assert done.status_code == 200, done.text
            exchange = await fake.wait_for("oauth.v2.access")
            assert exchange.args["code"] == "temporary-code"

            async with bot.sessionmaker() as session:
                rows = (await session.execute(sql("SELECT team_id, bot_token FROM slack_bots"))).all()
                raw = [
                    tuple(row)
                    for table in ("slack_bots", "slack_installations")
                    for row in (await session.execute(sql(f"SELECT * FROM {table}"))).all()
                ]
            assert [r[0] for r in rows] == [TEAM_ID]
            assert rows[0][1].startswith("gAAAAA"), "the bot token is encrypted at rest (SVBOT_ENCRYPTION_KEY)"
            assert len(raw) == 2 and "xox" not in repr(raw), "no token in plain text anywhere in the tables"

            person = SlackUser(http, fake)
            await person.say("hi")
            hello = await person.reply(1)
            assert hello.token == "xoxb-installed-token"
            replay = await http.get("/slack/oauth_redirect", params={"code": "again", "state": state})
            assert replay.status_code >= 400  # a state is good for one installation only

        # Reminders, broadcasts and digests all take the app's one sender.
        sender = app.senders()["slack"]
        try:
            await sender.send(f"{TEAM_ID}:D0000042", Outbound(text="Your report is due on Friday."))
            assert fake.ok_calls("chat.postMessage")[-1].token == "xoxb-installed-token"
            with pytest.raises(PermanentFailure):
                await sender.send("TNOTHERE:D1", Outbound(text="hello"))
        finally:
            await sender.close()
    finally:
        await app.close()


async def test_served_by_the_web_process(app: App, fake: FakeSlack) -> None:
    async with serve_app(app.web_app()) as base_url, httpx.AsyncClient(base_url=base_url) as http:
        health = await http.get("/healthz")
        assert "slack" in health.json()["channels"]
        person = SlackUser(http, fake)
        await person.say("hi")
        assert "What is your group called?" in shown(await person.reply(1))
        forged = await person.post("{}", "application/json", secret="wrong")
        assert forged.status_code == 401
