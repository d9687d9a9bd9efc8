"""The deadlines board in a real browser (issue 18): 5,000 members' reports, overdue first; a date typed
wrong is said by its row; a report extended through the form moves to its new month, marked
"extended from"; one marked waived leaves the board; a member's calendar address; axe-core on each."""

# ruff: noqa: F811  (each test takes the `site` fixture imported from test_dashboard_browser.py)
from __future__ import annotations

import httpx
import pytest
from icalendar import Calendar

from tests.browser.test_dashboard_browser import Site, no_serious_findings, signed_in, site  # noqa: F401

pytestmark = pytest.mark.one_database  # see tests/conftest.py


async def test_extend_a_report_on_the_board_and_see_it_move(site: Site) -> None:
    page = await signed_in(site)
    await page.get_by_role("link", name="Deadlines", exact=True).click()
    assert await page.get_by_role("heading", level=1).inner_text() == "Deadlines"
    found = await page.locator("#found").inner_text()
    assert "5,000 open reports." in found and "500 of them are overdue." in found
    headings = await page.get_by_role("heading", level=2).all_inner_texts()
    assert headings[0] == "Overdue", headings
    await no_serious_findings(page)

    first = page.locator("table.board tbody tr").first
    name = await first.locator("th").inner_text()
    assert "Mon 1 Feb 2027" in await first.inner_text()

    # A date that does not exist: said next to the row, what was typed kept, nothing changed.
    await first.get_by_label("New due date").fill("31/02/2027")
    await first.get_by_role("button", name="Extend").click()
    row = page.locator("table.board tbody tr").first
    assert await row.locator("th").inner_text() == name
    assert "That date doesn't exist" in await row.locator(".problem").inner_text()
    assert await row.get_by_label("New due date").input_value() == "31/02/2027"
    assert "500 of them are overdue." in await page.locator("#found").inner_text()
    await no_serious_findings(page)

    await row.get_by_label("New due date").fill("1 June 2027")
    await row.get_by_role("button", name="Extend").click()
    said = await page.get_by_role("status").first.inner_text()
    assert said == f"Final report for {name} is now due Tue 1 Jun 2027. Its reminders start again from that date."
    assert "499 of them are overdue." in await page.locator("#found").inner_text()
    assert await page.locator("table.board tbody tr").first.locator("th").inner_text() != name

    await page.get_by_label("Start from").select_option(label="June 2027")
    await page.get_by_role("button", name="Show").click()
    assert (await page.get_by_role("heading", level=2).all_inner_texts())[0] == "June 2027"
    moved = page.locator("table.board tbody tr").first
    assert await moved.locator("th").inner_text() == name
    text = await moved.inner_text()
    assert "Tue 1 Jun 2027" in text and "extended from Mon 1 Feb 2027" in text
    await no_serious_findings(page)

    # Mark waived: it leaves the board.
    await moved.get_by_role("button", name="Mark waived").click()
    assert f"Marked waived: Final report for {name}." in await page.get_by_role("status").first.inner_text()
    assert await page.locator("table.board tbody tr").first.locator("th").inner_text() != name


async def test_a_members_calendar_address_from_the_board(site: Site) -> None:
    page = await signed_in(site)
    await page.goto(f"{site.url}/dashboard/deadlines")
    overdue = page.locator("table.board tbody tr").first
    name = await overdue.locator("th").inner_text()
    href = await overdue.locator("th a").get_attribute("href")
    assert href and href.startswith("/dashboard/members/")
    await page.goto(f"{site.url}/dashboard/deadlines?org={href.rsplit('/', 1)[1]}")
    assert f"Only {name}'s reports." in await page.locator("main").inner_text()
    address = await page.get_by_label("Calendar address").input_value()
    await no_serious_findings(page)
    local = site.url + address.removeprefix("http://unused")
    async with httpx.AsyncClient() as anyone:  # a calendar app: no cookie
        feed = await anyone.get(local)
    assert feed.status_code == 200
    events = Calendar.from_ical(feed.content).walk("VEVENT")
    assert [str(e["summary"]) for e in events] == ["Final report for Grant"]
