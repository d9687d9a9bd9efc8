"""Grants import by upload in a real browser (issue 18): Debian's Chromium driven by Playwright against
the web app `svbot serve` builds. A staff member uploads Indigo Trust's real 360Giving file with an
"ignore reports due before" date, watches the page refresh itself while it is checked, reads the dry
run, presses "Import these grants", watches it again, and gets the organisations the import created,
each a link to its member page. axe-core runs on every page (no serious or critical findings).

The work is held in its thread until the test lets it go (as a big file would take a while), so the
refreshing page is seen for certain: no test here depends on how fast anything is.
"""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Page, async_playwright
from sqlalchemy import func, select

from svbot.app import build_app
from svbot.config import Settings
from svbot.dashboard import imports
from svbot.deadlines.importer import import_grants
from svbot.deadlines.models import Grant
from svbot.models import Organisation
from svbot.paths import dialogues_dir
from tests.browser.test_dashboard_browser import CHROMIUM, NOW, Site, no_serious_findings, signed_in
from tests.conftest import ON_POSTGRES
from tests.scenario import Clock
from tests.serving import serve_app

pytestmark = pytest.mark.one_database  # see tests/conftest.py

SAMPLES = Path(__file__).resolve().parents[1] / "data" / "360giving" / "samples"
INDIGO = SAMPLES / "indigotrust_IndigoTrust_360giving.csv"


@pytest.fixture
async def site(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Site]:
    monkeypatch.setattr(imports, "UPLOADS", tmp_path / "uploads")
    settings = Settings(DATABASE_URL=db_url, SVBOT_DIALOGUES_DIR=dialogues_dir(), SVBOT_PUBLIC_URL="http://unused",
                        SVBOT_SECRET_KEY="browser-test-" + "k" * 32 if ON_POSTGRES else None)  # fmt: skip
    app = await build_app(settings, migrate=False, clock=Clock(NOW))
    async with app.bot.sessionmaker() as session, session.begin():
        brighton = Organisation(name="Brighton CVS", kind="support")
        session.add(brighton)
        await session.flush()
        brighton_id = brighton.id
    async with serve_app(app.web_app()) as url, async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            yield Site(app, url, browser, brighton_id, 0)
        finally:
            await browser.close()
    await app.close()


@pytest.fixture
def gate(monkeypatch: pytest.MonkeyPatch) -> Iterator[threading.Event]:
    """Set it to let the dry run or the import go on; until then it waits in its own thread."""
    go = threading.Event()

    async def held(*args: Any, **kwargs: Any) -> Any:
        assert go.wait(120), "the test never let the work go"
        return await import_grants(*args, **kwargs)

    monkeypatch.setattr(imports, "import_grants", held)
    yield go
    go.set()  # a test that failed half-way leaves no thread waiting


async def refreshes_itself(page: Page) -> None:
    """The page says it is working, carries <meta http-equiv="refresh">, and the browser reloads it."""
    assert await page.locator('meta[http-equiv="refresh"]').count() == 1
    async with page.expect_navigation(url=page.url):
        pass  # nothing to do: the page reloads itself
    # The same page without refreshing (its "Stop updating this page" link) for axe: a page that
    # reloads every 2 seconds could reload in the middle of the check. axe's meta-refresh rule (WCAG
    # 2.2.1) is why that link is there.
    working = page.url
    await page.goto(working + "?refresh=off")
    assert await page.locator('meta[http-equiv="refresh"]').count() == 0
    assert await page.get_by_role("link", name="See how it's going").is_visible()
    await no_serious_findings(page)
    await page.goto(working)


async def test_upload_a_file_read_the_dry_run_import_and_see_the_organisations_made(
    site: Site, gate: threading.Event
) -> None:
    page = await signed_in(site)
    await page.get_by_role("link", name="Import grants").click()
    await page.wait_for_url("**/dashboard/import")
    assert await page.get_by_role("heading", level=1).inner_text() == "Import grants"
    await no_serious_findings(page)

    await page.get_by_label("360Giving file (.json, .csv or .xlsx, up to 10 MB)").set_input_files(INDIGO)
    await page.get_by_label("Ignore reports due before (optional)").fill("2015-01-01")
    await page.get_by_role("button", name="Check the file").click()
    await page.wait_for_url("**/dashboard/import/*")
    assert "Checking the file. Nothing is being changed." in await page.get_by_role("status").inner_text()
    await refreshes_itself(page)

    gate.set()
    await page.get_by_role("heading", name="What the import would do").wait_for()
    body = await page.locator("main").inner_text()
    assert "svbot checked the file's 269 grants. Nothing has changed yet." in body
    assert "Reports due before 1 January 2015 would not be tracked." in body
    async with site.app.bot.sessionmaker() as session:
        assert await session.scalar(select(func.count()).select_from(Grant)) == 0, "a dry run writes nothing"
    await no_serious_findings(page)

    gate.clear()
    await page.get_by_role("button", name="Import these grants").click()
    await page.get_by_text("Importing the grants.").wait_for()
    await refreshes_itself(page)

    gate.set()
    await page.get_by_role("heading", name="206 organisations the import created").wait_for()
    assert "Done: 269 new grants, 0 updated, 0 skipped." in await page.get_by_role("status").inner_text()
    await no_serious_findings(page)
    async with site.app.bot.sessionmaker() as session:
        assert await session.scalar(select(func.count()).select_from(Grant)) == 269

    await page.get_by_role("link", name="HM YOI Huntercombe").click()
    await page.wait_for_url("**/dashboard/members/*")
    assert await page.get_by_role("heading", level=1).inner_text() == "HM YOI Huntercombe"
    assert "No one from this organisation has joined svbot yet." in await page.locator("main").inner_text()
