"""The staff dashboard over HTTP (issue 18), through the web app `svbot serve` builds: signing in with a
single-use link (from `svbot dashboard link` and from `dashboard` in chat), sessions and signing out,
CSRF on every form, only one's own support organisation, the overview, and searching members. The
same pages in a real browser, with an accessibility check, are in tests/browser/."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from svbot.app import App, build_app
from svbot.config import Settings
from svbot.dashboard import auth
from svbot.dashboard.models import AuditEntry
from svbot.deadlines.models import UPCOMING, Deadline, Grant
from svbot.messages import Inbound
from svbot.models import Identity, Membership, Organisation, Person
from svbot.paths import dialogues_dir
from svbot.support.models import Invite
from tests.conftest import ON_POSTGRES
from tests.reliability.support import svbot_env
from tests.scenario import Clock, ScenarioBot

NOW = datetime(2027, 3, 10, 10, 0, tzinfo=UTC)
PUBLIC = "http://dash.test"


@dataclass
class World:
    app: App
    clock: Clock
    http: httpx.AsyncClient
    brighton: int
    hastings: int
    sue: int  # Brighton's staff member (person id)


async def staff(app: App, name: str, organisation_id: int, role: str = "support_admin", user: str = "") -> int:
    async with app.bot.sessionmaker() as session, session.begin():
        person = Person(display_name=name)
        session.add(person)
        await session.flush()
        session.add(Membership(person_id=person.id, organisation_id=organisation_id, role=role))
        if user:
            session.add(Identity(person_id=person.id, platform="console", platform_user_id=user, chat_id=user))
        return person.id


@pytest.fixture
async def world(db_url: str) -> AsyncIterator[World]:
    clock = Clock(NOW)
    settings = Settings(DATABASE_URL=db_url, SVBOT_DIALOGUES_DIR=dialogues_dir(), SVBOT_PUBLIC_URL=PUBLIC,
                        SVBOT_SECRET_KEY="test-key-" + "x" * 32 if ON_POSTGRES else None)  # fmt: skip
    app = await build_app(settings, migrate=False, clock=clock)
    async with app.bot.sessionmaker() as session, session.begin():
        brighton = Organisation(name="Brighton CVS", kind="support")
        hastings = Organisation(name="Hastings CVS", kind="support")
        session.add_all([brighton, hastings])
        await session.flush()
        for n in range(120):  # enough for three pages
            org = Organisation(name=f"Group {n:03d}", kind="member", support_org_id=brighton.id)
            session.add(org)
            await session.flush()
            grant = Grant(external_id=f"g-{n}", organisation_id=org.id, support_org_id=brighton.id,
                          title=f"Grant {n}", programme="Warm Homes" if n % 2 else "")  # fmt: skip
            session.add(grant)
            await session.flush()
            due = date(2027, 2, 1) if n % 10 == 0 else date(2027, 3, 20)  # every tenth overdue
            session.add(Deadline(grant_id=grant.id, organisation_id=org.id, key="final", title="Final report",
                                 due_date=due, status=UPCOMING))  # fmt: skip
        session.add(Organisation(name="Hastings Lunch Club", kind="member", support_org_id=hastings.id))
        ids = brighton.id, hastings.id
    sue = await staff(app, "Sue", ids[0], user="sue")
    transport = httpx.ASGITransport(app=app.web_app())
    async with httpx.AsyncClient(transport=transport, base_url=PUBLIC) as http:
        yield World(app, clock, http, *ids, sue)
    await app.close()


async def link_for(world: World, person_id: int | None, support_org_id: int | None = None) -> str:
    async with world.app.bot.sessionmaker() as session, session.begin():
        return await auth.make_link(session, world.app.settings, support_org_id or world.brighton, person_id,
                                    world.clock.now)  # fmt: skip


async def sign_in(world: World, person_id: int | None = None, name: str = "") -> httpx.Response:
    path = (await link_for(world, person_id if person_id is not None else world.sue)).removeprefix(PUBLIC)
    page = await world.http.get(path)
    assert page.status_code == 200 and "Sign in" in page.text
    return await world.http.post(path, data={"name": name} if name else {})


def csrf(page: httpx.Response) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert found, page.text[:500]
    return found.group(1)


async def test_a_link_signs_in_once_and_the_overview_shows_the_support_organisation(world: World) -> None:
    path = (await link_for(world, world.sue)).removeprefix(PUBLIC)
    assert path.startswith("/dashboard/sign-in/")
    for _ in range(2):  # opening the link (a preview, a second look) does not use it up
        assert (await world.http.get(path)).status_code == 200
    signed = await world.http.post(path)
    assert signed.status_code == 303 and signed.headers["location"] == "/dashboard/"
    cookie = signed.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie.replace("Lax", "lax") and "Path=/dashboard" in cookie
    assert "Secure" not in cookie, "http here; Secure when SVBOT_PUBLIC_URL is https"
    overview = await world.http.get("/dashboard/")
    assert overview.status_code == 200
    text = overview.text
    assert "svbot dashboard: Brighton CVS" in text and "Signed in as Sue" in text
    assert re.search(r'<span class="big">120</span> member organisations', text)
    assert re.search(r'<span class="big">12</span> reports overdue', text), "every tenth group"
    assert re.search(r'<span class="big">108</span> reports due this month', text)
    assert "Hastings" not in text, "only their own support organisation"
    assert "Sue signed in" in text, "the audit log"
    assert overview.headers["x-frame-options"] == "DENY" and "no-store" in overview.headers["cache-control"]

    used = await world.http.post(path)
    assert used.status_code == 410 and "no longer works" in used.text


async def test_an_expired_or_unknown_link_and_a_forged_cookie_are_refused(world: World) -> None:
    path = (await link_for(world, world.sue)).removeprefix(PUBLIC)
    world.clock.advance(minutes=16)
    assert (await world.http.get(path)).status_code == 410
    assert (await world.http.post(path)).status_code == 410
    assert (await world.http.get("/dashboard/sign-in/nonsense")).status_code == 410
    world.http.cookies.set(auth.COOKIE, "forged.value", domain="dash.test", path="/dashboard")
    refused = await world.http.get("/dashboard/")
    assert refused.status_code == 401 and "Please sign in first" in refused.text
    async with world.app.bot.sessionmaker() as session:
        assert await session.scalar(select(func.count()).select_from(AuditEntry)) == 0


async def test_the_first_staff_member_names_themselves(world: World) -> None:
    path = (await link_for(world, None)).removeprefix(PUBLIC)
    page = await world.http.get(path)
    assert 'label for="name"' in page.text
    nameless = await world.http.post(path, data={"name": "   "})
    assert nameless.status_code == 400 and "Please tell us your name" in nameless.text
    assert (await world.http.post(path, data={"name": "Priya  Shah"})).status_code == 303
    assert "Signed in as Priya Shah" in (await world.http.get("/dashboard/")).text
    async with world.app.bot.sessionmaker() as session:
        role = await session.scalar(
            select(Membership.role).join(Person, Person.id == Membership.person_id)
            .where(Person.display_name == "Priya Shah", Membership.organisation_id == world.brighton)
        )  # fmt: skip
    assert role == "support_admin"


async def test_members_search_filter_and_pages(world: World) -> None:
    assert (await sign_in(world)).status_code == 303
    first = await world.http.get("/dashboard/members")
    assert "120 member organisations found." in first.text and "Page 1 of 3" in first.text
    assert first.text.count('<th scope="row">') == 50
    last = await world.http.get("/dashboard/members?page=3")
    assert last.text.count('<th scope="row">') == 20 and "Group 119" in last.text
    assert (await world.http.get("/dashboard/members?page=99")).text.count("Page 3 of 3") == 1
    found = await world.http.get("/dashboard/members", params={"q": "group 01"})
    assert "10 member organisations found." in found.text and "Group 010" in found.text
    late = await world.http.get("/dashboard/members", params={"show": "overdue"})
    assert "12 member organisations found." in late.text and "Group 010" in late.text
    warm = await world.http.get("/dashboard/members", params={"programme": "Warm Homes", "q": "%"})
    assert "0 member organisations found." in warm.text, "a typed % matches itself, not everything"
    warm = await world.http.get("/dashboard/members", params={"programme": "Warm Homes"})
    assert "60 member organisations found." in warm.text
    nobody = await world.http.get("/dashboard/members", params={"show": "no_people"})
    assert "120 member organisations found." in nobody.text
    odd = await world.http.get("/dashboard/members", params={"q": "<script>alert(1)</script>", "page": "x"})
    assert odd.status_code == 200 and "<script>alert" not in odd.text


async def test_join_codes_need_the_csrf_token_and_another_support_organisation_is_403(world: World) -> None:
    assert (await sign_in(world)).status_code == 303
    async with world.app.bot.sessionmaker() as session:
        group = await session.scalar(select(Organisation.id).where(Organisation.name == "Group 005"))
        theirs = await session.scalar(select(Organisation.id).where(Organisation.name == "Hastings Lunch Club"))
    page = await world.http.get(f"/dashboard/members/{group}")
    assert (
        page.status_code == 200 and "<h1>Group 005</h1>" in page.text and "No one from this organisation" in page.text
    )
    calendar = re.search(r'id="calendar-url" type="text" readonly value="http://dash\.test(/dashboard/calendar/[^"]+\.ics)"',
                         page.text)  # fmt: skip
    assert calendar and f'href="/dashboard/deadlines?org={group}"' in page.text
    world.http.cookies.clear()
    feed = await world.http.get(calendar.group(1))
    assert feed.status_code == 200 and "BEGIN:VCALENDAR" in feed.text, "the secret address works without a cookie"
    assert (await sign_in(world)).status_code == 303
    page = await world.http.get(f"/dashboard/members/{group}")
    token = csrf(page)
    assert 'href="/dashboard/members.csv"' in (await world.http.get("/dashboard/members")).text

    forged = await world.http.post(f"/dashboard/members/{group}/join-codes", data={"role": "member"})
    assert forged.status_code == 403
    wrong = await world.http.post(f"/dashboard/members/{group}/join-codes", data={"role": "member", "csrf": "x"})
    assert wrong.status_code == 403
    async with world.app.bot.sessionmaker() as session:
        assert await session.scalar(select(func.count()).select_from(Invite)) == 0, "nothing changed"

    made = await world.http.post(f"/dashboard/members/{group}/join-codes", data={"role": "org_admin", "csrf": token})
    code = re.search(r'<p class="code">([A-Z0-9-]+)</p>', made.text)
    assert made.status_code == 200 and code, made.text[:800]
    assert f"send join {code.group(1)} to svbot" in made.text
    assert "Joins as organisation admin: 1 use left, until Wed 24 Mar 2027" in made.text
    async with world.app.bot.sessionmaker() as session:
        invite = await session.scalar(select(Invite))
        assert invite is not None and invite.role == "org_admin" and invite.created_by_person_id == world.sue
    revoked = await world.http.post(f"/dashboard/members/{group}/join-codes/{invite.id}/revoke",
                                    data={"csrf": token}, follow_redirects=True)  # fmt: skip
    assert "No join codes waiting to be used." in revoked.text
    overview = (await world.http.get("/dashboard/")).text
    assert "Sue made a join code for Group 005" in overview and "Sue revoked a join code for Group 005" in overview

    assert (await world.http.get(f"/dashboard/members/{theirs}")).status_code == 403
    stolen = await world.http.post(f"/dashboard/members/{theirs}/join-codes", data={"role": "member", "csrf": token})
    assert stolen.status_code == 403
    assert (await world.http.get("/dashboard/members/999999")).status_code == 403


async def test_signing_out_ends_the_session_even_for_a_copied_cookie(world: World) -> None:
    assert (await sign_in(world)).status_code == 303
    page = await world.http.get("/dashboard/")
    copied = world.http.cookies.get(auth.COOKIE)
    assert (await world.http.post("/dashboard/sign-out", data={})).status_code == 403, "sign-out needs its token"
    out = await world.http.post("/dashboard/sign-out", data={"csrf": csrf(page)})
    assert out.status_code == 200 and "signed out" in out.text
    world.http.cookies.set(auth.COOKIE, copied or "", domain="dash.test", path="/dashboard")
    assert (await world.http.get("/dashboard/")).status_code == 401


async def test_someone_no_longer_staff_is_signed_out(world: World) -> None:
    assert (await sign_in(world)).status_code == 303
    async with world.app.bot.sessionmaker() as session, session.begin():
        row = await session.scalar(select(Membership).where(Membership.person_id == world.sue))
        row.role = "member"
    assert (await world.http.get("/dashboard/")).status_code == 401


async def test_dashboard_in_chat_gives_a_support_admin_a_private_link(world: World) -> None:
    sue = ScenarioBot(world.app.bot, user="sue")
    await sue.say("dashboard")
    message = sue.last_message
    link = re.search(r"(http://dash\.test/dashboard/sign-in/\S+)", message.text)
    assert link and message.private and "works once, for 15 minutes" in message.text
    assert (await world.http.post(link.group(1).removeprefix(PUBLIC))).status_code == 303

    await staff(world.app, "Mo", world.brighton, role="member", user="mo")  # not staff
    mo = ScenarioBot(world.app.bot, user="mo")
    await mo.say("dashboard")
    assert "for the staff of a support organisation" in mo.last and "sign-in" not in mo.last
    group = Inbound(platform="console", user_id="sue", chat_id="room", text="dashboard", is_group=True,
                    user_name="Sue")  # fmt: skip
    replies = await world.app.bot.handle(group)
    assert replies[0].take_private and "http" not in replies[0].text, "never a link in a shared chat"


@pytest.mark.skipif(ON_POSTGRES, reason="the key is generated only for the embedded SQLite default")
def test_svbot_dashboard_link_from_the_command_line(db_url: str, tmp_path: Path) -> None:
    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "svbot.cli", *args], capture_output=True, text=True,
                              env=svbot_env(db_url, SVBOT_PUBLIC_URL="https://svbot.example.org"), cwd=tmp_path,
                              timeout=120)  # fmt: skip

    none = run("dashboard", "link")
    assert none.returncode != 0 and "svbot support create" in none.stderr and "Traceback" not in none.stderr
    assert run("support", "create", "Brighton CVS").returncode == 0
    made = run("dashboard", "link")
    assert made.returncode == 0, made.stderr
    assert re.fullmatch(r"https://svbot\.example\.org/dashboard/sign-in/[\w-]{40,}\n", made.stdout)
    assert "works once, for 15 minutes" in made.stderr
    wrong = run("dashboard", "link", "--support-org", "1", "--user", "77")
    assert wrong.returncode != 0 and "No person with id 77." in wrong.stderr


async def test_two_presses_of_one_link_sign_in_once(world: World) -> None:
    import asyncio

    path = (await link_for(world, None)).removeprefix(PUBLIC)
    first, second = await asyncio.gather(
        world.http.post(path, data={"name": "Ann"}), world.http.post(path, data={"name": "Ann"})
    )
    assert sorted([first.status_code, second.status_code]) == [303, 410]
    async with world.app.bot.sessionmaker() as session:
        named = await session.scalar(select(func.count()).select_from(Person).where(Person.display_name == "Ann"))
    assert named == 1, "one staff member made, not two"
