"""The staff dashboard in a real browser (issue 18): Debian's Chromium driven by Playwright, against the
web app `svbot serve` builds, served by uvicorn on 127.0.0.1. Signing in by link, a used link refused,
the overview, searching 5,000 members, another support organisation's page refused, a form without its
CSRF token refused, and axe-core on every page (no serious or critical findings).

Without Chromium these tests skip with one line; in CI (`CI=true`) they must run, so they fail instead.
With SVBOT_WRITE_SCREENSHOTS=1 the overview test writes the README's picture (docs/images/).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from sqlalchemy import insert, select

from svbot.app import App, build_app
from svbot.config import Settings
from svbot.dashboard import auth
from svbot.deadlines.models import UPCOMING, Deadline, Grant
from svbot.models import Organisation
from svbot.paths import dialogues_dir
from tests.conftest import ON_POSTGRES
from tests.scenario import Clock
from tests.serving import serve_app

CHROMIUM = os.environ.get("SVBOT_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
if not CHROMIUM:
    if os.environ.get("CI"):
        raise RuntimeError("CI must run the browser tests: install Chromium (apt-get install chromium)")
    pytest.skip("no Chromium here (apt-get install chromium); the browser tests need it", allow_module_level=True)

from axe_playwright_python.async_playwright import Axe  # noqa: E402
from playwright.async_api import Browser, Page, async_playwright  # noqa: E402

pytestmark = pytest.mark.one_database  # see tests/conftest.py

ROOT = Path(__file__).resolve().parents[2]
NOW = datetime(2027, 3, 10, 10, 0, tzinfo=UTC)
MEMBERS = 5000


@dataclass
class Site:
    app: App
    url: str
    browser: Browser
    brighton: int
    hastings_member: int


@pytest.fixture
async def site(db_url: str) -> AsyncIterator[Site]:
    settings = Settings(DATABASE_URL=db_url, SVBOT_DIALOGUES_DIR=dialogues_dir(), SVBOT_PUBLIC_URL="http://unused",
                        SVBOT_SECRET_KEY="browser-test-" + "k" * 32 if ON_POSTGRES else None)  # fmt: skip
    app = await build_app(settings, migrate=False, clock=Clock(NOW))
    async with app.bot.sessionmaker() as session, session.begin():
        brighton = Organisation(name="Brighton CVS", kind="support")
        hastings = Organisation(name="Hastings CVS", kind="support")
        session.add_all([brighton, hastings])
        await session.flush()
        # 5,000 members, each with a grant and a report (one in ten overdue, the rest spread over six
        # months), inserted in bulk.
        await session.execute(insert(Organisation), [
            {"name": f"Community Group {n:04d}", "kind": "member", "support_org_id": brighton.id}
            for n in range(MEMBERS)
        ])  # fmt: skip
        ids = list(await session.scalars(select(Organisation.id).where(Organisation.support_org_id == brighton.id)))
        await session.execute(insert(Grant), [
            {"external_id": f"g-{i}", "organisation_id": i, "support_org_id": brighton.id, "title": "Grant"}
            for i in ids
        ])  # fmt: skip
        grants = dict((await session.execute(select(Grant.organisation_id, Grant.id))).all())
        await session.execute(insert(Deadline), [
            {"grant_id": grants[i], "organisation_id": i, "key": "final", "title": "Final report",
             "due_date": date(2027, 2, 1) if i % 10 == 0 else date(2027, 3 + i % 6, 25), "status": UPCOMING}
            for i in ids
        ])  # fmt: skip
        theirs = Organisation(name="Hastings Lunch Club", kind="member", support_org_id=hastings.id)
        session.add(theirs)
        await session.flush()
        ids = brighton.id, theirs.id
    async with serve_app(app.web_app()) as url, async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            yield Site(app, url, browser, *ids)
        finally:
            await browser.close()
    await app.close()


async def link(site: Site, person_id: int | None = None) -> str:
    async with site.app.bot.sessionmaker() as session, session.begin():
        made = await auth.make_link(session, site.app.settings, site.brighton, person_id, NOW)
    return site.url + made.removeprefix("http://unused")


async def signed_in(site: Site, name: str = "Sue Patel") -> Page:
    page = await site.browser.new_page()
    await page.goto(await link(site))
    await page.get_by_label("Your name").fill(name)
    await page.get_by_role("button", name="Sign in").click()
    await page.wait_for_url("**/dashboard/")
    return page


async def no_serious_findings(page: Page) -> None:
    results = await Axe().run(page)
    serious = [v for v in results.response["violations"] if v.get("impact") in ("serious", "critical")]
    assert not serious, [(v["id"], v["help"], [n["target"] for n in v["nodes"]][:3]) for v in serious]


async def test_sign_in_by_link_then_the_overview(site: Site) -> None:
    sign_in = await site.browser.new_page()
    first = await link(site)
    await sign_in.goto(first)
    await no_serious_findings(sign_in)
    await sign_in.get_by_role("button", name="Sign in").click()  # no name yet: asked kindly
    assert await sign_in.get_by_label("Your name").is_visible()
    await sign_in.get_by_label("Your name").fill("Sue Patel")
    await sign_in.get_by_role("button", name="Sign in").click()
    await sign_in.wait_for_url("**/dashboard/")
    assert await sign_in.get_by_role("heading", level=1).inner_text() == "Overview"
    body = await sign_in.locator("main").inner_text()
    assert "5,000\nmember organisations" in body and "500\nreports overdue" in body
    assert "Signed in as Sue Patel" in await sign_in.locator("header").inner_text()
    await no_serious_findings(sign_in)
    if os.environ.get("SVBOT_WRITE_SCREENSHOTS"):
        await sign_in.set_viewport_size({"width": 1100, "height": 900})
        await sign_in.screenshot(path=str(ROOT / "docs" / "images" / "dashboard-overview.png"), full_page=True)

    again = await site.browser.new_page()  # the same link, used: refused
    response = await again.goto(first)
    assert response is not None and response.status == 410
    assert "This sign-in link no longer works" in await again.locator("h1").inner_text()
    await no_serious_findings(again)


async def test_searching_five_thousand_members_and_a_member_page(site: Site) -> None:
    page = await signed_in(site)
    await page.get_by_role("link", name="Members", exact=True).click()
    assert "5,000 member organisations found." in await page.locator("#found").inner_text()
    await no_serious_findings(page)
    await page.get_by_label("Search by name").fill("group 012")
    await page.get_by_label("Show").select_option("overdue")
    await page.get_by_role("button", name="Search").click()
    found = await page.locator("#found").inner_text()
    assert found == "1 member organisation found." or found.endswith("member organisations found."), found
    rows = page.locator("table.members tbody tr")
    names = [await rows.nth(i).locator("th").inner_text() for i in range(await rows.count())]
    assert names and all(name.startswith("Community Group 012") for name in names), names
    await page.get_by_role("link", name=names[0]).click()
    assert await page.get_by_role("heading", level=1).inner_text() == names[0]
    await no_serious_findings(page)

    # Keyboard: the skip link is the first stop, and it leads to the page.
    await page.keyboard.press("Tab")
    assert await page.evaluate("document.activeElement.textContent") == "Skip to the page"


async def test_another_support_organisations_page_and_a_form_without_its_token_are_refused(site: Site) -> None:
    page = await signed_in(site)
    response = await page.goto(f"{site.url}/dashboard/members/{site.hastings_member}")
    assert response is not None and response.status == 403
    assert "You can't open that page" in await page.locator("h1").inner_text()
    await no_serious_findings(page)

    async with site.app.bot.sessionmaker() as session:
        ours = await session.scalar(select(Organisation.id).where(Organisation.name == "Community Group 0007"))
    await page.goto(f"{site.url}/dashboard/members/{ours}")
    await page.evaluate("document.querySelectorAll('input[name=csrf]').forEach(e => e.remove())")
    await page.get_by_role("button", name="Make a join code").click()
    assert "You can't open that page" in await page.locator("h1").inner_text()
    await page.goto(f"{site.url}/dashboard/members/{ours}")
    await page.get_by_role("button", name="Make a join code").click()
    assert "Here's the new join code" in await page.locator("main").inner_text()
    await no_serious_findings(page)

    await page.get_by_role("button", name="Sign out").click()
    assert "You're signed out" in await page.locator("h1").inner_text()
    response = await page.goto(f"{site.url}/dashboard/")
    assert response is not None and response.status == 401
