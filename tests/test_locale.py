"""A locale on the conversation and the organisation (issue 13, item 5): Welsh is data files only.

The tests add a small "Welsh" (`cy.yaml`, a few keys) and Welsh dialogue files (`dialogues/cy/`, the
English files with every question marked) to copies of svbot's own, set an organisation's locale
with the `svbot support set-locale` command, and talk to the app as `svbot chat` builds it: a member
of that organisation hears Welsh in chat, in reminders and in broadcasts, a member of another
organisation hears English, and a key the Welsh file lacks is said in English.
"""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import yaml
from click.testing import CliRunner
from sqlalchemy import select, update

import svbot.text
from svbot.app import App, open_app
from svbot.channels.slack.render import render, render_choice_made
from svbot.cli.support import support as support_command
from svbot.config import Settings, get_settings
from svbot.deadlines.models import UPCOMING, Deadline, Grant
from svbot.deadlines.planner import plan_reminders
from svbot.deadlines.schedules import ReminderRules
from svbot.deadlines.service import set_cursor
from svbot.delivery.models import OutboxMessage
from svbot.dialogue.spec import DialogueError, load_dialogues
from svbot.knowledge import load_knowledge
from svbot.messages import Inbound, Outbound
from svbot.models import Conversation, Identity, Organisation
from svbot.paths import dialogues_dir, knowledge_dir
from svbot.statements import Numbers, ObjectiveEvidence, StatementInput, compose
from svbot.statements import render as render_statement
from svbot.support import broadcasts
from svbot.support.digest import plan_digests
from svbot.support.invites import create_invite
from svbot.text import current_locale, speaking, text
from svbot.turn_sql import TurnQueries, statements, transaction

LONDON = ZoneInfo("Europe/London")
NOW = datetime(2027, 1, 26, 9, 0, tzinfo=LONDON).astimezone(UTC)  # 3 days before DUE: a reminder is due
DUE = date(2027, 1, 29)
MARK = "Cymraeg: "  # what the Welsh dialogue files put before every question

WELSH = """\
core:
  start:
    hello: "Helo! Svbot ydw i."
  help:
    heading: "Dyma beth alla i ei wneud:"
    menu: "Beth alla i ei wneud"
deadlines:
  reminder:
    due: "Nodyn atgoffa: mae {what} i fod {when}."
    submitted_button: "Wedi'i gyflwyno"
support:
  broadcast:
    message: "Neges gan {support}:\\n\\n{message}"
  digest:
    none: "Crynodeb wythnosol {support}: dim byd yn hwyr."
channels:
  slack:
    pick_a_date: "Dewiswch ddyddiad"
    chose: "Dewisoch chi: {choice}"
statement:
  language: "cy"
  section:
    records_only: "Mae ein cofnodion presenoldeb yn dangos pwy sy'n dod a pha mor aml."
  notes:
    heading: "Nodiadau i chi, nid i'r cais"
"""


# -- Welsh, as data files ------------------------------------------------------------------------------


@pytest.fixture
def texts_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A copy of svbot's text files with a small cy.yaml; svbot reads it instead of its own."""
    folder = tmp_path / "texts"
    folder.mkdir()
    shutil.copy(Path(svbot.text.__file__).parent / "texts" / "en.yaml", folder / "en.yaml")
    (folder / "cy.yaml").write_text(WELSH, encoding="utf-8")
    monkeypatch.setattr(svbot.text, "TEXTS_DIR", folder)
    svbot.text.reload()
    yield folder
    monkeypatch.undo()
    svbot.text.reload()


def _mark_questions(node: Any) -> Any:
    """The English dialogue with every question (`ask`) in "Welsh": same steps, other words."""
    if isinstance(node, dict):
        marked = {key: _mark_questions(value) for key, value in node.items()}
        if isinstance(marked.get("ask"), str):
            marked["ask"] = MARK + marked["ask"]
        return marked
    if isinstance(node, list):
        return [_mark_questions(item) for item in node]
    return node


@pytest.fixture
def welsh_dialogues(tmp_path: Path) -> Path:
    """A copy of the shipped dialogues with a Welsh translation of each in dialogues/cy/."""
    folder = tmp_path / "dialogues"
    shutil.copytree(dialogues_dir(), folder)
    (folder / "cy").mkdir()
    for path in sorted(folder.glob("*.yaml")):
        english = yaml.safe_load(path.read_text(encoding="utf-8"))
        (folder / "cy" / path.name).write_text(yaml.safe_dump(_mark_questions(english), allow_unicode=True))
    return folder


@pytest.fixture
async def app(db_url: str, texts_dir: Path, welsh_dialogues: Path) -> AsyncIterator[App]:
    """The app as `svbot chat` builds it, on those dialogues."""
    async with open_app(Settings(DATABASE_URL=db_url, SVBOT_DIALOGUES_DIR=welsh_dialogues), migrate=False) as app:
        yield app


@pytest.fixture
def operator(db_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[CliRunner]:
    """Runs `svbot support ...` on the test's database, as an operator would."""
    monkeypatch.setenv("DATABASE_URL", db_url)
    get_settings.cache_clear()
    yield CliRunner()
    get_settings.cache_clear()


def set_locale(runner: CliRunner, org_id: int, locale: str) -> Any:
    return runner.invoke(support_command, ["set-locale", str(org_id), locale])


# -- people in chat ----------------------------------------------------------------------------------------


class Member:
    def __init__(self, app: App, user: str) -> None:
        self.app, self.user = app, user
        self.replies: list[Outbound] = []

    async def say(self, said: str) -> str:
        inbound = Inbound(platform="console", user_id=self.user, chat_id=self.user, text=said, user_name=self.user)
        self.replies = await self.app.bot.handle(inbound)
        return "\n".join(m.text for m in self.replies)


async def organisation(app: App, name: str, kind: str = "member", support_org_id: int | None = None) -> int:
    async with app.bot.sessionmaker() as session, session.begin():
        row = Organisation(name=name, kind=kind, support_org_id=support_org_id)
        session.add(row)
        await session.flush()
        return row.id


async def joined(app: App, user: str, org_id: int, role: str = "member") -> Member:
    async with app.bot.sessionmaker() as session, session.begin():
        code = (await create_invite(session, org_id, NOW, role=role)).code
    member = Member(app, user)
    assert "You're now" in await member.say(f"join {code}")
    return member


async def due_report(app: App, org_id: int) -> None:
    async with app.bot.sessionmaker() as session, session.begin():
        grant = Grant(external_id=f"g-{org_id}", organisation_id=org_id, title="Lunch club grant")
        session.add(grant)
        await session.flush()
        deadline = Deadline(grant_id=grant.id, organisation_id=org_id, key="q1", title="Quarter 1", due_date=DUE)
        deadline.status = UPCOMING
        set_cursor(deadline, ReminderRules(), datetime(2026, 12, 1, 12, 0, tzinfo=UTC))
        session.add(deadline)


async def outbox_for(app: App, user: str, kind: str) -> list[dict[str, Any]]:
    async with app.bot.sessionmaker() as session:
        rows = await session.scalars(
            select(OutboxMessage)
            .join(Identity, Identity.id == OutboxMessage.identity_id)
            .where(Identity.platform_user_id == user, OutboxMessage.kind == kind)
        )
        return [row.payload for row in rows]


# -- the tests ------------------------------------------------------------------------------------------


async def test_a_welsh_organisation_hears_welsh_in_chat_reminders_and_broadcasts(app: App, operator: CliRunner) -> None:
    support = await organisation(app, "Cymorth Cymru", kind="support")
    welsh_org = await organisation(app, "Clwb Cinio", support_org_id=support)
    english_org = await organisation(app, "Hollybush Lunch Club", support_org_id=support)
    done = await asyncio.to_thread(set_locale, operator, welsh_org, "cy")  # the CLI runs its own event loop
    assert done.exit_code == 0, done.output
    assert "Clwb Cinio" in done.output and "cy" in done.output

    ann, bob = await joined(app, "ann", welsh_org), await joined(app, "bob", english_org)

    # Chat: the member's turns speak the organisation's locale; the other organisation's stay English.
    ann_help, bob_help = await asyncio.gather(ann.say("help"), bob.say("help"))  # at once: no mixing
    assert ann_help.startswith("Dyma beth alla i ei wneud:")
    assert "• help: Beth alla i ei wneud" in ann_help  # a menu entry registered at start-up, in Welsh
    assert text("core.help.in_a_walk_through", "en") in ann_help  # not in cy.yaml: English
    assert bob_help.startswith("Here's what I can do (type the word):")
    assert "• help: What I can do" in bob_help and "Dyma" not in bob_help
    assert current_locale() == "en", "a turn's locale ends with the turn"

    ann_start, bob_start = await ann.say("hi"), await bob.say("hi")
    assert ann_start.startswith("Helo! Svbot ydw i.")
    assert MARK in ann_start, "the question comes from dialogues/cy/"
    assert all(m.meta.get("locale") == "cy" for m in ann.replies)
    assert bob_start.startswith(text("core.start.hello", "en")) and MARK not in bob_start
    assert all("locale" not in m.meta for m in bob.replies)
    assert MARK in await ann.say("status")  # the next turn too, in the middle of the walk-through

    # A person's own conversation locale comes before the organisation's.
    async with app.bot.sessionmaker() as session, session.begin():
        await session.execute(update(Conversation).where(Conversation.key == "console:bob:bob").values(locale="cy"))
    assert MARK in await bob.say("status")

    # Reminders: in each recipient organisation's language; the button Welsh lacks, in English.
    await due_report(app, welsh_org)
    await due_report(app, english_org)
    assert (await plan_reminders(app.bot.sessionmaker, NOW)).queued == 2
    [ann_reminder], [bob_reminder] = await outbox_for(app, "ann", "reminder"), await outbox_for(app, "bob", "reminder")
    assert ann_reminder["text"].startswith("Nodyn atgoffa: mae Quarter 1 for Lunch club grant i fod ")
    assert [b["label"] for b in ann_reminder["buttons"]] == [
        "Wedi'i gyflwyno",
        text("deadlines.reminder.snooze_button", "en"),
        text("deadlines.reminder.help_button", "en"),
    ]
    assert ann_reminder["meta"]["locale"] == "cy"
    assert bob_reminder["text"].startswith("Reminder: Quarter 1 for Lunch club grant is due ")
    assert bob_reminder["buttons"][0]["label"] == "Submitted" and "locale" not in bob_reminder["meta"]

    # A broadcast: svbot's words in each member's language, the admin's words as written.
    async with app.bot.sessionmaker() as session, session.begin():
        row = await broadcasts.draft(session, support, broadcasts.Audience("all"), "Funding surgery, Tuesday 10am.")
        assert await broadcasts.queue(session, row, NOW, NOW.date()) == 2
    [ann_news], [bob_news] = await outbox_for(app, "ann", "broadcast"), await outbox_for(app, "bob", "broadcast")
    assert ann_news["text"] == "Neges gan Cymorth Cymru:\n\nFunding surgery, Tuesday 10am."
    assert bob_news["text"] == "Message from Cymorth Cymru:\n\nFunding surgery, Tuesday 10am."


async def test_a_digest_speaks_its_support_organisations_locale(app: App, operator: CliRunner) -> None:
    welsh, english = await organisation(app, "Cymorth", kind="support"), await organisation(app, "CVS", kind="support")
    assert (await asyncio.to_thread(set_locale, operator, welsh, "cy")).exit_code == 0
    await joined(app, "sian", welsh, role="support_admin")
    await joined(app, "sam", english, role="support_admin")
    monday = datetime(2027, 1, 25, 9, 30, tzinfo=LONDON).astimezone(UTC)
    assert await plan_digests(app.bot.sessionmaker, monday) == 2
    [sian], [sam] = await outbox_for(app, "sian", "digest"), await outbox_for(app, "sam", "digest")
    assert sian["text"] == "Crynodeb wythnosol Cymorth: dim byd yn hwyr."
    assert sam["text"] == text("support.digest.none", "en", support="CVS")


def test_an_operator_cannot_choose_a_language_svbot_has_no_texts_for(
    texts_dir: Path, operator: CliRunner, db_url: str
) -> None:
    async def make() -> int:
        async with open_app(Settings(DATABASE_URL=db_url), migrate=False) as app:
            return await organisation(app, "Clwb Cinio")

    org_id = asyncio.run(make())
    refused = set_locale(operator, org_id, "fr")
    assert refused.exit_code == 1
    assert refused.output.strip().splitlines() == [
        "svbot: svbot has no texts in 'fr' (a language is svbot/texts/LOCALE.yaml); it has: en, cy"
    ]
    assert set_locale(operator, org_id, "../../etc/passwd").exit_code == 1
    assert "No organisation with id 999." in set_locale(operator, 999, "cy").output

    async def locale() -> str | None:
        async with open_app(Settings(DATABASE_URL=db_url), migrate=False) as app, app.bot.sessionmaker() as session:
            return (await session.get(Organisation, org_id)).locale  # type: ignore[union-attr]

    assert asyncio.run(locale()) is None
    assert set_locale(operator, org_id, "cy").exit_code == 0 and asyncio.run(locale()) == "cy"
    assert set_locale(operator, org_id, "en").exit_code == 0 and asyncio.run(locale()) is None  # English: NULL


def test_a_translated_dialogue_must_keep_the_step_ids(welsh_dialogues: Path) -> None:
    dialogues = load_dialogues(welsh_dialogues)
    first = dialogues["organisation"].steps[0]
    with speaking("cy"):
        assert dialogues["organisation"].steps[0].ask == MARK + (first.ask or "")
    with speaking("cy-GB"):  # a regional locale uses its language's files
        assert dialogues["organisation"].steps[0].ask == MARK + (first.ask or "")
    with speaking("fr"):
        assert dialogues["organisation"] is dict.__getitem__(dialogues, "organisation")

    path = welsh_dialogues / "cy" / "organisation.yaml"
    translated = yaml.safe_load(path.read_text(encoding="utf-8"))
    translated["steps"][0]["id"] = "enw"
    path.write_text(yaml.safe_dump(translated, allow_unicode=True), encoding="utf-8")
    with pytest.raises(DialogueError, match=r"^cy/organisation\.yaml: step 'enw' where organisation\.yaml has step"):
        load_dialogues(welsh_dialogues)

    translated["steps"][0]["id"] = first.id
    translated["steps"].pop()
    path.write_text(yaml.safe_dump(translated, allow_unicode=True), encoding="utf-8")
    with pytest.raises(DialogueError, match=r"^cy/organisation\.yaml: lacks step"):
        load_dialogues(welsh_dialogues)


def test_slack_says_its_own_words_in_the_messages_locale(texts_dir: Path) -> None:
    def placeholder(message: Outbound) -> str:
        [picker] = [e for b in render(message)[-1].blocks if b["type"] == "actions" for e in b["elements"]]
        return picker["placeholder"]["text"]

    assert placeholder(Outbound(text="When?", input_hint="date", meta={"locale": "cy"})) == "Dewiswch ddyddiad"
    assert placeholder(Outbound(text="When?", input_hint="date")) == "Pick a date"
    note = render_choice_made([], "Ie", "cy")[-1]["elements"][0]["text"]
    assert note == "Dewisoch chi: Ie"
    assert render_choice_made([], "Yes")[-1]["elements"][0]["text"] == "You chose: Yes"


async def test_the_turn_reads_the_locale_the_same_both_ways(app: App) -> None:
    """The load statement gives the conversation's locale, else its organisation's, on the driver path
    and through SQLAlchemy alike."""
    org_id = await organisation(app, "Clwb Cinio")
    ann = Member(app, "ann")
    await ann.say("hi")
    async with app.bot.sessionmaker() as session, session.begin():
        await session.execute(update(Organisation).where(Organisation.id == org_id).values(locale="cy"))
        await session.execute(update(Conversation).values(organisation_id=org_id))
    key = {"key": "console:ann:ann"}
    for conversation_locale, expected in ((None, "cy"), ("cy-GB", "cy-GB")):
        async with app.bot.sessionmaker() as session, session.begin():
            await session.execute(update(Conversation).values(locale=conversation_locale))
        async with transaction(app.bot.db_engine) as connection:
            fast = await TurnQueries.bind(connection)
            plain = TurnQueries(connection, {name: s for name, (s, _) in statements(connection.dialect).items()})
            assert (await fast.first("load", key))["locale"] == expected  # type: ignore[index]
            assert (await plain.first("load", key))["locale"] == expected  # type: ignore[index]


def test_a_welsh_statement_is_data_files_only(texts_dir: Path) -> None:
    """A statement composed and rendered while speaking Welsh: the sentence and the heading cy.yaml has
    are in Welsh, every other one falls back to English; outside `speaking`, the same statement is English."""
    knowledge = load_knowledge(knowledge_dir())
    data = StatementInput(
        org_name="Clwb Cinio",
        framework_id="building_social_capital",
        numbers=Numbers(people_reached=140),
        objectives=[ObjectiveEvidence(objective_id="less_isolation", evidence_kinds=["attendance_records"])],
    )
    records = "Mae ein cofnodion presenoldeb yn dangos pwy sy'n dod a pha mor aml."
    heading = "Nodiadau i chi, nid i'r cais"
    with speaking("cy"):
        welsh = compose(data, knowledge)
        markdown, html = render_statement(welsh, "md"), render_statement(welsh, "html")

    evidence = welsh.sections[0].part("evidence")
    assert evidence is not None and evidence.text == records
    assert welsh.opening[0].text == "We reached 140 people."  # not in cy.yaml: English
    assert welsh.sections[0].evidence_note == text("statement.why.figures_and_records", "en")
    assert welsh.gaps[0].problem == text("statement.gap.no_what.problem", "en")
    assert f"## {heading}" in markdown and text("statement.notes.heading", "en") not in markdown
    assert text("statement.notes.gaps", "en") in markdown and records in markdown
    assert '<html lang="cy">' in html and f"<h2 id=\"notes\">{heading}</h2>" in html  # svbot's own: not escaped

    english = compose(data, knowledge)
    evidence = english.sections[0].part("evidence")
    assert evidence is not None and evidence.text == text("statement.section.records_only", "en") != records
    assert '<html lang="en-GB">' in render_statement(english, "html")
