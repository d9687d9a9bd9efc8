"""The Telegram channel end to end: the real PTB Application and svbot's core, over real HTTP, against a
local fake Bot API server (tests/fakes/telegram_api.py). Long polling and the webhook (served by uvicorn).
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import signal
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from telegram import Update
from telegram.ext import Application, ContextTypes, TypeHandler

from svbot.app import App, close_bot, create_bot, open_app
from svbot.channels.telegram.render import (
    TICK,
    markdown_to_html,
    split_text,
    strip_mention,
)
from svbot.channels.telegram.sender import TelegramSender, file_url
from svbot.channels.telegram.setup import SECRET_HEADER, build_application, poll, set_webhook, telegram_mount
from svbot.config import Settings
from svbot.messages import Button, FileOut, Outbound, PermanentFailure, RetryLater
from svbot.models import Conversation, Identity, InboundEvent, Membership, Organisation, Person
from svbot.turns import Bot
from svbot.web import mount_app
from tests.fakes.telegram_api import BOT_USERNAME, FakeTelegram, visible_text
from tests.scenario import typed_answer
from tests.serving import serve_app

SECRET = "s3cret-Token_for-tests"
USER = 7001
NAME = "<b>Bold</b> & Co"  # a group name with markup: must be shown literally everywhere

DIALOGUE = """\
id: value_walk
title: Social value (Telegram test)
steps:
  - {id: name, ask: "What is your group called?", type: text, max_chars: 80}
  - id: objectives
    ask: Which of these objectives does your work support?
    type: multi_choice
    options:
      - {value: health, label: Better health}
      - {value: jobs, label: More local jobs}
      - {value: green, label: A greener town}
  - id: per_objective
    for_each: objectives
    steps:
      - {id: activity, ask: "What does {{ answers.name }} do for {{ item.label | lower }}?",
         type: long_text, max_chars: 3000}
  - id: size
    ask: "How big is {{ answers.name }}?"
    type: choice
    options:
      - {value: micro, label: "Under £10,000 a year"}
      - {value: small, label: "£10,000 to £100,000"}
  - {id: review, type: review, ask: "Here's what you told me:"}
done: |-
  Thanks, {{ answers.name }}! Here is what you said, in full.

  {{ answers.per_objective.health.activity }}

  {{ answers.per_objective.green.activity }}
"""


# --- fixtures -------------------------------------------------------------------------------------------


@pytest.fixture
async def fake() -> AsyncIterator[FakeTelegram]:
    server = await FakeTelegram().start()
    yield server
    await server.stop()


def make_settings(tmp_path: Path, db_url: str, fake: FakeTelegram, **extra: Any) -> Settings:
    dialogues = tmp_path / "dialogues"
    dialogues.mkdir(exist_ok=True)
    (dialogues / "value_walk.yaml").write_text(DIALOGUE, encoding="utf-8")
    values: dict[str, Any] = {
        "DATABASE_URL": db_url,
        "SVBOT_DIALOGUES_DIR": str(dialogues),
        "TELEGRAM_BOT_TOKEN": fake.token,
        "TELEGRAM_API_URL": fake.base_url,
        "TELEGRAM_WEBHOOK_SECRET": SECRET,
    }
    values.update(extra)
    return Settings(**values)


@pytest.fixture
def settings(tmp_path: Path, db_url: str, fake: FakeTelegram) -> Settings:
    return make_settings(tmp_path, db_url, fake)


@pytest.fixture
async def app(settings: Settings) -> AsyncIterator[App]:
    """The shipped app, as `svbot serve` and `svbot telegram-poll` build it, on the fake Telegram."""
    async with open_app(settings, migrate=False) as app:
        yield app


@pytest.fixture
def core(app: App) -> Bot:
    return app.bot


@pytest.fixture
def errors() -> list[BaseException]:
    """Exceptions raised inside PTB handlers. PTB swallows them, so every test checks this is empty."""
    return []


def fail_on_handler_errors(application: Application, errors: list[BaseException]) -> None:
    async def record(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        errors.append(context.error or RuntimeError("unknown handler error"))

    application.add_error_handler(record)


class Poller:
    """Runs `svbot telegram-poll`'s loop against the fake; `send` pushes an update and waits until PTB
    has run every handler for it (a last-group handler marks it done)."""

    def __init__(self, fake: FakeTelegram, application: Application) -> None:
        self.fake = fake
        self.application = application
        self.done: dict[int, asyncio.Event] = {}
        self.presses = 0

        async def mark_done(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
            self.done.setdefault(update.update_id, asyncio.Event()).set()

        application.add_handler(TypeHandler(Update, mark_done), group=99)

    async def send(self, update: dict) -> None:
        update_id = self.fake.push_update(update)
        event = self.done.setdefault(update_id, asyncio.Event())
        await asyncio.wait_for(event.wait(), 10)

    async def say(self, text: str, user: int = USER, **kwargs: Any) -> None:
        await self.send(self.fake.text_update(user_id=user, text=text, **kwargs))

    async def press(self, label_part: str, user: int = USER, chat: int | None = None) -> None:
        message = self.fake.last_message(user if chat is None else chat)
        self.presses += 1
        await self.send(self.fake.press(user_id=user, message=message, label_part=label_part))


class Waits:
    """Stands in for asyncio.sleep in the sender: records the waits instead of making the test slow."""

    def __init__(self) -> None:
        self.seconds: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.seconds.append(seconds)


@pytest.fixture
def waits() -> Waits:
    return Waits()


@contextlib.asynccontextmanager
async def polling(
    fake: FakeTelegram, settings: Settings, core: Bot, errors: list[BaseException], waits: Waits
) -> AsyncIterator[Poller]:
    application = build_application(core, settings, sender_options={"sleep": waits})
    fail_on_handler_errors(application, errors)
    helper = Poller(fake, application)
    stop = asyncio.Event()
    task = asyncio.create_task(poll(application, core, stop, timeout=5))
    await fake.wait_for("getUpdates")
    try:
        yield helper
    finally:
        stop.set()
        await asyncio.wait_for(task, 10)
    assert not errors, f"handler raised: {errors!r}"


@pytest.fixture
async def poller(
    fake: FakeTelegram, settings: Settings, core: Bot, errors: list[BaseException], waits: Waits
) -> AsyncIterator[Poller]:
    async with polling(fake, settings, core, errors, waits) as helper:
        yield helper


async def identity_active(core: Bot, user_id: int) -> bool | None:
    async with core.sessionmaker() as session:
        return await session.scalar(
            select(Identity.active).where(Identity.platform == "telegram", Identity.platform_user_id == str(user_id))
        )


# --- long polling: a whole walk-through ---------------------------------------------------------------


async def test_social_value_walk_through_with_inline_keyboards(poller: Poller, fake: FakeTelegram, core: Bot):
    await poller.say("/start")
    question = fake.last_message(USER)
    assert question.text.endswith("\n\nWhat is your group called?")
    assert fake.calls_to("deleteWebhook"), "polling must remove any webhook first"
    assert "setMyCommands" in [c.method for c in fake.calls]

    await poller.say(NAME)
    objectives = fake.last_message(USER)
    assert objectives.text.startswith("Which of these objectives")
    rows = [[b["text"] for b in row] for row in objectives.button_rows()]
    assert rows == [["Better health"], ["More local jobs"], ["A greener town"], ["Done", "Back", "Help"]]

    # Toggles edit the same message: ticks appear, no new message is sent.
    sent_before = len(fake.calls_to("sendMessage"))
    await poller.press("Better health")
    await poller.press("greener")
    assert len(fake.calls_to("sendMessage")) == sent_before
    assert len(fake.calls_to("answerCallbackQuery")) == 2
    toggled = fake.messages[(USER, objectives.message_id)]
    assert toggled.edits == 2
    assert [b["text"] for b in toggled.buttons()][:3] == [
        TICK + "Better health",
        "More local jobs",
        TICK + "A greener town",
    ]

    await poller.press("Done")
    activity = fake.last_message(USER)
    assert activity.message_id != objectives.message_id
    # The name was typed with markup: it is shown literally, escaped in the HTML sent.
    assert activity.text == f"What does {NAME} do for better health?"
    assert "&lt;b&gt;Bold&lt;/b&gt; &amp; Co" in activity.html

    long_answer = " ".join(f"Sentence {i} about our weekly lunch club for older neighbours." for i in range(45))
    await poller.say(long_answer)
    assert fake.last_message(USER).text == f"What does {NAME} do for a greener town?"
    await poller.say(long_answer.replace("lunch club", "litter pick"))

    size = fake.last_message(USER)
    assert size.text == f"How big is {NAME}?"
    await poller.press("Under £10,000")

    review = fake.last_message(USER)
    assert review.text.startswith("Here's what you told me:")
    assert f"1. What is your group called?: {NAME}" in review.text
    await poller.press("All correct")

    # The closing message quotes both long answers: over 4,096 characters, so it arrives split.
    parts = [m for m in fake.chat(USER) if m.message_id > review.message_id]
    assert len(parts) >= 2
    assert all(len(m.text) <= 4096 for m in parts)
    assert parts[0].text.startswith(f"Thanks, {NAME}!")
    joined = " ".join(m.text for m in parts)
    assert long_answer in joined.replace("\n", " "), "splitting must not lose or break words"

    # Every callback query was answered, and the state lives in svbot's database.
    assert len(fake.calls_to("answerCallbackQuery")) == 5
    async with core.sessionmaker() as session:
        conversation = await session.scalar(select(Conversation).where(Conversation.key == f"telegram:{USER}:{USER}"))
    assert conversation is not None
    assert conversation.state["answers"]["name"] == NAME


async def test_group_chat_only_commands_mentions_and_replies(poller: Poller, fake: FakeTelegram, core: Bot):
    group = -100777
    chat = {"chat_id": group, "chat_type": "supergroup"}
    await poller.say("hello everyone, meeting at 6", **chat)
    await poller.say("/start@some_other_bot", **chat)
    await poller.say("/unknowncommand", **chat)
    assert fake.chat(group) == [], "the bot must stay quiet unless addressed"

    await poller.say(f"/start@{BOT_USERNAME}", **chat)
    question = fake.last_message(group)
    assert question.text.endswith("\n\nWhat is your group called?")
    first_reply = [c for c in fake.calls_to("sendMessage") if c.chat_id == group][0]
    assert first_reply.json("reply_parameters")["message_id"] > 0, "group replies quote the message they answer"

    # A reply to the bot's question is an answer, without a mention.
    await poller.say("Leeds Lunch Club", reply_to=question, **chat)
    assert fake.last_message(group).text.startswith("For Sam:\nWhich of these objectives")

    # A mention works too, and the mention itself is not part of the answer.
    await poller.say(f"@{BOT_USERNAME} status", user=7002, **chat)
    async with core.sessionmaker() as session:
        keys = set((await session.scalars(select(Conversation.key))).all())
        group_identity = await session.scalar(select(Identity).where(Identity.platform_user_id == str(USER)))
    assert keys == {f"telegram:{group}:{USER}", f"telegram:{group}:7002"}
    assert group_identity is not None and group_identity.chat_id is None, "a group is not a DM for reminders"


async def test_photos_and_edits_are_not_answers(poller: Poller, fake: FakeTelegram, core: Bot):
    photo = fake.text_update(user_id=USER, text="")
    del photo["message"]["text"]
    photo["message"]["photo"] = [{"file_id": "p1", "file_unique_id": "u1", "width": 90, "height": 90}]
    await poller.send(photo)
    assert fake.last_message(USER).text == "Sorry, I can only read typed messages and button presses."

    edited = fake.text_update(user_id=USER, text="/start")
    edited["edited_message"] = edited.pop("message") | {"edit_date": 1_700_000_100}
    await poller.send(edited)
    assert len(fake.chat(USER)) == 1, "an edited old message is not a new answer"
    assert await inbound_events(core) == 0


async def test_update_redelivered_after_a_restart_is_answered_once(
    fake: FakeTelegram, settings: Settings, core: Bot, errors: list[BaseException], waits: Waits
):
    """A worker that dies before confirming an update gets it again from getUpdates after restarting."""
    update = fake.text_update(user_id=USER, text="/start", update_id=9000)
    async with polling(fake, settings, core, errors, waits) as first:
        await first.send(dict(update))
    sent = len(fake.calls_to("sendMessage"))
    assert sent == 1  # the welcome and the first question, in one message
    async with polling(fake, settings, core, errors, waits) as second:
        await second.send(dict(update))
    assert len(fake.calls_to("sendMessage")) == sent
    assert await inbound_events(core) == 1


async def test_429_is_waited_out_then_sent(poller: Poller, fake: FakeTelegram, waits: Waits):
    fake.fail("sendMessage", 429, "Too Many Requests: retry after 3", retry_after=3)
    await poller.say("/start")
    sends = fake.calls_to("sendMessage")
    assert [c.status for c in sends][:2] == [429, 200]
    assert waits.seconds == [3.0]
    assert fake.last_message(USER).text.endswith("\n\nWhat is your group called?")


async def test_network_errors_are_retried(poller: Poller, fake: FakeTelegram, waits: Waits):
    fake.disconnect("sendMessage")
    fake.fail("sendMessage", 502, "Bad Gateway")
    await poller.say("/start")
    assert [c.status for c in fake.calls_to("sendMessage")][:3] == [0, 502, 200]
    assert waits.seconds == [0.5, 1.0]
    assert fake.last_message(USER).text.endswith("\n\nWhat is your group called?")


async def test_blocked_user_marks_identity_inactive(poller: Poller, fake: FakeTelegram, core: Bot):
    await poller.say("/start")
    assert await identity_active(core, USER) is True
    fake.fail("sendMessage", 403, "Forbidden: bot was blocked by the user", chat_id=USER, times=5)
    await poller.say("Leeds Lunch Club")
    assert await identity_active(core, USER) is False
    assert len([c for c in fake.calls_to("sendMessage") if c.status == 403]) == 1, "403 is not retried"


async def test_my_chat_member_blocked_and_unblocked(poller: Poller, fake: FakeTelegram, core: Bot):
    await poller.say("/start")

    def member_update(status: str) -> dict:
        user = {"id": USER, "is_bot": False, "first_name": "Sam"}
        bot_user = {"id": 123456, "is_bot": True, "first_name": "svbot", "username": BOT_USERNAME}
        return {
            "my_chat_member": {
                "chat": {"id": USER, "type": "private", "first_name": "Sam"},
                "from": user,
                "date": 1_700_000_000,
                "old_chat_member": {"status": "member", "user": bot_user},
                "new_chat_member": {
                    "status": status,
                    "user": bot_user,
                    **({"until_date": 0} if status == "kicked" else {}),
                },
            }
        }

    await poller.send(member_update("kicked"))
    assert await identity_active(core, USER) is False
    await poller.send(member_update("member"))
    assert await identity_active(core, USER) is True


async def test_admins_get_broadcast_in_their_commands_menu(
    fake: FakeTelegram, settings: Settings, core: Bot, errors: list[BaseException]
):
    async with core.sessionmaker() as session, session.begin():
        person = Person(display_name="Alex")
        org = Organisation(name="Voluntary Action", kind="support")
        session.add_all([person, org])
        await session.flush()
        session.add(Identity(person_id=person.id, platform="telegram", platform_user_id="42", chat_id="42"))
        session.add(Membership(person_id=person.id, organisation_id=org.id, role="support_admin"))
    application = build_application(core, settings)
    fail_on_handler_errors(application, errors)
    stop = asyncio.Event()
    task = asyncio.create_task(poll(application, core, stop, timeout=1))
    await fake.wait_for("getUpdates")
    stop.set()
    await asyncio.wait_for(task, 10)
    default = fake.commands['{"type": "default"}']
    admin = fake.commands['{"chat_id": 42, "type": "chat"}']
    # The menu is made from the intents the shipped bot registered: nothing listed that it cannot do.
    everyone = [entry.command for entry in core.menu if not entry.roles]
    assert [c["command"] for c in default] == everyone
    assert {"start", "status", "due", "statement", "help", "cancel", "join"} <= set(everyone)
    assert "broadcast" not in everyone and "broadcast" in [c["command"] for c in admin]
    assert not errors


# --- the default social value walk-through, driven by whatever it asks ------------------------------------

CONTROL_LABELS = {"Back", "Help", "Done", "Skip / I don't know"}


def _typed(question: str) -> str:
    return typed_answer(question, "We run a weekly lunch club where <older> neighbours eat together & chat.")


async def test_default_social_value_walk_through(
    tmp_path: Path, db_url: str, fake: FakeTelegram, errors: list[BaseException], waits: Waits
):
    settings = make_settings(tmp_path, db_url, fake, SVBOT_DIALOGUES_DIR=None)  # the dialogues svbot ships
    core = await create_bot(settings, migrate=False)
    try:
        async with polling(fake, settings, core, errors, waits) as poller:
            await poller.say("/start")
            transcript: list[str] = []
            for _ in range(150):
                if fake.calls_to("sendDocument"):
                    break
                current = fake.last_message(USER)
                transcript.append(current.text)
                labels = [b["text"].removeprefix(TICK) for b in current.buttons()]
                choices = [label for label in labels if label not in CONTROL_LABELS]
                if choices and "Done" in labels:
                    await poller.press(choices[0])
                    assert fake.messages[(USER, current.message_id)].button(choices[0])["text"].startswith(TICK)
                    await poller.press("Done")
                elif choices:
                    await poller.press(choices[0])
                elif len(transcript) > 1 and transcript[-2] == current.text and "Skip / I don't know" in labels:
                    await poller.press("Skip / I don't know")
                else:
                    await poller.say(_typed(current.text))
            else:
                raise AssertionError("the walk-through did not finish:\n" + "\n---\n".join(transcript[-6:]))
    finally:
        await close_bot(core)

    check_every_message(fake)
    document = fake.calls_to("sendDocument")[-1]
    [(filename, content)] = document.files.values()
    assert filename.endswith(".docx") and content[:2] == b"PK"  # a .docx is a zip
    shown = [m.text for m in fake.chat(USER)]
    assert any("weekly lunch club where <older> neighbours eat together & chat" in text for text in shown)
    assert len(fake.calls_to("answerCallbackQuery")) == poller.presses, "every button press is answered"


def check_every_message(fake: FakeTelegram) -> None:
    """Every message of a walk-through as Telegram would check it, and as a phone shows it."""
    shown = [c for c in fake.calls if c.method in ("sendMessage", "editMessageText", "sendDocument")]
    assert shown and all(c.status == 200 for c in shown)
    for call in shown:
        raw = call.fields.get("caption" if call.method == "sendDocument" else "text", "")
        text = visible_text(raw) if call.fields.get("parse_mode") == "HTML" else raw  # strict: refuses bad HTML
        assert len(text.encode("utf-16-le")) // 2 <= (1024 if call.method == "sendDocument" else 4096)
        assert not re.search(r"[a-z,]\n[a-z]", text), f"a line broken mid-sentence: {text!r}"
        if call.method != "sendDocument":
            assert call.json("link_preview_options") == {"is_disabled": True}
        for row in call.json("reply_markup", {}).get("inline_keyboard", []):
            for button in row:
                assert 1 <= len(button["callback_data"].encode()) <= 64
                # On a phone a row's buttons share about 30 characters: no label is cut short.
                assert len(button["text"]) <= 30 // len(row), row


# --- the webhook, served for real by uvicorn ------------------------------------------------------------


@contextlib.asynccontextmanager
async def serve(mount_settings: Settings, core: Bot, errors: list[BaseException]) -> AsyncIterator[str]:
    mount = telegram_mount(core, mount_settings, configure=lambda app: fail_on_handler_errors(app, errors))

    async with serve_app(mount_app([mount])) as base_url:
        yield base_url + "/telegram/webhook"


async def inbound_events(core: Bot) -> int:
    async with core.sessionmaker() as session:
        return await session.scalar(select(func.count()).select_from(InboundEvent)) or 0


async def test_webhook_refuses_without_the_right_secret_and_answers_once(
    fake: FakeTelegram, settings: Settings, core: Bot, errors: list[BaseException]
):
    update = fake.text_update(user_id=USER, text="/start", update_id=555)
    async with serve(settings, core, errors) as url, httpx.AsyncClient() as client:
        missing = await client.post(url, json=update)
        wrong = await client.post(url, json=update, headers={SECRET_HEADER: SECRET + "x"})
        assert (missing.status_code, wrong.status_code) == (403, 403)
        assert fake.calls_to("sendMessage") == [] and await inbound_events(core) == 0

        ok = await client.post(url, json=update, headers={SECRET_HEADER: SECRET})
        assert ok.status_code == 200
        assert fake.last_message(USER).text.endswith("\n\nWhat is your group called?")
        sent = len(fake.calls_to("sendMessage"))

        again = await client.post(url, json=update, headers={SECRET_HEADER: SECRET})  # Telegram re-delivers
        assert again.status_code == 200
        assert len(fake.calls_to("sendMessage")) == sent, "a repeated update_id is answered once"
        assert await inbound_events(core) == 1

        garbage = await client.post(url, content=b"not json", headers={SECRET_HEADER: SECRET})
        assert garbage.status_code == 400
    assert not errors


async def test_svbot_serve_app_takes_the_webhook(fake: FakeTelegram, app: App, caplog: pytest.LogCaptureFixture):
    update = fake.text_update(user_id=USER, text="/start")
    async with serve_app(app.web_app()) as base_url, httpx.AsyncClient(base_url=base_url) as client:
        health = (await client.get("/healthz")).json()
        assert "telegram" in health["channels"]
        assert (await client.post("/telegram/webhook", json=update)).status_code == 403
        ok = await client.post("/telegram/webhook", json=update, headers={SECRET_HEADER: SECRET})
        assert ok.status_code == 200
    assert fake.last_message(USER).text.endswith("\n\nWhat is your group called?")
    assert not [r for r in caplog.records if r.name == "svbot.telegram" and r.levelname == "ERROR"]


async def test_webhook_without_a_configured_secret_refuses_everything(
    tmp_path: Path, db_url: str, fake: FakeTelegram, core: Bot, errors: list[BaseException]
):
    no_secret = make_settings(tmp_path, db_url, fake, TELEGRAM_WEBHOOK_SECRET=None)
    update = fake.text_update(user_id=USER, text="/start")
    async with serve(no_secret, core, errors) as url, httpx.AsyncClient() as client:
        for headers in ({}, {SECRET_HEADER: ""}, {SECRET_HEADER: SECRET}):
            assert (await client.post(url, json=update, headers=headers)).status_code == 403
    assert fake.calls_to("sendMessage") == [] and await inbound_events(core) == 0


async def test_set_webhook_registers_url_secret_and_commands(fake: FakeTelegram, settings: Settings, core: Bot):
    await set_webhook(settings, "https://svbot.example.org/telegram/webhook", core)
    assert fake.webhook["url"] == "https://svbot.example.org/telegram/webhook"
    assert fake.webhook["secret_token"] == SECRET
    assert "callback_query" in fake.webhook["allowed_updates"]
    assert fake.commands, "the commands menu is published too"


async def test_set_webhook_needs_a_secret(tmp_path: Path, db_url: str, fake: FakeTelegram):
    with pytest.raises(ValueError, match="TELEGRAM_WEBHOOK_SECRET"):
        await set_webhook(make_settings(tmp_path, db_url, fake, TELEGRAM_WEBHOOK_SECRET=None), "https://x.example/h")
    assert fake.calls_to("setWebhook") == []


# --- the sender (reminders, broadcasts) ---------------------------------------------------------------


@pytest.fixture
async def sender(settings: Settings, waits: Waits) -> AsyncIterator[TelegramSender]:
    result = TelegramSender(settings, sleep=waits)
    yield result
    await result.close()


async def test_sender_splits_long_text_at_sentences(sender: TelegramSender, fake: FakeTelegram):
    text = " ".join(f"Reminder line {i} says your report is due soon, please send it." for i in range(200))
    message_id = await sender.send("555", Outbound(text, kind="reminder"))
    parts = fake.chat(555)
    assert len(parts) == 4 and message_id == str(parts[-1].message_id)
    assert all(len(p.text) <= 4096 and p.text.endswith(".") for p in parts)
    assert " ".join(p.text for p in parts) == text


async def test_sender_escapes_plain_text_and_converts_our_markdown(sender: TelegramSender, fake: FakeTelegram):
    await sender.send("555", Outbound("Use <b>tags</b> & <script>x</script> as you like"))
    assert fake.last_message(555).text == "Use <b>tags</b> & <script>x</script> as you like"
    statement = f"# Our statement\n\n**{NAME}** runs a *weekly* club.\n- lunch\n- `code <here>`"
    await sender.send("555", Outbound(statement, markdown=True))
    shown = fake.last_message(555)
    assert shown.text == f"Our statement\n\n{NAME} runs a weekly club.\n• lunch\n• code <here>"
    assert "<b>Our statement</b>" in shown.html and "<i>weekly</i>" in shown.html


async def test_sender_sends_documents(sender: TelegramSender, fake: FakeTelegram):
    docx = FileOut("statement.docx", b"PK\x03\x04 docx bytes", "application/vnd.openxmlformats")
    await sender.send("555", Outbound("Your draft statement", file=docx))
    call = fake.calls_to("sendDocument")[-1]
    assert list(call.files.values()) == [("statement.docx", b"PK\x03\x04 docx bytes")]
    assert call.fields["caption"] == "Your draft statement"


async def test_sender_error_mapping(sender: TelegramSender, fake: FakeTelegram, waits: Waits):
    fake.fail("sendMessage", 403, "Forbidden: bot was blocked by the user")
    with pytest.raises(PermanentFailure, match="blocked"):
        await sender.send("555", Outbound("Hello"))

    fake.fail("sendMessage", 429, "Too Many Requests: retry after 120", retry_after=120)
    with pytest.raises(RetryLater) as slow:
        await sender.send("555", Outbound("Hello"))
    assert slow.value.retry_after == 120 and waits.seconds == [], "a long flood wait goes back to the outbox"

    fake.fail("sendMessage", 429, "Too Many Requests: retry after 2", retry_after=2, times=3)
    with pytest.raises(RetryLater) as again:
        await sender.send("555", Outbound("Hello"))
    assert again.value.retry_after == 2 and waits.seconds == [2.0, 2.0]

    fake.fail("sendMessage", 502, "Bad Gateway", times=3)
    with pytest.raises(RetryLater):
        await sender.send("555", Outbound("Hello"))

    fake.fail("sendMessage", 400, "Bad Request: chat not found")
    with pytest.raises(PermanentFailure, match="(?i)chat not found"):
        await sender.send("555", Outbound("Hello"))

    assert await sender.send("555", Outbound("Hello")) is not None


async def test_sender_long_button_payloads_fit_callback_data(sender: TelegramSender, fake: FakeTelegram):
    long_payload = "dl:submitted:" + "x" * 100
    buttons = (Button("I've sent it", long_payload), Button("Remind me later", "dl:later:1"))
    await sender.send("555", Outbound("Your report is due", buttons=buttons))
    keyboard = fake.last_message(555).buttons()
    assert all(len(b["callback_data"].encode()) <= 64 for b in keyboard)
    pressed = await sender.buttons.decode(keyboard[0]["callback_data"])
    assert pressed is not None and pressed.payload == long_payload and pressed.owner is None
    assert keyboard[1]["callback_data"] == "dl:later:1"


# --- rendering (pure) -----------------------------------------------------------------------------------


def test_split_text_prefers_paragraphs_then_sentences_never_mid_word():
    para = "First paragraph. " * 100
    text = para.strip() + "\n\n" + "Second one. " * 300
    chunks = split_text(text)
    assert chunks[0] == para.strip()
    assert all(len(c) <= 4096 for c in chunks)
    words = text.split()
    assert [w for c in chunks for w in c.split()] == words
    assert split_text("short") == ["short"]
    emoji = split_text("😀 " * 3000)
    assert all(len(c.encode("utf-16-le")) // 2 <= 4096 for c in emoji)


def test_markdown_conversion_escapes_everything_else():
    html_text = markdown_to_html("**<i>bold</i>** [site](https://x.org/?a=1&b=2) [bad](javascript:alert(1))")
    assert html_text.startswith("<b>&lt;i&gt;bold&lt;/i&gt;</b>")
    assert '<a href="https://x.org/?a=1&amp;b=2">site</a>' in html_text
    assert "javascript" in visible_text(html_text) and 'href="javascript' not in html_text


def test_mentions():
    assert strip_mention(f"@{BOT_USERNAME}, what's due?", BOT_USERNAME) == "what's due?"


def test_file_url():
    assert file_url("https://api.telegram.org/bot") == "https://api.telegram.org/file/bot"
    assert file_url("http://127.0.0.1:9/bot/") == "http://127.0.0.1:9/file/bot"


# --- the commands, as a person runs them --------------------------------------------------------------


def cli_env(settings: Settings) -> dict[str, str]:
    import os

    env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "SLACK_", "SVBOT_", "DATABASE_"))}
    env.update(
        DATABASE_URL=settings.database_url,
        SVBOT_DIALOGUES_DIR=str(settings.dialogues_dir),
        TELEGRAM_BOT_TOKEN=settings.telegram_bot_token.get_secret_value() if settings.telegram_bot_token else "",
        TELEGRAM_API_URL=settings.telegram_api_url,
        TELEGRAM_WEBHOOK_SECRET=SECRET,
        PYTHONPATH=str(Path(__file__).resolve().parents[1]),
    )
    return env


async def run_cli(*args: str, env: dict[str, str], cwd: Path) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "svbot.cli", *args, env=env, cwd=cwd,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip


async def test_cli_telegram_poll_answers_and_stops_on_sigterm(tmp_path: Path, fake: FakeTelegram, settings: Settings):
    process = await run_cli("telegram-poll", env=cli_env(settings), cwd=tmp_path)
    try:
        await fake.wait_for("getUpdates", timeout=20)
        fake.push_update(fake.text_update(user_id=USER, text="/start"))
        await fake.wait_for("sendMessage", count=1, timeout=10)
        assert fake.last_message(USER).text.endswith("\n\nWhat is your group called?")
    finally:
        process.send_signal(signal.SIGTERM)
        _, stderr = await asyncio.wait_for(process.communicate(), 20)
    assert process.returncode == 0, stderr.decode()
    assert fake.token not in stderr.decode(), "the token must never be logged"


async def test_cli_set_webhook(tmp_path: Path, fake: FakeTelegram, settings: Settings):
    env = cli_env(settings)
    process = await run_cli(
        "telegram", "set-webhook", "https://svbot.example.org/telegram/webhook", env=env, cwd=tmp_path
    )
    stdout, stderr = await asyncio.wait_for(process.communicate(), 30)
    assert process.returncode == 0, stderr.decode()
    assert "https://svbot.example.org/telegram/webhook" in stdout.decode()
    assert fake.webhook["secret_token"] == SECRET

    env["TELEGRAM_WEBHOOK_SECRET"] = ""
    process = await run_cli("telegram", "set-webhook", "https://svbot.example.org/x", env=env, cwd=tmp_path)
    _, stderr = await asyncio.wait_for(process.communicate(), 30)
    assert process.returncode == 1
    assert stderr.decode().strip() == "svbot: set TELEGRAM_WEBHOOK_SECRET first (1-256 letters, digits, _ or -)"
