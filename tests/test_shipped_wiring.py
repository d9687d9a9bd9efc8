"""The app the tests run is the app users run.

Every feature is reached the way a person reaches it: the `svbot` command in a subprocess (piped, as a
script would), Slack and Telegram through their fake servers against the app `svbot serve` builds, and
every chat word the README documents, through the bot the composition root builds. Nothing here
installs a feature by hand.
"""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pytest
from sqlalchemy import select

from svbot.app import App, open_app
from svbot.channels.telegram.setup import SECRET_HEADER
from svbot.config import Settings
from svbot.deadlines.models import Deadline, Grant
from svbot.delivery.models import OutboxMessage
from svbot.messages import Inbound, Outbound
from svbot.models import Answer, Identity, Membership, Organisation, Person
from svbot.support.chat import SUPPORT_ONLY
from svbot.support.digest import plan_digests
from svbot.support.invites import create_invite
from svbot.turns import SORRY
from tests.conftest import run_sql
from tests.fakes.slack_api import FakeSlack
from tests.fakes.telegram_api import FakeTelegram
from tests.reliability.support import svbot_env
from tests.serving import serve_app
from tests.test_slack import SECRET as SLACK_SECRET
from tests.test_slack import SlackUser, shown
from tests.test_telegram import SECRET as TELEGRAM_SECRET

ROOT = Path(__file__).resolve().parent.parent
FIRST_QUESTION = "What is your organisation or group called?"
UNKNOWN_BUTTON = "I don't recognise that button"
NOW = datetime(2026, 11, 30, 9, 0, tzinfo=ZoneInfo("Europe/London")).astimezone(UTC)


# -- the `svbot` command, piped -------------------------------------------------------------------------


def svbot(tmp_path: Path, db_url: str, *args: str, lines: list[str] | None = None) -> str:
    """Run the installed command as a user would (no platform set up); its standard output."""
    done = subprocess.run(
        [sys.executable, "-m", "svbot.cli", *args],
        input="\n".join(lines) + "\n" if lines is not None else None,
        capture_output=True, text=True, env=svbot_env(db_url), cwd=tmp_path, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stdout + done.stderr
    return done.stdout


def code_in(text: str) -> str:
    return re.findall(r"\b([A-Z0-9]{4}-[A-Z0-9]{4,})\b", text)[-1]


def test_svbot_invite_then_join_in_svbot_chat(tmp_path: Path, db_url: str) -> None:
    """The README's steps: a support organisation, a member, a code; `join CODE` in `svbot chat`."""
    support = svbot(tmp_path, db_url, "support", "create", "Brighton CVS", "--framework", "local_pledge").strip()
    org = svbot(tmp_path, db_url, "support", "add-org", "--support-org", support, "--name", "Hollybush Lunch Club")
    code = code_in(svbot(tmp_path, db_url, "invite", "--org", org.strip(), "--role", "org_admin"))

    # As the first thing said: the code joins, and is never taken as the group's name.
    out = svbot(tmp_path, db_url, "chat", "--user", "ann", lines=[f"join {code}", "organisations"])
    assert "You're now an admin of Hollybush Lunch Club" in out
    assert FIRST_QUESTION not in out
    assert "Your organisations:\n→ Hollybush Lunch Club" in out

    # In the middle of the walk-through: joined, then the same question again.
    second = code_in(svbot(tmp_path, db_url, "invite", "--org", org.strip()))
    out = svbot(tmp_path, db_url, "chat", "--user", "ben", lines=["hi", f"join {second}", "Ben's Bakes"])
    assert "You're now a member of Hollybush Lunch Club" in out
    assert out.count(FIRST_QUESTION) == 2
    values = [row[0] for row in run_sql(db_url, "SELECT value FROM answers")]
    assert not [v for v in values if code in str(v) or second in str(v)], values
    assert any("Ben's Bakes" in str(v) for v in values)


def test_a_support_admin_broadcasts_from_svbot_chat(tmp_path: Path, db_url: str) -> None:
    support = svbot(tmp_path, db_url, "support", "create", "Brighton CVS").strip()
    org = svbot(tmp_path, db_url, "support", "add-org", "--support-org", support, "--name", "Hollybush Lunch Club")
    member = code_in(svbot(tmp_path, db_url, "invite", "--org", org.strip()))
    admin = code_in(svbot(tmp_path, db_url, "invite", "--org", support, "--role", "support_admin"))
    svbot(tmp_path, db_url, "chat", "--user", "ann", lines=[f"join {member}"])

    out = svbot(
        tmp_path, db_url, "chat", "--user", "sam",
        lines=[f"join {admin}", "members", "broadcast", "All members", "Funding surgery on Tuesday, 10am.", "Send",
               "broadcast status"],
    )  # fmt: skip
    assert "You're now an admin of Brighton CVS" in out
    assert "Hollybush Lunch Club" in out.split("members", 1)[1]
    assert "Who is it for?" in out and "What would you like to say?" in out
    assert "Funding surgery on Tuesday, 10am." in out  # the preview
    assert SUPPORT_ONLY not in out and SORRY not in out
    rows = run_sql(db_url, "SELECT platform, chat_id, kind FROM outbox WHERE kind = 'broadcast'")
    assert [(r[0], r[1]) for r in rows] == [("console", "ann")]


# -- every chat word in the README, through the shipped bot ----------------------------------------------


def readme_chat_words() -> list[str]:
    """The words in the README's "Talking to svbot" table, as a person would type them."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("## Talking to svbot", 1)[1].split("\n## ", 1)[0]
    words = []
    for row in section.splitlines():
        if row.startswith("| `"):
            words.extend(re.findall(r"`([^`]+)`", row.split("|")[1]))
    assert len(words) >= 20, words
    return words


class Person_:
    """One person talking to the shipped bot, as the console channel would pass it on."""

    def __init__(self, app: App, user: str) -> None:
        self.app, self.user = app, user
        self.replies: list[Outbound] = []

    async def say(self, text: str | None = None, payload: str | None = None) -> str:
        inbound = Inbound(platform="console", user_id=self.user, chat_id=self.user, text=text, payload=payload)
        self.replies = await self.app.bot.handle(inbound)
        return "\n".join(m.text for m in self.replies)


@pytest.fixture
async def shipped(db_url: str) -> AsyncIterator[App]:
    """The app as `svbot chat` builds it: shipped dialogues and knowledge, every feature."""
    async with open_app(Settings(DATABASE_URL=db_url), migrate=False) as app:
        yield app


async def new_code(app: App, organisation_name: str, role: str = "member") -> str:
    async with app.bot.sessionmaker() as session, session.begin():
        organisation = Organisation(name=organisation_name, kind="support" if role == "support_admin" else "member")
        session.add(organisation)
        await session.flush()
        return (await create_invite(session, organisation.id, NOW, role=role)).code


@pytest.mark.parametrize("word", readme_chat_words())
async def test_every_readme_chat_word_does_what_it_says(shipped: App, word: str) -> None:
    if "CODE" in word:
        word = word.replace("CODE", await new_code(shipped, "Hollybush Lunch Club"))
    idle, busy = Person_(shipped, "idle"), Person_(shipped, "busy")

    # Outside a walk-through: an answer of its own, not the generic fallback and not an error.
    said = await idle.say(word)
    assert said and SORRY not in said and UNKNOWN_BUTTON not in said, said
    if word not in ("start", "restart"):
        assert FIRST_QUESTION not in said, f"{word!r} started the walk-through instead"

    # In the middle of one: the word is never stored as an answer, and the walk-through carries on.
    await busy.say("start")
    said = await busy.say(word)
    assert SORRY not in said, said
    async with shipped.bot.sessionmaker() as session:
        values = [str(v) for v in (await session.scalars(select(Answer.value))).all()]
    assert word not in values and word.split()[-1] not in values, values
    if word not in ("cancel", "restart", "statement", "share statement", "stop sharing") and "join" not in word:
        status = await busy.say("status")  # still at the first question: the word answered nothing
        assert "question 1 of" in status and FIRST_QUESTION in status, status


# -- Slack and Telegram, through the app `svbot serve` builds -------------------------------------------------


@pytest.fixture
async def slack_app(db_url: str) -> AsyncIterator[tuple[App, SlackUser]]:
    async with FakeSlack() as fake:
        settings = Settings(
            DATABASE_URL=db_url, SLACK_BOT_TOKEN="xoxb-wiring", SLACK_SIGNING_SECRET=SLACK_SECRET,
            SLACK_API_URL=fake.api_url,
        )  # fmt: skip
        async with open_app(settings, migrate=False) as app, serve_app(app.web_app()) as base_url:
            async with httpx.AsyncClient(base_url=base_url) as http:
                yield app, SlackUser(http, fake)


async def test_join_code_on_slack_as_first_message_and_as_a_command(slack_app: tuple[App, SlackUser]) -> None:
    app, person = slack_app
    await person.say(f"join {await new_code(app, 'Hollybush Lunch Club')}")
    assert "You're now a member of Hollybush Lunch Club" in shown(await person.reply(1))
    await person.command(f"join {await new_code(app, 'Coastal Choir', 'org_admin')}")
    assert "You're now an admin of Coastal Choir" in shown(await person.reply(2))


@pytest.fixture
async def telegram_app(tmp_path: Path, db_url: str) -> AsyncIterator[tuple[App, FakeTelegram, httpx.AsyncClient]]:
    fake = await FakeTelegram().start()
    settings = Settings(
        DATABASE_URL=db_url, TELEGRAM_BOT_TOKEN=fake.token, TELEGRAM_API_URL=fake.base_url,
        TELEGRAM_WEBHOOK_SECRET=TELEGRAM_SECRET,
    )  # fmt: skip
    try:
        async with open_app(settings, migrate=False) as app, serve_app(app.web_app()) as base_url:
            async with httpx.AsyncClient(base_url=base_url, headers={SECRET_HEADER: TELEGRAM_SECRET}) as http:
                yield app, fake, http
    finally:
        await fake.stop()


async def test_every_telegram_menu_command_answers(telegram_app: tuple[App, FakeTelegram, httpx.AsyncClient]) -> None:
    """Each command in the "/" menu, as the first thing a person sends (after joining, for the
    commands only admins see): an answer of its own, never an error or "not for you"."""
    app, fake, http = telegram_app
    for user, entry in enumerate(app.bot.menu, start=5000):
        if entry.roles:
            code = await new_code(app, f"Support {user}", "support_admin")
            assert await http.post("/telegram/webhook", json=fake.text_update(user_id=user, text=f"/join {code}"))
            assert "You're now an admin" in fake.last_message(user).text
        before = len(fake.chat(user))
        response = await http.post("/telegram/webhook", json=fake.text_update(user_id=user, text=f"/{entry.command}"))
        assert response.status_code == 200
        text = "\n".join(m.text for m in fake.chat(user)[before:])
        assert text, f"/{entry.command} got no answer"
        assert SORRY not in text and UNKNOWN_BUTTON not in text and SUPPORT_ONLY not in text, (entry, text)
        if entry.command != "start":
            assert FIRST_QUESTION not in text, f"/{entry.command} started the walk-through instead"


# -- buttons: the digest's "Message them", and every payload the code emits --------------------------------------


async def test_the_digest_message_them_button_starts_a_broadcast(shipped: App) -> None:
    sessionmaker = shipped.bot.sessionmaker
    admin = Person_(shipped, "sam")
    await admin.say(f"join {await new_code(shipped, 'Brighton CVS', 'support_admin')}")
    async with sessionmaker() as session, session.begin():
        support = await session.scalar(select(Organisation).where(Organisation.name == "Brighton CVS"))
        member = Organisation(name="Hollybush Lunch Club", kind="member", support_org_id=support.id)
        person = Person(display_name="Ann")
        session.add_all([member, person])
        await session.flush()
        session.add(Identity(person_id=person.id, platform="console", platform_user_id="ann", chat_id="ann"))
        session.add(Membership(person_id=person.id, organisation_id=member.id, role="member"))
        grant = Grant(external_id="g-1", organisation_id=member.id, title="Lunch club grant")
        session.add(grant)
        await session.flush()
        session.add(Deadline(grant_id=grant.id, organisation_id=member.id, key="q1", title="Quarter 1",
                             due_date=date(2026, 11, 1)))  # fmt: skip
    assert await plan_digests(sessionmaker, NOW) == 1
    async with sessionmaker() as session:
        digest = await session.scalar(select(OutboxMessage).where(OutboxMessage.kind == "digest"))
    assert digest is not None and digest.chat_id == "sam"
    button = next(b for b in digest.payload["buttons"] if b["label"] == "Message them")
    said = await admin.say(payload=button["payload"])
    assert "What would you like to say?" in said, said


def emitted_payload_prefixes() -> dict[str, str]:
    """The prefix of every button payload written in svbot's code (`Button(label, "dl:...")`), read
    from the source, with where it is. Payloads made of the turn number are the engine's own."""
    found: dict[str, str] = {}
    for path in (ROOT / "svbot").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not (isinstance(node, ast.Call) and getattr(node.func, "id", None) == "Button"):
                continue
            payload = (
                node.args[1]
                if len(node.args) > 1
                else next((k.value for k in node.keywords if k.arg == "payload"), None)
            )
            first = payload.values[0] if isinstance(payload, ast.JoinedStr) else payload
            if isinstance(first, ast.Constant) and isinstance(first.value, str):
                found[first.value.split(":", 1)[0]] = f"{path.relative_to(ROOT)}:{node.lineno}"
    return found


def test_every_button_payload_the_code_emits_has_a_handler_in_the_shipped_bot(shipped: App) -> None:
    emitted = emitted_payload_prefixes()
    assert {"dl", "sv", "bc", "restart"} <= set(emitted), emitted  # the reader finds them
    handlers = shipped.bot.payload_handlers
    assert {p: where for p, where in emitted.items() if p not in handlers} == {}
    assert set(handlers) - set(emitted) == set(), "a handler for buttons nothing makes"


async def test_later_words_we_do_not_know_get_the_list_of_what_we_do(shipped: App) -> None:
    """A first message of any kind starts the walk-through; later, stray words (a broadcast typed after
    "nothing to send") get the help list, made from what the shipped bot can really do."""
    newcomer = Person_(shipped, "new")
    assert FIRST_QUESTION in await newcomer.say("Good morning!")
    known = Person_(shipped, "kim")
    await known.say(f"join {await new_code(shipped, 'Brighton CVS', 'support_admin')}")
    said = await known.say("Reports are due Friday. Ask us if you need help!")
    assert FIRST_QUESTION not in said and "Here's what I can do" in said
    for entry in shipped.bot.menu:
        assert (f"• {entry.command}: {entry.description}" in said) or (entry.roles and entry.command in said)
    assert "what does Brighton CVS do, and where?" in await known.say("start")  # its name is known: not asked


async def test_someone_who_joined_is_not_asked_their_organisations_name(shipped: App) -> None:
    member = Person_(shipped, "nia")
    await member.say(f"join {await new_code(shipped, 'Hollybush Lunch Club')}")
    said = await member.say("start")
    assert FIRST_QUESTION not in said
    assert "what does Hollybush Lunch Club do, and where?" in said
