"""`svbot demo`: a sample support organisation with members, people, grants, statements and monitoring
reports, so that the report, the dashboard and a broadcast show something at once.

Everything is loaded through svbot's own services, the code paths people use: the grants importer
(a 360Giving file shipped in this folder), programme settings, join codes redeemed in chat (`join
CODE`, on the console), the statement store of a finished walk-through, "share statement" and "share
report" said in chat, monitoring drafts, submissions and an extension. So the data is real data.

Sample rows are recognisable: the support organisation's identifier is `DEMO_ID`, its members' start
with `MEMBER_PREFIX` (the grants file's recipients), the people are console users named `sample-...`.
`remove` erases exactly those with svbot's own erasure (svbot/privacy/erase.py), then the traces an
erasure keeps on purpose (the log of requests, the hashed identifiers that stop a re-import), since
demo data was never anyone's. An organisation someone added to the sample CVS is set free, not erased.
"""

from __future__ import annotations

import re
import tempfile
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml
from sqlalchemy import delete, select

from svbot.deadlines.models import Deadline, Grant
from svbot.models import Identity, Organisation

if TYPE_CHECKING:
    from svbot.app import App

HERE = Path(__file__).resolve().parent
DEMO_ID = "svbot-demo"  # the sample support organisation's external_id
MEMBER_PREFIX = "360G-svbotdemo:"  # the sample members' external_id (their 360Giving org-id)
USER_PREFIX = "sample-"  # the sample people's console user names
REQUESTED_BY = "svbot demo"
BASE_YEAR = 2026  # the year the files' dates are written for (the 2026-27 report year)
_ISO_DAY = re.compile(r"\b(\d{4})-(\d{2})-(\d{2})\b")


class DemoError(ValueError):
    """The demo cannot be loaded (a sample file does not fit the code any more)."""


@dataclass
class Loaded:
    """What `load` made (or found, when the demo was there already)."""

    support_org_id: int
    period: str
    already: bool = False
    members: int = 0
    people: int = 0
    grants: int = 0
    deadlines: int = 0
    statements: int = 0
    reports: int = 0


async def find(app: App) -> int | None:
    """The sample support organisation's id, if the demo is loaded."""
    async with app.bot.sessionmaker() as session:
        return await session.scalar(
            select(Organisation.id).where(Organisation.external_id == DEMO_ID, Organisation.kind == "support")
        )


async def load(app: App, now: datetime, today: date) -> Loaded:
    """Load the demo once: a second call finds it and changes nothing."""
    from svbot.evidence import current_period

    year = demo_year(today)
    period = current_period(year)
    existing = await find(app)
    if existing is not None:
        return Loaded(existing, period, already=True)
    shift = year.year - BASE_YEAR
    sample = _sample(shift)
    people = {person["user"]: person for person in sample["people"]}
    loaded = Loaded(await _support(app, sample["support"], now), period)
    try:
        await _grants(app, loaded, shift, now)
        members = await _members(app, loaded.support_org_id)
        loaded.members = len(members)
        await _people(app, loaded, sample["people"], members, now)
        await _statements(app, loaded, sample, people, members, year, now)
        await _reports(app, loaded, sample["reports"], people, members, today)
    except Exception:
        await remove(app, now)  # half a demo would read as "already loaded" next time: none at all
        raise
    return loaded


async def remove(app: App, now: datetime) -> int | None:
    """Erase the demo's rows; None when it is not loaded. Returns the sample support organisation's id."""
    from svbot.privacy.erase import erase_organisation, erase_person
    from svbot.privacy.erased import external_id_hash
    from svbot.privacy.models import ErasedOrganisation, PrivacyRequest

    support_id = await find(app)
    async with app.bot.sessionmaker() as session, session.begin():
        ours = (Organisation.support_org_id == support_id, Organisation.external_id.startswith(MEMBER_PREFIX))
        members = (await session.execute(select(Organisation.id, Organisation.external_id).where(*ours))).all()
        people = list(await session.scalars(select(Identity.person_id).where(
            Identity.platform == "console", Identity.platform_user_id.startswith(USER_PREFIX))))  # fmt: skip
        if support_id is None and not people:
            return None
        for org_id, _ in members:
            await erase_organisation(session, org_id, now=now, requested_by=REQUESTED_BY)
        if support_id is not None:
            await erase_organisation(session, support_id, now=now, requested_by=REQUESTED_BY)
        for person_id in dict.fromkeys(people):
            await erase_person(session, person_id, now=now, requested_by=REQUESTED_BY)
        # An erasure keeps a log entry and the hashed identifier (so a re-import does not bring an
        # organisation back); sample data was nobody's, so neither is kept.
        hashes = [external_id_hash(external_id) for _, external_id in members] + [external_id_hash(DEMO_ID)]
        await session.execute(delete(ErasedOrganisation).where(ErasedOrganisation.external_id_hash.in_(hashes)))
        await session.execute(delete(PrivacyRequest).where(PrivacyRequest.requested_by == REQUESTED_BY))
    return support_id


def demo_year(today: date) -> date:
    """The first day of the report year the demo fills: the latest whose first half is over, so
    that some of its reports are due (and sent, or late) whatever the day."""
    half_a_year_ago = today - timedelta(days=183)
    start_year = half_a_year_ago.year if half_a_year_ago.month >= 4 else half_a_year_ago.year - 1
    return date(start_year, 4, 1)


# ---- the steps ---------------------------------------------------------------------------------------


def _sample(shift: int) -> dict[str, Any]:
    return yaml.safe_load(_shifted((HERE / "sample.yaml").read_text(encoding="utf-8"), shift))


def _shifted(text: str, years: int) -> str:
    """Every ISO date in `text` moved by whole years (the files use no 29 February)."""
    return _ISO_DAY.sub(lambda m: f"{int(m.group(1)) + years:04d}-{m.group(2)}-{m.group(3)}", text)


async def _support(app: App, support: dict[str, Any], now: datetime) -> int:
    from svbot.deadlines.programmes import ProgrammeSettings, set_programme

    async with app.bot.sessionmaker() as session, session.begin():
        organisation = Organisation(name=support["name"], kind="support", framework_id=support["framework"],
                                    external_id=DEMO_ID)  # fmt: skip
        session.add(organisation)
        await session.flush()
        programme = support["programme"]
        await set_programme(session, organisation.id, programme["code"], ProgrammeSettings(
            title=programme["title"], schedule=programme["schedule"], weighting=Decimal(programme["weighting"]),
            scored=programme["scored"]), now)  # fmt: skip
        return organisation.id


async def _grants(app: App, loaded: Loaded, shift: int, now: datetime) -> None:
    from svbot.deadlines.importer import import_grants

    text = _shifted((HERE / "grants.json").read_text(encoding="utf-8"), shift)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "sample-grants.json"
        path.write_text(text, encoding="utf-8")
        summary = await import_grants(app.bot.sessionmaker, path, now=now, support_org_id=loaded.support_org_id,
                                      timezone=app.settings.timezone)  # fmt: skip
    if summary.skipped:
        label, reasons = summary.skipped[0]
        raise DemoError(f"the sample grant {label} did not import: {'; '.join(reasons)}")
    loaded.grants, loaded.deadlines = summary.imported, summary.deadlines_created


async def _members(app: App, support_org_id: int) -> dict[str, int]:
    async with app.bot.sessionmaker() as session:
        rows = await session.execute(
            select(Organisation.name, Organisation.id).where(Organisation.support_org_id == support_org_id)
        )
        return {name: org_id for name, org_id in rows.all()}


async def _people(app: App, loaded: Loaded, people: list[dict[str, Any]], members: dict[str, int],
                  now: datetime) -> None:  # fmt: skip
    """Each person joins with a join code, typed in chat on the console, as a new member would."""
    from svbot.support.invites import create_invite

    for person in people:
        org_id = loaded.support_org_id if person["org"] == "support" else _org(members, person["org"])
        async with app.bot.sessionmaker() as session, session.begin():
            made = await create_invite(session, org_id, now, role=person["role"], days=1)
        said = await _typed(app, person, f"join {made.code}")
        async with app.bot.sessionmaker() as session:
            joined = await session.scalar(select(Identity.person_id).where(
                Identity.platform == "console", Identity.platform_user_id == person["user"]))  # fmt: skip
        if joined is None or made.organisation_name not in said:
            raise DemoError(f"{person['name']} could not join {made.organisation_name}: {said[:200]}")
        loaded.people += 1


async def _statements(app: App, loaded: Loaded, sample: dict[str, Any], people: dict[str, Any],
                      members: dict[str, int], year: date, now: datetime) -> None:  # fmt: skip
    """Finished walk-throughs, stored as the chat stores them, then shared by saying so in chat."""
    from svbot.evidence import store_statement

    this_year = (year, year.replace(month=9, day=30))  # the first half of the year
    last_year = (year.replace(year=year.year - 1), year - timedelta(days=1))
    framework = sample["support"]["framework"]
    for item in sample["statements"]:
        org_id = _org(members, item["org"])
        start, end = this_year if item["figures"] == "this_year" else last_year
        answers = {**item["answers"], "org.name": item["org"], "facts.period": "other",
                   "facts.period_start": start.isoformat(), "facts.period_end": end.isoformat()}  # fmt: skip
        async with app.bot.sessionmaker() as session, session.begin():
            conversation = await _conversation(session, item["by"])
            await store_statement(session, app.bot.knowledge, org_id, answers, framework, now,
                                  conversation_id=conversation)  # fmt: skip
        loaded.statements += 1
        if item.get("share"):
            await _typed(app, people[item["by"]], _words_of(app, "share"))


async def _reports(app: App, loaded: Loaded, reports: list[dict[str, Any]], people: dict[str, Any],
                   members: dict[str, int], today: date) -> None:  # fmt: skip
    """The year's monitoring reports: written (a draft, as the chat keeps it), submitted on the day
    given (or given a later date first), shared by saying "share report" in chat."""
    from svbot.deadlines.service import extend
    from svbot.monitoring import save_draft, submit

    for item in reports:
        org_id = _org(members, item["org"])
        async with app.bot.sessionmaker() as session, session.begin():
            deadlines = (await session.scalars(select(Deadline).join(Grant, Grant.id == Deadline.grant_id).where(
                Deadline.organisation_id == org_id).order_by(Deadline.due_date, Deadline.id))).all()  # fmt: skip
            deadline = deadlines[item["quarter"] - 1]
            first_due = deadline.due_date
            sent = min(first_due + timedelta(days=item["sent"]), today)
            if item.get("extend"):
                await extend(session, deadline.id, first_due + timedelta(days=item["extend"]),
                             _noon(first_due - timedelta(days=7)), app.settings.timezone)  # fmt: skip
            if item.get("answers"):
                await save_draft(session, deadline, item["answers"], [], _noon(sent - timedelta(days=3)))
            identity = await session.scalar(select(Identity.id).where(
                Identity.platform == "console", Identity.platform_user_id == item["by"]))  # fmt: skip
            if identity is None or await submit(session, deadline.id, identity, _noon(sent)) is None:
                raise DemoError(f"{item['org']} could not submit its report {deadline.title!r}")
        loaded.reports += 1
        if item.get("share"):
            await _typed(app, people[item["by"]], _words_of(app, "share_report"))


# ---- helpers -----------------------------------------------------------------------------------------


async def _typed(app: App, person: dict[str, Any], words: str) -> str:
    """Type `words` in chat as the person (the console channel's own Inbound); what svbot said back."""
    from svbot.messages import Inbound

    replies = await app.bot.handle(
        Inbound(
            platform="console", user_id=person["user"], chat_id=person["user"], text=words, user_name=person["name"]
        )  # fmt: skip
    )
    return "\n".join(reply.text or "" for reply in replies)


def _words_of(app: App, intent: str) -> str:
    """Words a person types for one of the bot's intents (`share`: "share statement", ...)."""
    found = next(i for i in app.bot.intents if i.name == intent)
    return min(w for w in found.words if not w.startswith("/"))


async def _conversation(session: Any, user: str) -> int | None:
    from svbot.models import Conversation

    return await session.scalar(select(Conversation.id).join(Identity, Identity.id == Conversation.identity_id).where(
        Identity.platform == "console", Identity.platform_user_id == user).limit(1))  # fmt: skip


def _org(members: dict[str, int], name: str) -> int:
    if name not in members:
        raise DemoError(f"the sample names {name!r}, which the sample grants did not create")
    return members[name]


def _noon(day: date) -> datetime:
    return datetime.combine(day, time(12), tzinfo=UTC)
