"""Broadcasts, the annual report and the settings in a real browser (issue 18): a staff member composes
a broadcast, checks who it reaches, sends it, and watches the delivery report while svbot's own senders
deliver it over HTTP to the fake Telegram and Slack (tests/fakes/), as `svbot broadcasts send` and the
clock do; one member has blocked the bot. Then the annual report (read, and downloaded as Word) and the
settings. axe-core on every page (no serious or critical findings).

Chromium is needed, as for tests/browser/test_dashboard_browser.py (which skips or fails without it).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from io import BytesIO
from pathlib import Path

import docx
import pytest
from sqlalchemy import func, select

from svbot.app import build_app, close_senders
from svbot.config import Settings
from svbot.delivery.models import OutboxMessage
from svbot.models import Identity, Membership, Organisation, Person
from svbot.paths import dialogues_dir
from svbot.support import broadcasts as service
from svbot.support.sending import send_outbox
from tests.browser.test_dashboard_browser import NOW, Page, Site, no_serious_findings, signed_in
from tests.conftest import ON_POSTGRES
from tests.fakes.slack_api import FakeSlack
from tests.fakes.telegram_api import FakeTelegram
from tests.scenario import Clock
from tests.serving import serve_app

pytestmark = pytest.mark.one_database  # see tests/conftest.py

BLOCKED = 7003  # this member's Telegram chat has blocked the bot


@pytest.fixture
async def platforms() -> AsyncIterator[tuple[FakeTelegram, FakeSlack]]:
    telegram = await FakeTelegram().start()
    slack = await FakeSlack().start()
    yield telegram, slack
    await slack.stop()
    await telegram.stop()


@pytest.fixture
async def site(db_url: str, platforms: tuple[FakeTelegram, FakeSlack]) -> AsyncIterator[Site]:
    from playwright.async_api import async_playwright

    from tests.browser.test_dashboard_browser import CHROMIUM

    telegram, slack = platforms
    settings = Settings(
        DATABASE_URL=db_url,
        SVBOT_DIALOGUES_DIR=dialogues_dir(),
        SVBOT_PUBLIC_URL="http://unused",
        SVBOT_SECRET_KEY="browser-test-" + "k" * 32 if ON_POSTGRES else None,
        TELEGRAM_BOT_TOKEN=telegram.token,
        TELEGRAM_API_URL=telegram.base_url,
        SLACK_BOT_TOKEN="xoxb-test-token",
        SLACK_API_URL=slack.api_url,
    )
    app = await build_app(settings, migrate=False, clock=Clock(NOW))
    async with app.bot.sessionmaker() as session, session.begin():
        brighton = Organisation(name="Brighton CVS", kind="support", framework_id="local_pledge")
        hastings = Organisation(name="Hastings CVS", kind="support")
        session.add_all([brighton, hastings])
        await session.flush()
        # Three groups: two people on Telegram and one on Slack each, and one person with no chat.
        for n in range(3):
            group = Organisation(name=f"Hove Group {n + 1}", kind="member", support_org_id=brighton.id)
            session.add(group)
            await session.flush()
            chats = [("telegram", str(7000 + 2 * n)), ("telegram", str(7001 + 2 * n)), ("slack", f"D0000{n}"), None]
            for i, chat in enumerate(chats):
                person = Person(display_name=f"Person {n + 1}.{i + 1}")
                session.add(person)
                await session.flush()
                session.add(Membership(person_id=person.id, organisation_id=group.id, role="member"))
                if chat:
                    platform, chat_id = chat
                    session.add(Identity(person_id=person.id, platform=platform, platform_user_id=f"u{chat_id}",
                                         chat_id=chat_id))  # fmt: skip
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


async def findings_but_the_refresh(page: Page) -> None:
    """axe-core's serious findings but one: a page that refreshes itself while a broadcast is being sent
    is what the issue asks for, and it has a link that turns the refreshing off (WCAG 2.2.1 "Turn off"),
    which axe's meta-refresh rule cannot see. The page without the refresh is checked in full."""
    from axe_playwright_python.async_playwright import Axe

    results = await Axe().run(page)
    serious = [v["id"] for v in results.response["violations"] if v.get("impact") in ("serious", "critical")]
    assert serious == ["meta-refresh"], serious


async def deliver(site: Site) -> None:
    """What the clock's dispatcher does: send the ready outbox rows with the app's own senders."""
    senders = site.app.senders(workers=2)
    try:
        await send_outbox(site.app.bot.sessionmaker, senders, limiter=site.app.limiter(), clock=site.app.bot.clock,
                          base_backoff=timedelta(seconds=0.05), max_attempts=2)  # fmt: skip
    finally:
        await close_senders(senders)


async def test_compose_preview_send_and_watch_the_delivery_report(
    site: Site, platforms: tuple[FakeTelegram, FakeSlack]
) -> None:
    telegram, slack = platforms
    telegram.fail("sendMessage", 403, "Forbidden: bot was blocked by the user", chat_id=BLOCKED)
    page = await signed_in(site)
    await page.get_by_role("link", name="Broadcasts").click()
    assert await page.get_by_role("heading", level=1).inner_text() == "Broadcasts"
    await no_serious_findings(page)

    await page.get_by_label("All members").check()
    await page.get_by_label("Message").fill("Funding surgery on Tuesday at 10am <drop in> & bring questions.")
    await page.get_by_role("button", name="Preview").click()
    assert await page.get_by_role("heading", level=1).inner_text() == "Check your broadcast"
    reach = await page.locator("#reach").inner_text()
    assert "It goes to all members: 9 people in 3 organisations." in reach
    assert "3 people in these organisations can't be reached" in reach
    async with site.app.bot.sessionmaker() as session:
        assert await session.scalar(select(func.count()).select_from(OutboxMessage)) == 0, "nothing sent yet"
    await no_serious_findings(page)

    token = await page.locator("input[name=csrf]").first.input_value()
    await page.get_by_role("button", name="Send to 9 people").click()
    assert await page.get_by_role("heading", level=1).inner_text() == "Delivery report"
    assert "9\nwaiting to be sent" in await page.locator("#delivery").inner_text()
    assert await page.locator('meta[http-equiv="refresh"]').count() == 1, "it refreshes itself while waiting"
    await findings_but_the_refresh(page)
    report_url = page.url
    await page.get_by_role("link", name="Stop updating this page").click()  # WCAG 2.2.1: it can be turned off
    assert await page.locator('meta[http-equiv="refresh"]').count() == 0
    assert "9\nwaiting to be sent" in await page.locator("#delivery").inner_text()
    await no_serious_findings(page)
    await page.goto(report_url)

    # The same form sent again (a double press, a resubmitted page): nothing more is queued.
    again = await page.request.post(report_url + "/send", form={"csrf": token}, max_redirects=0)
    assert again.status == 303 and again.headers["location"].endswith(report_url.removeprefix(site.url))
    async with site.app.bot.sessionmaker() as session:
        assert await session.scalar(select(func.count()).where(OutboxMessage.kind == service.KIND)) == 9

    await deliver(site)
    await page.reload()
    delivery = await page.locator("#delivery").inner_text()
    assert "8\ndelivered" in delivery and "0\nwaiting to be sent" in delivery and "1\nfailed" in delivery
    assert await page.locator('meta[http-equiv="refresh"]').count() == 0, "finished: no more refreshing"
    failures = await page.locator("table").inner_text()
    assert "Person 2.2, Hove Group 2 (telegram)" in failures and "they blocked the bot" in failures
    await no_serious_findings(page)

    said = "Message from Brighton CVS:\n\nFunding surgery on Tuesday at 10am <drop in> & bring questions."
    got = [c for c in telegram.calls_to("sendMessage") if c.status == 200]
    assert sorted(c.chat_id for c in got) == [7000, 7001, 7002, 7004, 7005]
    assert telegram.chat(7000)[0].text == said
    assert sorted(str(c.args.get("channel")) for c in slack.ok_calls("chat.postMessage")) == ["D00000", "D00001",
                                                                                               "D00002"]  # fmt: skip

    await page.get_by_role("link", name="All broadcasts").click()
    past = await page.locator("table.past tbody tr").first.inner_text()
    assert "all members" in past and "8\t0\t1" in past
    await page.get_by_role("link", name="Overview").click()
    assert "Sue Patel sent a broadcast to all members (9 people)" in await page.locator("main").inner_text()


async def test_the_annual_report_and_the_settings(site: Site, tmp_path: Path) -> None:
    page = await signed_in(site)
    await page.get_by_role("link", name="Annual report").click()
    assert await page.get_by_role("heading", level=1).inner_text() == "Annual report"
    assert await page.get_by_label("Year").input_value() == "2025-26", "the last full April-to-March year"
    await page.get_by_label("Year").select_option("2026-27")
    await page.get_by_role("button", name="Show").click()
    heading = await page.locator("#report-title").inner_text()
    assert heading == "Brighton CVS: social value report 2026-27"
    report = page.frame_locator("iframe.report-frame")  # the report as svbot report writes it
    chart = report.locator("#chart")
    assert await chart.evaluate("img => img.complete && img.naturalWidth > 0"), "the chart shows"
    assert (await chart.get_attribute("alt") or "").startswith("Bar chart")
    await no_serious_findings(page)

    async with page.expect_download() as downloading:
        await page.get_by_role("link", name="Word document (.docx), 2026-27").click()
    download = await downloading.value
    assert download.suggested_filename == "social-value-report-2026-27.docx"
    saved = tmp_path / "report.docx"
    await download.save_as(saved)
    document = docx.Document(BytesIO(saved.read_bytes()))
    assert document.paragraphs[0].text == "Brighton CVS: social value report 2026-27"

    await page.get_by_role("link", name="Settings").click()
    assert await page.get_by_role("heading", level=1).inner_text() == "Settings"
    assert "Local social value framework and pledge" in await page.locator("#framework").inner_text()
    await no_serious_findings(page)

    response = await page.goto(f"{site.url}/dashboard/broadcasts/999")
    assert response is not None and response.status == 403
