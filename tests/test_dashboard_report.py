"""The annual report and the settings on the staff dashboard over HTTP (issue 18): the year chosen
(the last full April-to-March year to start with), the report read in the page, and downloaded as an
HTML page and a Word file python-docx opens; the settings page showing the framework, the reminder
times and a programme set with the service `svbot programme set` uses."""

from __future__ import annotations

import html
import re
from datetime import UTC, date, datetime
from decimal import Decimal
from html.parser import HTMLParser
from io import BytesIO

import docx
from sqlalchemy import select, update

from svbot.dashboard.report import last_complete, periods
from svbot.deadlines.models import ReminderPolicy
from svbot.deadlines.programmes import ProgrammeSettings, set_programme
from svbot.evidence import StatementRecord
from svbot.models import Organisation
from svbot.statements.model import Commitment, Numbers, ObjectiveEvidence, StatementInput
from tests import test_dashboard
from tests.test_dashboard import World, sign_in

world = test_dashboard.world  # the fixture
NOW = datetime(2027, 1, 5, tzinfo=UTC)


async def statement(world: World, name: str, period: str, people: int, story: str | None = None) -> None:
    evidence = ObjectiveEvidence(objective_id="involve_local_people", activity="We meet every week.",
                                 numbers=Numbers(people_reached=people, volunteers=2, volunteer_hours=10),
                                 change="People feel more connected.", story=story,
                                 commitment=Commitment(text="Hold two open days", due=date(2027, 6, 1)))  # fmt: skip
    data = StatementInput(org_name=name, framework_id="local_pledge", period=period, objectives=[evidence])
    async with world.app.bot.sessionmaker() as session, session.begin():
        org_id = await session.scalar(select(Organisation.id).where(Organisation.name == name))
        record = StatementRecord(organisation_id=org_id, framework_id="local_pledge", period=period,
                                 data=data.model_dump(mode="json"), created_at=NOW)  # fmt: skip
        record.shared = story is not None
        session.add(record)


async def pledged(world: World) -> None:
    async with world.app.bot.sessionmaker() as session, session.begin():
        await session.execute(
            update(Organisation).where(Organisation.id == world.brighton).values(framework_id="local_pledge")
        )


def test_the_year_to_start_with_is_the_last_full_april_to_march() -> None:
    assert last_complete(date(2027, 3, 10)) == "2025-26"
    assert last_complete(date(2027, 3, 31)) == "2025-26"
    assert last_complete(date(2027, 4, 1)) == "2026-27"
    assert last_complete(date(2000, 1, 1)) == "1998-99"
    assert periods(date(2027, 3, 10)) == ["2026-27", "2025-26", "2024-25", "2023-24", "2022-23"]


class Parsed(HTMLParser):
    """Checks the downloaded page parses: its tags balance and it has the report's parts."""

    def __init__(self) -> None:
        super().__init__()
        self.open: list[str] = []
        self.ids: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.ids.update(v for k, v in attrs if k == "id" and v)
        if tag not in ("meta", "img", "br", "link", "input"):
            self.open.append(tag)

    def handle_endtag(self, tag: str) -> None:
        assert self.open and self.open.pop() == tag, (tag, self.open[-3:])


async def test_the_report_in_the_page_and_its_downloads(world: World) -> None:
    await pledged(world)
    await statement(world, "Group 001", "2025-26", 40, story="Maureen came for the <b>tomatoes</b> & stayed.")
    await statement(world, "Group 002", "2025-26", 60)
    await statement(world, "Group 003", "2026-27", 5000)  # this year, not the last full one
    await sign_in(world)

    page = await world.http.get("/dashboard/report")
    assert page.status_code == 200
    assert '<option value="2025-26" selected>April 2025 to March 2026 (2025-26)</option>' in page.text
    assert "Brighton CVS: social value report 2025-26" in html.unescape(page.text)
    assert '<iframe class="report-frame" src="/dashboard/report/view?period=2025-26"' in page.text
    assert "<style" not in page.text and " style=" not in page.text, "nothing the CSP forbids"
    assert 'href="/dashboard/report/download.docx?period=2025-26"' in page.text

    # The report itself, as svbot report writes it, framed only by the dashboard.
    framed = await world.http.get("/dashboard/report/view?period=2025-26")
    assert framed.status_code == 200 and framed.headers["x-frame-options"] == "SAMEORIGIN"
    assert "frame-ancestors 'self'" in framed.headers["content-security-policy"]
    shown = html.unescape(framed.text)
    assert "2 of 120 member organisations described their social value" in shown
    summary = re.sub(r"<[^>]+>", " ", shown[shown.index('id="summary"'):shown.index('id="summary"') + 3000])
    # Group 002 did not share, and is the only one: its 60 people could be worked out, so are left out.
    assert "reached 40 people" in summary, " ".join(summary.split())[:1500]
    assert "Maureen came for the <b>tomatoes</b> & stayed." in shown, "the shared story, as written"
    assert "<b>tomatoes</b>" not in framed.text, "escaped"

    this_year = html.unescape((await world.http.get("/dashboard/report/view?period=2026-27")).text)
    assert "1 of 120 member organisations" in this_year

    got = await world.http.get("/dashboard/report/download.html?period=2025-26")
    assert got.status_code == 200 and got.headers["content-type"].startswith("text/html")
    assert got.headers["content-disposition"] == 'attachment; filename="social-value-report-2025-26.html"'
    parsed = Parsed()
    parsed.feed(got.text)
    assert parsed.open == [] and {"summary", "objectives", "chart", "stories"} <= parsed.ids
    assert "reached 40 people" in got.text and "reached 100 people" not in got.text

    word = await world.http.get("/dashboard/report/download.docx?period=2025-26")
    assert word.status_code == 200
    assert word.headers["content-disposition"] == 'attachment; filename="social-value-report-2025-26.docx"'
    document = docx.Document(BytesIO(word.content))
    said = "\n".join(p.text for p in document.paragraphs)
    assert "Brighton CVS: social value report 2025-26" in said and "reached 40 people" in said

    for bad in ("/dashboard/report?period=2025-27", "/dashboard/report/download.docx?period=nonsense",
                "/dashboard/report/download.pdf?period=2025-26"):  # fmt: skip
        refused = await world.http.get(bad)
        assert refused.status_code in (400, 404), bad
        if refused.status_code == 400:
            assert "choose a year from the list" in refused.text

    world.http.cookies.clear()
    assert (await world.http.get("/dashboard/report/download.docx?period=2025-26")).status_code == 401


async def test_settings_show_the_framework_reminders_and_a_programme_set_as_the_cli_does(world: World) -> None:
    await sign_in(world)
    page = html.unescape((await world.http.get("/dashboard/settings")).text)
    assert "No framework is chosen for your organisation" in page
    assert "uses svbot's usual reminder times" in page
    assert "14 days before, 3 days before, on the day and 7 days after a report is due" in page
    assert "No grant programme has settings yet." in page

    await pledged(world)
    async with world.app.bot.sessionmaker() as session, session.begin():
        await set_programme(session, world.brighton, "WH-2026", ProgrammeSettings(
            title="Warm Homes", schedule="quarterly", monitoring_form="warm_homes_report",
            weighting=Decimal("12.50"), scored=True, ignore_before=date(2026, 4, 1)))  # fmt: skip
        await set_programme(session, world.hastings, "THEIRS", ProgrammeSettings(title="Hastings Only"))
        session.add(ReminderPolicy(support_org_id=world.brighton, offsets=[7, 1], send_time="10:30", weekends=True))
    page = await world.http.get("/dashboard/settings")
    assert page.status_code == 200
    text = html.unescape(page.text)
    assert "Local social value framework and pledge (starter set)" in text
    assert "illustrative (not any body's official wording)" in text and "not any council's official wording" in text
    assert 'href="https://www.brighton-hove.gov.uk/' in page.text
    assert "has its own reminder times" in text and "7 days before and 1 day before" in text
    assert "10:30 (Europe/London)" in text and "Reminders may go out at weekends" in text
    row = re.search(r"<tr>\s*<th scope=\"row\">Warm Homes.*?</tr>", page.text, re.S).group(0)
    cells = [re.sub(r"<[^>]+>", " ", c).split() for c in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row, re.S)]
    assert [" ".join(c) for c in cells] == [
        "Warm Homes code WH-2026",
        "every quarter",
        "warm_homes_report",
        "12.5%",
        "yes",
        "1 April 2026",
    ]
    assert "Hastings Only" not in text, "only their own programmes"
