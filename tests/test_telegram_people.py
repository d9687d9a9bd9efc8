"""Telegram as people really use it (issue 17): deep links, commands, groups, buttons after a restart, phones.

Every test drives the app `svbot serve` builds (`open_app` -> `app.web_app()`, served by uvicorn) with
real PTB over real HTTP against the fake Bot API (tests/fakes/telegram_api.py), on a real database.
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from svbot.app import App, open_app
from svbot.channels.telegram.render import TICK
from svbot.channels.telegram.setup import SECRET_HEADER
from svbot.config import Settings
from svbot.models import ButtonPayload, Conversation, Membership, Organisation
from svbot.support.invites import create_invite
from tests.fakes.telegram_api import BOT_USERNAME, FakeTelegram, SentMessage
from tests.serving import serve_app
from tests.test_telegram import SECRET, make_settings

ANN, BOB, CARL = 8001, 8002, 8003
GROUP = -100500
IN_GROUP: dict[str, Any] = {"chat_id": GROUP, "chat_type": "supergroup"}
BAD_CODE = "Sorry, that code doesn't work"
CANT_INITIATE = "Forbidden: bot can't initiate conversation with a user"
FIRST = "What is your group called?"  # tests/test_telegram.py's walk-through


class Served:
    """The served app on the fake Telegram: each update is POSTed to the webhook, which answers once PTB
    has handled it, so the fake holds every reply when a call returns."""

    def __init__(self, app: App, fake: FakeTelegram, http: httpx.AsyncClient) -> None:
        self.app, self.fake, self.http = app, fake, http

    async def send(self, update: dict) -> None:
        response = await self.http.post("/telegram/webhook", json=update)
        assert response.status_code == 200, response.text

    async def say(self, user: int, said: str, *, first_name: str = "Ann", **chat: Any) -> dict:
        update = self.fake.text_update(user_id=user, text=said, first_name=first_name, **chat)
        await self.send(update)
        return update["message"]

    async def press(self, user: int, message: SentMessage, label: str) -> None:
        await self.send(self.fake.press(user_id=user, message=message, label_part=label))

    def count(self, chat: int) -> int:
        return len(self.fake.chat(chat))

    def since(self, chat: int, before: int) -> str:
        return "\n".join(m.text for m in self.fake.chat(chat)[before:])

    async def answers(self, chat: int, user: int) -> dict:
        async with self.app.bot.sessionmaker() as session:
            state = await session.scalar(
                select(Conversation.state).where(Conversation.key == f"telegram:{chat}:{user}")
            )
        return dict((state or {}).get("answers", {}))

    async def new_code(self, name: str) -> str:
        async with self.app.bot.sessionmaker() as session, session.begin():
            organisation = Organisation(name=name, kind="member")
            session.add(organisation)
            await session.flush()
            return (await create_invite(session, organisation.id, datetime.now(UTC), role="member")).code


@contextlib.asynccontextmanager
async def serving(settings: Settings, fake: FakeTelegram) -> AsyncIterator[Served]:
    async with open_app(settings, migrate=False) as app, serve_app(app.web_app()) as base_url:
        async with httpx.AsyncClient(base_url=base_url, headers={SECRET_HEADER: SECRET}) as http:
            yield Served(app, fake, http)


@pytest.fixture
async def fake() -> AsyncIterator[FakeTelegram]:
    server = await FakeTelegram().start()
    yield server
    await server.stop()


@pytest.fixture
def settings(tmp_path: Path, db_url: str, fake: FakeTelegram) -> Settings:
    return make_settings(tmp_path, db_url, fake)


@pytest.fixture
async def served(settings: Settings, fake: FakeTelegram) -> AsyncIterator[Served]:
    async with serving(settings, fake) as it:
        yield it


async def memberships(served: Served) -> int:
    async with served.app.bot.sessionmaker() as session:
        return await session.scalar(select(func.count()).select_from(Membership)) or 0


# --- 1. deep links join ----------------------------------------------------------------------------------


async def test_a_deep_link_joins_from_any_state_and_a_bad_code_is_never_an_answer(served: Served) -> None:
    # A fresh chat opened from t.me/<bot>?start=CODE: Telegram sends "/start CODE".
    code = await served.new_code("Hollybush Lunch Club")
    await served.say(ANN, f"/start {code}")
    assert "Hollybush Lunch Club" in served.fake.last_message(ANN).text
    assert await memberships(served) == 1

    # Mid walk-through: the code joins, the question is asked again, nothing is stored as an answer.
    await served.say(BOB, "/start")
    assert served.fake.last_message(BOB).text.endswith(FIRST)
    before = served.count(BOB)
    await served.say(BOB, "/start ZZZZ-ZZZZZZ")
    assert served.since(BOB, before).startswith(BAD_CODE)
    await served.say(BOB, f"/start {await served.new_code('Allotment Friends')}")
    said = served.since(BOB, before)
    assert "Allotment Friends" in said and said.endswith(FIRST), said
    assert await served.answers(BOB, BOB) == {}, "neither code was taken as the group's name"
    assert await memberships(served) == 2

    # Plain /start still starts (or resumes) the walk-through.
    await served.say(BOB, "/start")
    assert served.fake.last_message(BOB).text.endswith(FIRST)
    await served.say(BOB, "Leeds Lunch Club")
    assert await served.answers(BOB, BOB) == {"name": "Leeds Lunch Club"}


async def test_svbot_invite_prints_the_one_tap_link(tmp_path: Path, settings: Settings, served: Served) -> None:
    from tests.test_telegram import cli_env, run_cli

    async with served.app.bot.sessionmaker() as session, session.begin():
        organisation = Organisation(name="Hollybush Lunch Club", kind="member")
        session.add(organisation)
        await session.flush()
        org_id = organisation.id
    env = cli_env(settings)
    process = await run_cli("invite", "--org", str(org_id), env=env, cwd=tmp_path)
    stdout, stderr = await process.communicate()
    assert process.returncode == 0, stderr.decode()
    code, link = stdout.decode().split()
    assert link == f"https://t.me/{BOT_USERNAME}?start={code}", "the username from getMe"
    assert served.fake.calls_to("getMe")

    env["TELEGRAM_BOT_USERNAME"] = "@lunch_club_bot"  # set: no need to ask Telegram
    process = await run_cli("invite", "--org", str(org_id), env=env, cwd=tmp_path)
    stdout, stderr = await process.communicate()
    code, link = stdout.decode().split()
    assert link == f"https://t.me/lunch_club_bot?start={code}"

    # The link's code, as Telegram delivers it, joins.
    await served.say(CARL, f"/start {code}")
    assert "Hollybush Lunch Club" in served.fake.last_message(CARL).text


# --- 2. commands are commands ----------------------------------------------------------------------------


async def test_commands_that_are_not_ours_are_never_answers(served: Served) -> None:
    help_text = served.app.bot.home_help()
    await served.say(ANN, "/start")
    for command in ("/settings", "/language", "/frobnicate now"):
        before = served.count(ANN)
        await served.say(ANN, command)
        assert served.since(ANN, before) == help_text, command
    before = served.count(ANN)
    await served.say(ANN, "/start@some_other_bot")
    assert served.count(ANN) == before, "another bot's command: not ours to answer"
    assert await served.answers(ANN, ANN) == {}
    await served.say(ANN, "Leeds Lunch Club")
    assert await served.answers(ANN, ANN) == {"name": "Leeds Lunch Club"}, "the question was still waiting"

    # In a group: to us by name, the list; to another bot, or to nobody in particular, silence.
    await served.say(ANN, f"/settings@{BOT_USERNAME}", **IN_GROUP)
    assert served.fake.last_message(GROUP).text == help_text
    before = served.count(GROUP)
    await served.say(ANN, "/start@some_other_bot", **IN_GROUP)
    await served.say(ANN, "/weather", **IN_GROUP)
    assert served.count(GROUP) == before
    # /privacy is one of ours (the privacy notice), never an answer either.
    before = served.count(ANN)
    await served.say(ANN, "/privacy")
    assert served.since(ANN, before).startswith("How I use your information")
    assert await served.answers(ANN, ANN) == {"name": "Leeds Lunch Club"}


# --- 3. groups -------------------------------------------------------------------------------------------


async def test_someone_elses_button_in_a_group_changes_nothing(served: Served) -> None:
    fake = served.fake
    asked = await served.say(ANN, f"/start@{BOT_USERNAME}", **IN_GROUP)
    question = fake.last_message(GROUP)
    assert fake.calls_to("sendMessage")[-1].json("reply_parameters")["message_id"] == asked["message_id"]
    await served.say(ANN, "Leeds Lunch Club", reply_to=question, **IN_GROUP)
    objectives = fake.last_message(GROUP)
    assert objectives.text.startswith("For Ann:\nWhich of these objectives"), "the question names its person"
    assert f'<a href="tg://user?id={ANN}">Ann</a>' in objectives.html

    sends, edits = len(fake.calls_to("sendMessage")), len(fake.calls_to("editMessageText"))
    state = await served.answers(GROUP, ANN)
    await served.press(BOB, objectives, "Better health")
    answered = fake.calls_to("answerCallbackQuery")[-1]
    assert answered.fields["text"] == "This is Ann's question."
    assert (len(fake.calls_to("sendMessage")), len(fake.calls_to("editMessageText"))) == (sends, edits)
    assert await served.answers(GROUP, ANN) == state and await served.answers(GROUP, BOB) == {}

    await served.press(ANN, objectives, "Better health")  # Ann's own press works
    assert fake.messages[(GROUP, objectives.message_id)].buttons()[0]["text"] == TICK + "Better health"
    assert "text" not in fake.calls_to("answerCallbackQuery")[-1].fields


async def test_private_things_asked_in_a_group_go_to_the_private_chat(served: Served) -> None:
    fake = served.fake
    asked = await served.say(ANN, "/due", **IN_GROUP)
    note = fake.last_message(GROUP)
    assert note.text == "Ann, I've answered you in a private message, as it's about your organisation."
    assert fake.calls_to("sendMessage")[-1].json("reply_parameters")["message_id"] == asked["message_id"]
    assert fake.chat(ANN), "the answer itself is in Ann's private chat"
    assert len(fake.chat(GROUP)) == 1, "and nothing about her organisation in the group"

    # Carl has never opened a private chat with the bot: Telegram refuses, the group gets a one-tap link.
    for method in ("sendChatAction", "sendMessage"):
        fake.fail(method, 403, CANT_INITIATE, chat_id=CARL, times=10)
    asked = await served.say(CARL, "/due", first_name="Carl", **IN_GROUP)
    note = fake.last_message(GROUP)
    assert note.text.startswith("Carl, that's private") and f"https://t.me/{BOT_USERNAME}?start=due" in note.text
    assert fake.calls_to("sendMessage")[-1].json("reply_parameters")["message_id"] == asked["message_id"]
    code = await served.new_code("Hollybush Lunch Club")
    await served.say(CARL, f"/join {code}", first_name="Carl", **IN_GROUP)
    assert f"https://t.me/{BOT_USERNAME}?start={code}" in fake.last_message(GROUP).text
    assert fake.chat(CARL) == [] and await memberships(served) == 0, "nothing private was posted or done"
    assert not [c for c in fake.calls_to("sendMessage") if c.chat_id == CARL], "nor even tried"

    # The link's "/start due" in the private chat runs what Carl asked for.
    fake.clear_failures()  # Carl pressed Start: Telegram now lets the bot write to him
    await served.say(CARL, "/start due", first_name="Carl")
    assert fake.chat(CARL) and "What is your group called?" not in fake.last_message(CARL).text


@pytest.mark.parametrize("refused", [False, True], ids=["private chat open", "never opened"])
async def test_a_statement_finished_in_a_group_goes_to_the_private_chat(
    tmp_path: Path, db_url: str, fake: FakeTelegram, refused: bool
) -> None:
    from tests.scenario import ScenarioBot
    from tests.test_transcripts import TODDLERS, Press

    settings = make_settings(tmp_path, db_url, fake, SVBOT_DIALOGUES_DIR=None)  # the shipped walk-through
    async with serving(settings, fake) as served:
        ann = ScenarioBot(served.app.bot, user=str(ANN), platform="telegram", chat=str(GROUP))
        original = ann.inbound
        ann.inbound = lambda *a, **k: dataclasses.replace(original(*a, **k), is_group=True)  # type: ignore[method-assign]
        await ann.say("start")
        for _, answer in TODDLERS[:-1]:  # all but "all correct" said straight to the core, in the group
            await (ann.press(answer.label) if isinstance(answer, Press) else ann.say(answer))
        if refused:
            for method in ("sendChatAction", "sendMessage", "sendDocument"):
                fake.fail(method, 403, CANT_INITIATE, chat_id=ANN, times=10)
        asked = await served.say(ANN, f"@{BOT_USERNAME} all correct", **IN_GROUP)
    assert not any("Little Acorns" in m.text or m.document for m in fake.chat(GROUP)), "nothing of it in the group"
    if refused:
        assert fake.chat(ANN) == []
        note = fake.last_message(GROUP).text
        assert note.startswith("Ann, that's private") and f"https://t.me/{BOT_USERNAME}?start=help" in note
        return
    statement = [m for m in fake.chat(ANN) if m.document or "Little Acorns" in m.text]
    assert statement and any(m.document for m in fake.chat(ANN)), "the statement and its Word file"
    assert fake.last_message(GROUP).text == "Ann, I've sent that to you in a private message."
    assert fake.calls_to("sendMessage")[-1].json("reply_parameters")["message_id"] == asked["message_id"]
    assert all(c.json("link_preview_options", {}).get("is_disabled") for c in fake.calls_to("sendMessage"))


# --- 4. buttons survive a restart ---------------------------------------------------------------------------


async def test_a_keyed_button_pressed_after_a_restart_is_recorded(settings: Settings, fake: FakeTelegram) -> None:
    async with serving(settings, fake) as first:
        await first.say(ANN, f"/start@{BOT_USERNAME}", **IN_GROUP)
        await first.say(ANN, "Leeds Lunch Club", reply_to=fake.last_message(GROUP), **IN_GROUP)
        objectives = fake.last_message(GROUP)
        data = objectives.button("greener")["callback_data"]
        assert data.startswith("~"), "a group button travels as a key (it records whose question it is)"
    # A new process: nothing of the first app's memory is left, only the database.
    async with serving(settings, fake) as second:
        async with second.app.bot.sessionmaker() as session:
            row = await session.get(ButtonPayload, data)
        assert row is not None and row.owner_user_id == str(ANN)
        await second.press(ANN, objectives, "greener")
        await second.press(ANN, fake.messages[(GROUP, objectives.message_id)], "Done")
        assert "What does Leeds Lunch Club do for a greener town?" in fake.last_message(GROUP).text
        assert (await second.answers(GROUP, ANN))["objectives"] == ["green"]


async def test_a_long_payload_from_the_reminder_sender_decodes_in_a_fresh_app(
    settings: Settings, fake: FakeTelegram
) -> None:
    from svbot.app import close_senders
    from svbot.messages import Button, Outbound

    long_payload = "dl:submitted:" + "x" * 100
    async with open_app(settings, migrate=False) as app:
        senders = app.senders()
        await senders["telegram"].send("555", Outbound("Your report is due", buttons=(Button("Sent", long_payload),)))
        await close_senders(senders)
    data = fake.last_message(555).buttons()[0]["callback_data"]
    assert len(data.encode()) <= 64
    async with open_app(settings, migrate=False) as fresh:
        async with fresh.bot.sessionmaker() as session:
            row = await session.get(ButtonPayload, data)
    assert row is not None and row.payload == long_payload


# --- 5. phones -------------------------------------------------------------------------------------------

LONG_DIALOGUE = """\
id: value_walk
title: Long choices
steps:
  - id: objectives
    ask: Which of these objectives does your work support?
    type: multi_choice
    options:
      - {value: health, label: Better health and wellbeing for older people in the town}
      - {value: jobs, label: More local jobs and training for young people}
      - {value: green, label: A greener town}
  - {id: name, ask: "What is your group called?", type: text, max_chars: 80, optional: true}
"""


async def test_long_choices_are_numbered_and_controls_stay_readable(
    tmp_path: Path, db_url: str, fake: FakeTelegram
) -> None:
    settings = make_settings(tmp_path, db_url, fake)
    (tmp_path / "dialogues" / "value_walk.yaml").write_text(LONG_DIALOGUE, encoding="utf-8")
    async with serving(settings, fake) as served:
        await served.say(ANN, "/start")
        question = fake.last_message(ANN)
        assert question.text.endswith(
            "1. Better health and wellbeing for older people in the town\n"
            "2. More local jobs and training for young people\n3. A greener town"
        )
        rows = [[b["text"] for b in row] for row in question.button_rows()]
        assert rows[0] == ["1", "2", "3"]
        await served.press(ANN, question, "2")
        assert fake.messages[(ANN, question.message_id)].button_rows()[0][1]["text"] == TICK + "2"
        await served.press(ANN, fake.messages[(ANN, question.message_id)], "Done")
        assert (await served.answers(ANN, ANN))["objectives"] == ["jobs"]
        skip_row = [row for row in fake.last_message(ANN).button_rows() if "Skip" in row[0]["text"]]
        assert skip_row and len(skip_row[0]) == 1, "'Skip / I don't know' has a row of its own"


def test_rendered_text_keeps_sentences_whole_and_lists_as_lists() -> None:
    from svbot.channels.telegram.render import render
    from svbot.messages import Outbound

    said = "We run a lunch club for older\nneighbours, every week.\nIt helps.\n\n1. One\n2. Two\n- tea"
    assert render(Outbound(said)).chunks == (
        "We run a lunch club for older neighbours, every week.\nIt helps.\n\n1. One\n2. Two\n- tea",
    )


# --- 6. limits from PTB ----------------------------------------------------------------------------------


def test_the_channels_limits_agree_with_ptbs_constants() -> None:
    """`svbot.channels.telegram` keeps its numbers without importing PTB (so `svbot chat` never loads it):
    they must stay within what PTB says Telegram allows."""
    from telegram.constants import FloodLimit, MessageLimit

    from svbot.channels.telegram import CHANNEL

    limits = CHANNEL.limits
    assert limits.per_second is not None and limits.per_second < FloodLimit.MESSAGES_PER_SECOND
    assert limits.per_chat_interval == 1 / FloodLimit.MESSAGES_PER_SECOND_PER_CHAT
    assert limits.group_limit == FloodLimit.MESSAGES_PER_MINUTE_PER_GROUP and limits.group_window == 60
    assert CHANNEL.message_size < MessageLimit.MAX_TEXT_LENGTH


async def test_conversation_replies_go_through_ptbs_rate_limiter(settings: Settings, served: Served) -> None:
    from telegram.ext import AIORateLimiter

    from svbot.channels.telegram.setup import build_application

    application = build_application(served.app.bot, settings)
    assert isinstance(application.bot.rate_limiter, AIORateLimiter)
