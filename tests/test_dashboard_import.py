"""Grants import by upload on the staff dashboard (issue 18), over HTTP through the web app `svbot serve`
builds, with real 360Giving files (tests/data/360giving/samples): a dry run that writes nothing and
shows what would be created, updated and skipped, and why; then the import, run in a thread of its own
while a page that refreshes itself shows how far it got, ending with the organisations it created.
Files too big or unreadable are refused kindly, a form without its CSRF token is refused, and another
support organisation's upload is not shown. The same flow in a real browser is in
tests/browser/test_import_browser.py."""

from __future__ import annotations

import asyncio
import csv
import dataclasses
import html
import io
import re
import threading
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from svbot.dashboard import imports
from svbot.dashboard.models import AuditEntry
from svbot.deadlines.importer import import_grants
from svbot.deadlines.models import Deadline, Grant
from svbot.models import Organisation
from tests import test_dashboard
from tests.test_dashboard import NOW, World, csrf, link_for, sign_in, staff

SAMPLES = Path(__file__).parent / "data" / "360giving" / "samples"
INDIGO = SAMPLES / "indigotrust_IndigoTrust_360giving.csv"  # 269 grants to 206 organisations, 2001 to 2018
INVALID = SAMPLES / "INVALID_datagetter_aninvalidfile.json"  # 124 grants, each with problems
PTC = SAMPLES / "powertochange_a002400000nO46WAAS.json"
world = test_dashboard.world  # the fixture: a support organisation with 120 members, and Sue its staff


@pytest.fixture(autouse=True)
def uploads(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Where uploads are kept between the dry run and the import: this test's own folder."""
    folder = tmp_path / "uploads"
    monkeypatch.setattr(imports, "UPLOADS", folder)
    return folder


async def counts(world: World) -> tuple[int, int, int]:
    async with world.app.bot.sessionmaker() as session:
        return tuple([await session.scalar(select(func.count()).select_from(model))
                      for model in (Grant, Organisation, Deadline)])  # type: ignore[return-value]  # fmt: skip


async def upload(world: World, name: str, content: bytes, ignore_before: str = "", token: str = "") -> httpx.Response:
    form = await world.http.get("/dashboard/import")
    data = {"csrf": token or csrf(form), "ignore_before": ignore_before}
    return await world.http.post("/dashboard/import", data=data, files={"file": (name, content, "text/csv")})


async def settled(world: World, path: str) -> httpx.Response:
    """The upload's page once it stops refreshing itself (the dry run or the import has finished)."""
    for _ in range(3000):
        page = await world.http.get(path)
        if 'http-equiv="refresh"' not in page.text:
            return page
        await asyncio.sleep(0.02)
    raise AssertionError(f"{path} still working")


def words(page: httpx.Response) -> str:
    """The page's text without tags, entities read, spaces made single."""
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", page.text)).split())


async def checked(world: World, file: Path, ignore_before: str = "") -> tuple[str, httpx.Response]:
    sent = await upload(world, file.name, file.read_bytes(), ignore_before)
    assert sent.status_code == 303, sent.text[:500]
    path = sent.headers["location"]
    assert re.fullmatch(r"/dashboard/import/[A-Za-z0-9_-]{20,}", path)
    return path, await settled(world, path)


def bad_rows() -> bytes:
    """Five grants from Indigo Trust's real file, four of them spoiled as staff find them in the wild."""
    rows = list(csv.reader(io.StringIO(INDIGO.read_text(encoding="utf-8-sig"))))
    header, body = rows[0], [list(r) for r in rows[1:6]]
    for i, name in enumerate(header):
        if name.startswith("Recipient Org:"):
            body[1][i] = ""  # no recipient
    body[2][header.index("Award Date")] = "the spring"  # an unreadable date
    body[3][header.index("Identifier")] = body[0][header.index("Identifier")]  # a duplicate
    for name in ("Award Date", "Planned Dates:Start Date", "Planned Dates:End Date", "Planned Dates:Duration (months)"):
        body[4][header.index(name)] = ""  # no dates
    out = io.StringIO()
    csv.writer(out).writerows([header, *body])
    return out.getvalue().encode()


async def test_the_upload_form(world: World) -> None:
    await sign_in(world)
    page = await world.http.get("/dashboard/import")
    assert page.status_code == 200
    assert '<a href="/dashboard/import" aria-current="page">Import grants</a>' in page.text
    assert 'enctype="multipart/form-data"' in page.text and 'name="csrf"' in page.text
    text = words(page)
    assert "360Giving file (.json, .csv or .xlsx, up to 10 MB)" in text
    assert "Ignore reports due before (optional)" in text
    assert '<label for="file">' in page.text and '<label for="ignore_before">' in page.text


async def test_a_dry_run_writes_nothing_then_the_import_makes_grants_organisations_and_deadlines(
    world: World, uploads: Path
) -> None:
    await sign_in(world)
    before = await counts(world)
    path, page = await checked(world, INDIGO, ignore_before="2015-01-01")
    assert page.status_code == 200
    assert await counts(world) == before, "the dry run wrote nothing"
    text = words(page)
    assert "svbot checked the file's 269 grants. Nothing has changed yet." in text
    assert "Reports due before 1 January 2015 would not be tracked." in text
    assert "New grants 269" in text and "Grants skipped (why, below) 0" in text
    assert "New member organisations 206" in text
    tracked = int(re.search(r"Reports to track (\d+)", text).group(1))
    untracked = int(re.search(r"Reports due before the date, not tracked ([\d,]+)", text).group(1).replace(",", ""))
    assert tracked > 0 and untracked > 0
    assert f"{untracked:,} reports due before 1 January 2015 won't be tracked." in text
    assert "Discover" in text, "the new organisations' names, under Show their names"
    assert len(list(uploads.iterdir())) == 1, "the file is kept for the import"

    run = await world.http.post(path + "/run", data={"csrf": csrf(page)})
    assert run.status_code == 303 and run.headers["location"] == path
    done = await settled(world, path)
    grants, orgs, deadlines = await counts(world)
    assert (grants, orgs, deadlines) == (before[0] + 269, before[1] + 206, before[2] + tracked)
    text = words(done)
    assert f"Done: 269 new grants, 0 updated, 0 skipped. Reports: {tracked} to track, 0 moved, 0 removed." in text
    assert "206 organisations the import created" in text
    links = re.findall(r'<a href="/dashboard/members/(\d+)">([^<]+)</a>', done.text)
    assert len(links) == 206 and ("Discover" in {html.unescape(n) for _, n in links})
    async with world.app.bot.sessionmaker() as session:
        created = (await session.execute(select(Organisation.id, Organisation.support_org_id, Organisation.name)
                                          .where(Organisation.id.in_([int(i) for i, _ in links])))).all()  # fmt: skip
        assert {s for _, s, _ in created} == {world.brighton} and len(created) == 206
        supported = await session.scalars(select(Grant.support_org_id).where(Grant.external_id.like("360G-indigo%")))
        assert set(supported) == {world.brighton}, "the staff's own support organisation, as --support-org"
        logged = (await session.execute(select(AuditEntry.action, AuditEntry.detail))).all()
    assert ("grants_imported", f"{INDIGO.name}: 269 new, 0 updated, 0 skipped, 206 new organisations") in logged
    member = await world.http.get(f"/dashboard/members/{links[0][0]}")
    assert member.status_code == 200 and html.unescape(links[0][1]) in html.unescape(member.text)
    overview = words(await world.http.get("/dashboard/"))
    assert f"Sue imported grants from {INDIGO.name}: 269 new" in overview
    assert list(uploads.iterdir()) == [], "the kept file is removed after the import"

    again = await world.http.post(path + "/run", data={"csrf": csrf(page)})  # pressed twice: imported once
    assert again.status_code == 303 and await counts(world) == (grants, orgs, deadlines)


async def test_each_skipped_grant_says_why(world: World) -> None:
    await sign_in(world)
    before = await counts(world)
    sent = await upload(world, "spoiled.csv", bad_rows())
    page = await settled(world, sent.headers["location"])
    text = words(page)
    assert "4 grants would be skipped" in text and "New grants 1" in text
    assert "row 3 (360G-indigotrust:IND2) Recipient Org is missing" in text
    assert "row 4 (360G-indigotrust:IND3) Award Date: 'the spring' is not a date (write it as YYYY-MM-DD)" in text
    assert "row 5 (360G-indigotrust:IND1) Identifier 360G-indigotrust:IND1 is repeated" in text
    assert "row 6 (360G-indigotrust:IND5) Award Date is missing" in text
    assert "Import these grants" in text
    assert '<th scope="col">Where in the file</th>' in page.text

    path, page = await checked(world, INVALID)
    text = words(page)
    assert "124 grants would be skipped" in text and "New grants 0" in text
    assert "grant 3 (360G-Cloudesley-19)" in text and "Currency: 'GPB' is not a currency code" in text
    assert "None of the grants in this file can be imported" in text and "Import these grants" not in text
    refused = await world.http.post(path + "/run", data={"csrf": csrf(page)})
    assert refused.status_code == 303
    assert "None of the grants" in words(await world.http.get(path)) and await counts(world) == before


async def test_too_big_empty_mislabelled_and_unreadable_files_are_refused_kindly(world: World, uploads: Path) -> None:
    await sign_in(world)
    before = await counts(world)
    huge = await upload(world, "huge.csv", b"x" * (11 * 1024 * 1024))  # refused before it is read
    assert huge.status_code == 413
    assert "That file is bigger than 10 MB, the most svbot takes." in words(huge)
    assert 'name="file"' in huge.text, "the form again, to choose another"
    just_over = await upload(world, "over.csv", b"x" * (imports.LIMIT + 1))  # read, then refused
    assert just_over.status_code == 413 and "bigger than 10 MB" in words(just_over)

    for name, content, status, said in [
        ("grants.txt", b"Identifier\n1\n", 400, "svbot reads 360Giving files ending .json, .csv or .xlsx"),
        ("grants.csv", b"", 400, "That file is empty."),
    ]:
        refused = await upload(world, name, content)
        assert refused.status_code == status and said in words(refused), name
    bad_date = await upload(world, "indigo.csv", INDIGO.read_bytes(), ignore_before="the thirty-first of Smarch")
    assert bad_date.status_code == 400 and "Please give the date as day, month and year" in words(bad_date)
    assert not uploads.exists() or list(uploads.iterdir()) == [], "nothing kept"

    for name, content, said in [
        ("grants.json", b"{not json", "grants.json is not valid JSON"),
        ("grants.json", b'{"grants": "none"}', 'grants.json is not a 360Giving package: it has no list of "grants"'),
        ("grants.xlsx", b"Identifier,Title\n1,2\n", "grants.xlsx is not a readable Excel file"),
        ("grants.csv", b"Name,Amount\nA,1\n", 'grants.csv has no 360Giving "Identifier" column in its first row'),
    ]:
        sent = await upload(world, name, content)
        page = await settled(world, sent.headers["location"])
        text = words(page)
        assert "svbot couldn't read this file, so nothing was imported." in text and said in text, text
        assert "Import these grants" not in text
    assert await counts(world) == before


async def test_a_form_without_its_csrf_token_is_refused(world: World, uploads: Path) -> None:
    await sign_in(world)
    before = await counts(world)
    refused = await upload(world, INDIGO.name, INDIGO.read_bytes(), token="forged")
    assert refused.status_code == 403 and not uploads.exists()
    path, page = await checked(world, INDIGO)
    for action in ("/run", "/check"):
        refused = await world.http.post(path + action, data={"csrf": ""})
        assert refused.status_code == 403, action
    assert "Import these grants" in (await world.http.get(path)).text and await counts(world) == before


async def test_another_support_organisations_upload_is_not_shown(world: World) -> None:
    await sign_in(world)
    path, page = await checked(world, INDIGO)
    hastings_staff = await staff(world.app, "Hal", world.hastings)
    world.http.cookies.clear()
    link = (await link_for(world, hastings_staff, world.hastings)).removeprefix("http://dash.test")
    assert (await world.http.post(link)).status_code == 303
    assert (await world.http.get(path)).status_code == 403
    theirs = await world.http.get("/dashboard/import")
    assert INDIGO.name not in theirs.text, "not in their list of uploads"
    gone = await world.http.get("/dashboard/import/no-such-upload")
    assert gone.status_code == 404 and "That upload is no longer here" in words(gone)


async def test_the_page_refreshes_itself_while_the_work_runs_off_the_event_loop(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    go = threading.Event()

    async def held(*args: Any, **kwargs: Any) -> Any:
        # In the import's own thread: it waits here, as a slow file would, until the test lets it go.
        assert go.wait(60), "never let go"
        return await import_grants(*args, **kwargs)

    monkeypatch.setattr(imports, "import_grants", held)
    try:
        await watched_while_held(world, go)
    finally:
        go.set()  # a failure half-way leaves no thread waiting


async def watched_while_held(world: World, go: threading.Event) -> None:
    await sign_in(world)
    sent = await upload(world, INDIGO.name, INDIGO.read_bytes(), ignore_before="01/01/2015")
    path = sent.headers["location"]
    checking = await world.http.get(path)
    assert '<meta http-equiv="refresh" content="2">' in checking.text
    assert "Checking the file. Nothing is being changed." in words(checking)
    still = await world.http.get(path + "?refresh=off")
    assert "http-equiv" not in still.text and f'<a href="{path}">See how it\'s going</a>' in html.unescape(still.text)
    listed = await world.http.get("/dashboard/import")
    assert f'<a href="{path}">{INDIGO.name}</a>: being checked' in listed.text
    go.set()
    page = await settled(world, path)
    assert "Reports due before 1 January 2015 would not be tracked." in words(page)

    go.clear()
    assert (await world.http.post(path + "/run", data={"csrf": csrf(page)})).status_code == 303
    importing = await world.http.get(path)
    assert '<meta http-equiv="refresh" content="2">' in importing.text
    assert "Importing the grants." in words(importing)
    overview = await world.http.get("/dashboard/")  # the web process answers while the import runs
    assert overview.status_code == 200 and "120" in overview.text
    go.set()
    assert "Done: 269 new grants" in words(await settled(world, path))


async def test_checking_again_with_another_date_needs_no_new_upload(world: World) -> None:
    await sign_in(world)
    path, page = await checked(world, INDIGO)
    text = words(page)
    assert "would not be tracked" not in text
    everything = int(re.search(r"Reports to track ([\d,]+)", text).group(1).replace(",", ""))
    again = await world.http.post(path + "/check", data={"csrf": csrf(page), "ignore_before": "2015-01-01"})
    assert again.status_code == 303 and again.headers["location"] == path
    text = words(await settled(world, path))
    tracked = int(re.search(r"Reports to track ([\d,]+)", text).group(1).replace(",", ""))
    untracked = int(re.search(r"Reports due before the date, not tracked ([\d,]+)", text).group(1).replace(",", ""))
    assert "Reports due before 1 January 2015 would not be tracked." in text
    assert tracked + untracked == everything and 0 < tracked < everything


async def test_a_dry_run_says_exactly_what_the_import_then_does(world: World) -> None:
    sessionmaker = world.app.bot.sessionmaker
    options = {"now": NOW, "support_org_id": world.brighton, "ignore_before": date(2020, 1, 1)}
    before = await counts(world)
    seen: list[tuple[int, int]] = []
    dry = await import_grants(sessionmaker, PTC, dry_run=True, progress=lambda *done: seen.append(done), **options)
    assert await counts(world) == before and seen[-1] == (dry.total, dry.total)
    real = await import_grants(sessionmaker, PTC, **options)
    assert dataclasses.asdict(dry)["new_organisations"] and dry.imported == 870
    if world.app.settings.async_database_url.startswith("sqlite"):  # PostgreSQL's sequences move on: other ids
        assert dataclasses.asdict(dry) == dataclasses.asdict(real)
    else:
        assert [n for _, n in dry.new_organisations] == [n for _, n in real.new_organisations]
    grants, orgs, deadlines = await counts(world)
    assert (grants - before[0], orgs - before[1], deadlines - before[2]) == (
        real.imported, real.organisations_created, real.deadlines_created
    )  # fmt: skip


def test_file_names_on_disk_are_tidy() -> None:
    assert imports._safe_name("../../etc/Grants 2024 (final).XLSX") == "Grants_2024_final.xlsx"
    assert imports._safe_name("....csv") == "grants.csv"
