"""The dashboard's deadlines board, members CSV and calendar feeds over HTTP (issue 18), through the web
app `svbot serve` builds: the board by month with overdue first, pages and filters; "Mark waived" and
"Extend" (CSRF, own members only, a date as people type it, the audit log); the members spreadsheet
(quoting, no formulas); and a member's calendar at its secret address (no cookie, wrong token 404)."""

# ruff: noqa: F811  (each test takes the `world` fixture imported from tests/test_dashboard.py)
from __future__ import annotations

import csv
import io
import re
from datetime import date

import httpx
import pytest
from icalendar import Calendar
from sqlalchemy import func, select

from svbot.dashboard.models import AuditEntry
from svbot.deadlines.models import UPCOMING, WAIVED, Deadline, Grant
from svbot.models import Membership, Organisation, Person
from svbot.monitoring import MonitoringReport
from tests.test_dashboard import PUBLIC, World, csrf, sign_in, world  # noqa: F401  (world: the fixture)


async def org_named(world: World, name: str) -> int:
    async with world.app.bot.sessionmaker() as session:
        found = await session.scalar(select(Organisation.id).where(Organisation.name == name))
    assert found is not None
    return found


async def deadline_of(world: World, name: str) -> Deadline:
    async with world.app.bot.sessionmaker() as session:
        found = await session.scalar(
            select(Deadline).join(Organisation, Organisation.id == Deadline.organisation_id)
            .where(Organisation.name == name)
        )  # fmt: skip
    assert found is not None
    return found


async def hastings_deadline(world: World) -> int:
    """A report of another support organisation's member."""
    theirs = await org_named(world, "Hastings Lunch Club")
    async with world.app.bot.sessionmaker() as session, session.begin():
        grant = Grant(external_id="h-1", organisation_id=theirs, support_org_id=world.hastings, title="Lunches")
        session.add(grant)
        await session.flush()
        deadline = Deadline(grant_id=grant.id, organisation_id=theirs, key="final", title="Lunch report",
                            due_date=date(2027, 2, 1), status=UPCOMING)  # fmt: skip
        session.add(deadline)
        await session.flush()
        return deadline.id


async def audit_lines(world: World) -> list[tuple[str, str]]:
    async with world.app.bot.sessionmaker() as session:
        return [(a, d) for a, d in await session.execute(select(AuditEntry.action, AuditEntry.detail))]


async def test_the_board_shows_open_reports_by_month_overdue_first_a_page_at_a_time(world: World) -> None:
    assert (await sign_in(world)).status_code == 303
    drafted = await deadline_of(world, "Group 011")
    async with world.app.bot.sessionmaker() as session, session.begin():
        session.add(MonitoringReport(deadline_id=drafted.id, organisation_id=drafted.organisation_id))
    board = await world.http.get("/dashboard/deadlines")
    assert board.status_code == 200
    text = board.text
    assert "120 open reports." in text and "12 of them are overdue." in text
    headings = re.findall(r'<h2 id="group-([\w-]+)">', text)
    assert headings == ["overdue", "2027-03"], "overdue first, in its own group, then by month"
    assert text.count('<tr id="deadline-') == 100 and "Page 1 of 2" in text
    overdue_part = text.split('id="group-2027-03"')[0]
    assert overdue_part.count('<tr id="deadline-') == 12 and "Group 010" in overdue_part
    group = await org_named(world, "Group 010")
    assert f'<a href="/dashboard/members/{group}">Group 010</a>' in text
    row = text.split(f'id="deadline-{drafted.id}"')[1].split("</tr>")[0]
    assert "draft started" in row and "Grant 11" in row and "Warm Homes" in row and "Sat 20 Mar 2027" in row
    assert "not started" in text.split(f'id="deadline-{drafted.id + 1}"')[1].split("</tr>")[0]
    assert 'href="/dashboard/members.csv"' in text

    later = await world.http.get("/dashboard/deadlines", params={"page": "2"})
    assert later.text.count('<tr id="deadline-') == 20 and "Page 2 of 2" in later.text
    assert re.findall(r'<h2 id="group-([\w-]+)">', later.text) == ["2027-03"]
    march = await world.http.get("/dashboard/deadlines", params={"from": "2027-03"})
    assert "108 open reports." in march.text and 'id="group-overdue"' not in march.text
    warm = await world.http.get("/dashboard/deadlines", params={"programme": "Warm Homes"})
    assert "60 open reports." in warm.text and "Group 011" in warm.text and "Group 012" not in warm.text
    odd = await world.http.get("/dashboard/deadlines", params={"from": "<script>", "page": "x", "org": "-1"})
    assert odd.status_code == 200 and "120 open reports." in odd.text and "<script>" not in odd.text

    only = await world.http.get("/dashboard/deadlines", params={"org": str(group)})
    assert "1 open report." in only.text and "Only Group 010's reports." in only.text
    assert "Calendar feed" in only.text
    theirs = await org_named(world, "Hastings Lunch Club")
    assert (await world.http.get("/dashboard/deadlines", params={"org": str(theirs)})).status_code == 403


async def test_mark_waived_needs_the_token_and_an_own_member_and_is_in_the_audit_log(world: World) -> None:
    assert (await sign_in(world)).status_code == 303
    target = await deadline_of(world, "Group 010")
    theirs = await hastings_deadline(world)
    token = csrf(await world.http.get("/dashboard/deadlines"))

    assert (await world.http.post(f"/dashboard/deadlines/{target.id}/waive", data={})).status_code == 403
    wrong = await world.http.post(f"/dashboard/deadlines/{target.id}/waive", data={"csrf": "nope"})
    assert wrong.status_code == 403
    stolen = await world.http.post(f"/dashboard/deadlines/{theirs}/waive", data={"csrf": token})
    assert stolen.status_code == 403
    assert (await world.http.post("/dashboard/deadlines/999999/waive", data={"csrf": token})).status_code == 403
    async with world.app.bot.sessionmaker() as session:
        statuses = set(await session.scalars(select(Deadline.status)))
    assert statuses == {UPCOMING}, "nothing changed"
    assert [a for a, _ in await audit_lines(world) if a != "signed_in"] == []

    done = await world.http.post(f"/dashboard/deadlines/{target.id}/waive",
                                 data={"csrf": token, "view": "page=1&programme=&from=2027-03"})  # fmt: skip
    assert done.status_code == 303
    assert done.headers["location"] == f"/dashboard/deadlines?from=2027-03&done=waived&d={target.id}"
    board = await world.http.get("/dashboard/deadlines", params={"done": "waived", "d": str(target.id)})
    assert "Marked waived: Final report for Group 010. Its reminders have stopped." in board.text
    assert "119 open reports." in board.text and f'id="deadline-{target.id}"' not in board.text
    async with world.app.bot.sessionmaker() as session:
        assert (await session.get(Deadline, target.id)).status == WAIVED  # type: ignore[union-attr]
    assert ("deadline_waived", "Final report, Group 010") in await audit_lines(world)
    assert "Sue marked a report waived: Final report, Group 010" in (await world.http.get("/dashboard/")).text

    again = await world.http.post(f"/dashboard/deadlines/{target.id}/waive", data={"csrf": token})
    assert again.status_code == 409 and "That report is already waived, so nothing has changed." in again.text
    assert [a for a, _ in await audit_lines(world)].count("deadline_waived") == 1


async def test_extend_reads_the_date_as_typed_refuses_a_bad_or_earlier_one_and_moves_the_row(world: World) -> None:
    assert (await sign_in(world)).status_code == 303
    target = await deadline_of(world, "Group 020")  # overdue: due Mon 1 Feb 2027
    theirs = await hastings_deadline(world)
    token = csrf(await world.http.get("/dashboard/deadlines"))
    url = f"/dashboard/deadlines/{target.id}/extend"

    assert (await world.http.post(url, data={"due": "30/06/2027"})).status_code == 403
    stolen = await world.http.post(f"/dashboard/deadlines/{theirs}/extend", data={"due": "30/06/2027", "csrf": token})
    assert stolen.status_code == 403
    bad = await world.http.post(url, data={"due": "31/02/2027", "csrf": token})
    assert bad.status_code == 400 and "That date doesn&#39;t exist" in bad.text and "Nothing has changed." in bad.text
    assert f'id="due-{target.id}-problem"' in bad.text and 'aria-invalid="true"' in bad.text
    assert 'value="31/02/2027"' in bad.text, "what they typed stays in the box"
    unreadable = await world.http.post(url, data={"due": "soonish", "csrf": token})
    assert unreadable.status_code == 400 and "I couldn&#39;t read that as a date." in unreadable.text
    earlier = await world.http.post(url, data={"due": "15 Jan 2027", "csrf": token})
    assert earlier.status_code == 400 and "The new date must be after Mon 1 Feb 2027" in earlier.text
    same = await world.http.post(url, data={"due": "2027-02-01", "csrf": token})
    assert same.status_code == 400
    async with world.app.bot.sessionmaker() as session:
        kept = await session.get(Deadline, target.id)
        theirs_kept = await session.get(Deadline, theirs)
    assert kept is not None and kept.due_date == date(2027, 2, 1) and kept.extended_from is None
    assert theirs_kept is not None and theirs_kept.due_date == date(2027, 2, 1)
    assert "deadline_extended" not in [a for a, _ in await audit_lines(world)]

    moved = await world.http.post(url, data={"due": "30 June 2027", "csrf": token, "view": ""})
    assert moved.status_code == 303 and moved.headers["location"].endswith(f"done=extended&d={target.id}")
    board = await world.http.get(moved.headers["location"])
    assert "Final report for Group 020 is now due Wed 30 Jun 2027." in board.text
    assert "11 of them are overdue." in board.text
    june = await world.http.get("/dashboard/deadlines", params={"from": "2027-06"})
    row = june.text.split(f'id="deadline-{target.id}"')[1].split("</tr>")[0]
    assert "Wed 30 Jun 2027" in row and "extended from Mon 1 Feb 2027" in row
    assert re.findall(r'<h2 id="group-([\w-]+)">', june.text) == ["2027-06"]
    async with world.app.bot.sessionmaker() as session:
        extended = await session.get(Deadline, target.id)
    assert extended is not None and extended.due_date == date(2027, 6, 30)
    assert extended.extended_from == date(2027, 2, 1)
    assert (
        "deadline_extended", "Final report for Group 020, now due Wed 30 Jun 2027 (was Mon 1 Feb 2027)"
    ) in await audit_lines(world)  # fmt: skip
    overview = (await world.http.get("/dashboard/")).text
    assert "Sue gave a report a later date: Final report for Group 020, now due Wed 30 Jun 2027" in overview


async def test_members_as_csv_quoted_without_formulas(world: World) -> None:
    assert (await world.http.get("/dashboard/members.csv")).status_code == 401, "staff only"
    assert (await sign_in(world)).status_code == 303
    async with world.app.bot.sessionmaker() as session, session.begin():
        for name in ('=HYPERLINK("http://evil.example","click")', 'Smith, "Jones" & Co', "@SUM(A1)", "+44 Club",
                     "-1 Group", "Ysgol Gymraeg Aberystwyth – Côr"):  # fmt: skip
            session.add(Organisation(name=name, kind="member", support_org_id=world.brighton))
        group = await session.scalar(select(Organisation.id).where(Organisation.name == "Group 003"))
        person = Person(display_name="Ann")
        session.add(person)
        await session.flush()
        session.add(Membership(person_id=person.id, organisation_id=group, role="member"))
        theirs = Organisation(name="Hastings Secret", kind="member", support_org_id=world.hastings)
        session.add(theirs)
    response = await world.http.get("/dashboard/members.csv")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert response.headers["content-disposition"] == 'attachment; filename="members-2027-03-10.csv"'
    body = response.content.decode("utf-8")
    assert body.startswith("\ufeff") and "\r\n" in body
    rows = list(csv.reader(io.StringIO(body.removeprefix("\ufeff"))))
    assert rows[0] == ["Organisation", "People joined", "Open reports", "Overdue", "Next report due"]
    assert len(rows) == 1 + 126 and "Hastings Secret" not in body
    by_name = {row[0]: row[1:] for row in rows[1:]}
    assert by_name["Group 003"] == ["1", "1", "0", "2027-03-20"]
    assert by_name["Group 010"] == ["0", "1", "1", ""], "overdue, nothing still to come"
    assert by_name['Smith, "Jones" & Co'] == ["0", "0", "0", ""]
    assert '"Smith, ""Jones"" & Co"' in body, "commas and quotes are quoted"
    assert '\'=HYPERLINK(""http://evil.example"",""click"")' in body
    for cell in ("'@SUM(A1)", "'+44 Club", "'-1 Group", "Ysgol Gymraeg Aberystwyth – Côr"):
        assert cell in by_name, cell
    assert not any(row[0].startswith(("=", "+", "-", "@")) for row in rows)
    names = [row[0] for row in rows[1:]]
    assert names == sorted(names, key=str.lower) or names.index("Group 000") < names.index("Group 119")


async def test_a_members_calendar_at_its_secret_address_without_signing_in(world: World) -> None:
    assert (await sign_in(world)).status_code == 303
    group = await org_named(world, "Group 010")
    page = await world.http.get("/dashboard/deadlines", params={"org": str(group)})
    found = re.search(r'id="calendar-url" type="text" readonly value="(http://dash\.test/dashboard/calendar/[^"]+)"',
                      page.text)  # fmt: skip
    assert found, page.text[:2000]
    url = found.group(1)
    assert re.fullmatch(rf"http://dash\.test/dashboard/calendar/{group}-[0-9a-f]{{32}}\.ics", url)
    async with world.app.bot.sessionmaker() as session, session.begin():
        grant = await session.scalar(select(Grant).where(Grant.organisation_id == group))
        assert grant is not None
        session.add(Deadline(grant_id=grant.id, organisation_id=group, key="q1", title="First quarter",
                             due_date=date(2027, 4, 30), status=UPCOMING))  # fmt: skip
        session.add(Deadline(grant_id=grant.id, organisation_id=group, key="q0", title="Waived one",
                             due_date=date(2027, 1, 30), status=WAIVED))  # fmt: skip

    transport = httpx.ASGITransport(app=world.app.web_app())
    async with httpx.AsyncClient(transport=transport, base_url=PUBLIC) as anyone:  # no cookie at all
        feed = await anyone.get(url.removeprefix(PUBLIC))
        assert feed.status_code == 200 and feed.headers["content-type"].startswith("text/calendar")
        calendar = Calendar.from_ical(feed.content)
        assert str(calendar["x-wr-calname"]) == "Group 010: monitoring reports"
        events = sorted((e["dtstart"].dt, str(e["summary"])) for e in calendar.walk("VEVENT"))
        assert events == [
            (date(2027, 2, 1), "Final report for Grant 10"),
            (date(2027, 4, 30), "First quarter for Grant 10"),
        ]

        token = url.rsplit("-", 1)[1].removesuffix(".ics")
        other = await org_named(world, "Group 011")
        for wrong in (
            f"/dashboard/calendar/{group}-{'0' * 32}.ics",
            f"/dashboard/calendar/{group}-{token[:-1]}.ics",
            f"/dashboard/calendar/{other}-{token}.ics",
            f"/dashboard/calendar/{world.brighton}-{token}.ics",
            f"/dashboard/calendar/99999999999-{token}.ics",
        ):
            assert (await anyone.get(wrong)).status_code == 404, wrong


@pytest.mark.parametrize("typed", ["30/06/2027", "30 June 2027", "2027-06-30", "30th of June 2027"])
async def test_extend_takes_dates_as_people_type_them(world: World, typed: str) -> None:
    assert (await sign_in(world)).status_code == 303
    target = await deadline_of(world, "Group 001")
    token = csrf(await world.http.get("/dashboard/deadlines"))
    moved = await world.http.post(f"/dashboard/deadlines/{target.id}/extend", data={"due": typed, "csrf": token})
    assert moved.status_code == 303, moved.text[:500]
    async with world.app.bot.sessionmaker() as session:
        assert await session.scalar(select(Deadline.due_date).where(Deadline.id == target.id)) == date(2027, 6, 30)
        assert await session.scalar(select(func.count()).select_from(AuditEntry)) == 2


def test_the_boards_address_keeps_the_view_and_names_any_deadline() -> None:
    from svbot.dashboard.deadlines import View

    view = View(start=date(2027, 6, 1), programme="Warm Homes", org_id=5, page=3)
    assert (
        view.link(done="waived", d=1)
        == "/dashboard/deadlines?from=2027-06&programme=Warm+Homes&org=5&page=3&done=waived&d=1"
    )
    assert view.link(org=None, page=1) == "/dashboard/deadlines?from=2027-06&programme=Warm+Homes"
    assert View().link() == "/dashboard/deadlines"
