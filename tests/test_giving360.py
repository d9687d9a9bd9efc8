"""360Giving import: every sample file, re-import, changed files, and the offline schema."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from svbot.deadlines.giving360 import FileProblem, package_validator, read_grants
from svbot.deadlines.importer import UnknownSupportOrg, import_grants
from svbot.deadlines.models import SUBMITTED, Deadline, Grant, MonitoringSchedule
from svbot.deadlines.schedules import Schedule
from svbot.models import Organisation

SAMPLES = Path(__file__).parent / "data" / "360giving" / "samples"
PTC = SAMPLES / "powertochange_a002400000nO46WAAS.json"
LLOYDS = SAMPLES / "lloydsbankfoundation_360_giving_LBFEW_2010_2015.xlsx"
INDIGO = SAMPLES / "indigotrust_IndigoTrust_360giving.csv"
INVALID = SAMPLES / "INVALID_datagetter_aninvalidfile.json"
NOW = datetime(2026, 1, 10, 12, 0, tzinfo=UTC)


async def count(db: async_sessionmaker[AsyncSession], model: type) -> int:
    async with db() as session:
        return await session.scalar(select(func.count()).select_from(model))


async def deadlines_of(db: async_sessionmaker[AsyncSession], external_id: str) -> list[Deadline]:
    async with db() as session:
        grant = await session.scalar(select(Grant).where(Grant.external_id == external_id))
        return list(
            await session.scalars(
                select(Deadline).where(Deadline.grant_id == grant.id).order_by(Deadline.due_date)
            )
        )


async def test_json_package_imports_every_grant_and_a_second_import_changes_nothing(db) -> None:
    summary = await import_grants(db, PTC, now=NOW)
    assert (summary.total, summary.imported, summary.updated, summary.unchanged) == (870, 870, 0, 0)
    assert summary.skipped == []
    assert await count(db, Grant) == 870
    # Start 2017-01-17, end 2017-06-14: one full quarter, then a short last period; due 30 days after each.
    planned = await deadlines_of(db, "360G-ptc-gr-01653")
    assert [(d.key, d.due_date) for d in planned] == [
        ("quarterly:1", date(2017, 5, 16)),
        ("final", date(2017, 7, 14)),
    ]
    async with db() as session:
        grant = await session.scalar(select(Grant).where(Grant.external_id == "360G-ptc-gr-01653"))
        org = await session.get(Organisation, grant.organisation_id)
    assert (org.external_id, org.name, org.kind) == ("GB-COH-IP28755R", "Hyde Park Source", "member")
    assert str(grant.amount_awarded) == "3239.34"
    assert grant.programme == "CB Leadership (CBL)"
    # Reminders for 2017 deadlines are long past: none is pending.
    assert all(d.next_reminder_at is None for d in planned)

    deadlines_before = await count(db, Deadline)
    orgs_before = await count(db, Organisation)
    again = await import_grants(db, PTC, now=NOW)
    assert (again.imported, again.updated, again.unchanged, len(again.skipped)) == (0, 0, 870, 0)
    assert (again.deadlines_created, again.deadlines_updated, again.deadlines_removed) == (0, 0, 0)
    assert await count(db, Deadline) == deadlines_before
    assert await count(db, Organisation) == orgs_before


async def test_spreadsheet_imports_with_reasons_for_each_skipped_row(db) -> None:
    summary = await import_grants(db, LLOYDS, now=NOW, schedule=Schedule("six_monthly"))
    assert (summary.total, summary.imported, len(summary.skipped)) == (4116, 4110, 6)
    skipped = dict(summary.skipped)
    assert skipped["row 2363 (360G-LBFEW-75903)"] == ["Recipient Org: Identifier is missing"]
    assert skipped["row 397 (360G-LBFEW-115444)"] == ["Description is missing"]
    # Five of the six only lack a description, which svbot does not use.
    assert summary.lenient_would_import == 5
    planned = await deadlines_of(db, "360G-LBFEW-114001")  # start 2015-07-01, end 2016-06-30
    assert [(d.key, d.due_date) for d in planned] == [
        ("six_monthly:1", date(2016, 1, 30)),
        ("final", date(2016, 7, 30)),
    ]
    async with db() as session:
        # ' 1153055 ' with padding spaces in the file is matched as GB-CHC-1153055.
        padded = await session.scalar(
            select(Organisation).where(Organisation.external_id == "GB-CHC-1153055")
        )
    assert padded is not None


async def test_messy_csv_day_first_dates_text_durations_and_placeholder_ids(db) -> None:
    summary = await import_grants(db, INDIGO, now=NOW)
    assert (summary.imported, len(summary.skipped)) == (269, 0)
    notes = [note for _, notes in summary.warnings for note in notes]
    assert (
        notes.count("Recipient Org:Identifier DUMMY01 is shared by different organisations; matched by name")
        == 76
    )
    async with db() as session:
        first = await session.scalar(select(Grant).where(Grant.external_id == "360G-indigotrust:IND1"))
        assert first.award_date == date(2001, 3, 26)  # "26/03/2001 00:00", day first
        assert first.duration_months == 12  # "12 months"
        placeholder_orgs = (
            await session.scalars(select(Organisation).where(Organisation.external_id.like("name:%")))
        ).all()
        assert await session.scalar(select(func.count()).where(Organisation.external_id == "DUMMY01")) == 0
    # DUMMY01 grants did not collapse into one organisation.
    assert len(placeholder_orgs) > 30
    planned = await deadlines_of(db, "360G-indigotrust:IND1")
    assert planned[-1].due_date == date(2002, 4, 24)  # 12 months from 26 Mar 2001, then 30 days


async def test_invalid_file_gives_reasons_per_grant_and_imports_nothing(db) -> None:
    summary = await import_grants(db, INVALID, now=NOW)
    assert (summary.total, summary.imported, len(summary.skipped)) == (124, 0, 124)
    skipped = dict(summary.skipped)
    assert skipped["grant 1 (360G-Cloudesley-17)"] == ["Funding Org: Name is missing"]
    assert (
        "Currency: 'GPB' is not a currency code (for example GBP)" in skipped["grant 3 (360G-Cloudesley-19)"]
    )
    assert "Amount Awarded: 'tbc' is not a number" in skipped["grant 10 (360G-Cloudesley-25)"]
    assert (
        "Award Date: '17/11/2015' is not a date (write it as YYYY-MM-DD)"
        in skipped["grant 120 (360G-Cloudesley-20)"]
    )
    assert "Planned Dates:Duration (months): -12 is below 0" in skipped["grant 106 (360G-Cloudesley-405)"]
    assert skipped["grant 122"] == ["Identifier is missing", "Funding Org: Name is missing"]
    assert await count(db, Grant) == 0

    lenient = await import_grants(db, INVALID, now=NOW, lenient=True)
    assert (lenient.imported, len(lenient.skipped)) == (104, 20)
    # The grant with two plannedDates entries spans both.
    async with db() as session:
        two = await session.scalar(select(Grant).where(Grant.external_id == "360G-Cloudesley-183"))
    assert two is not None and two.planned_start < two.planned_end


async def test_changed_file_updates_grant_and_future_deadlines_but_keeps_submitted(
    db, tmp_path: Path
) -> None:
    path = tmp_path / "grants.json"
    grant = {
        "id": "360G-test-1",
        "title": "Youth club",
        "description": "Sessions",
        "currency": "GBP",
        "amountAwarded": 10000,
        "awardDate": "2026-03-01",
        "plannedDates": [{"startDate": "2026-04-01", "endDate": "2027-03-31", "duration": 12}],
        "recipientOrganization": [{"id": "GB-CHC-1000001", "name": "Hastings Youth"}],
        "fundingOrganization": [{"id": "GB-CHC-2000002", "name": "East Sussex Fund"}],
        "grantProgramme": [{"title": "Community"}],
    }
    path.write_text(json.dumps({"grants": [grant]}))
    now = datetime(2026, 8, 15, 12, 0, tzinfo=UTC)
    first = await import_grants(db, path, now=now)
    assert (first.imported, first.deadlines_created) == (1, 4)
    before = {d.key: d for d in await deadlines_of(db, "360G-test-1")}
    async with db() as session, session.begin():  # the first report went in
        submitted = await session.get(Deadline, before["quarterly:1"].id)
        submitted.status = SUBMITTED

    grant["title"] = "Youth club and cafe"
    grant["plannedDates"] = [{"startDate": "2026-04-01", "endDate": "2027-09-30", "duration": 18}]
    path.write_text(json.dumps({"grants": [grant]}))
    second = await import_grants(db, path, now=now)
    assert (second.imported, second.updated, second.unchanged) == (0, 1, 0)
    after = {d.key: d for d in await deadlines_of(db, "360G-test-1")}
    assert after["quarterly:1"].status == SUBMITTED
    assert after["quarterly:1"].due_date == date(2026, 7, 30)
    assert after["quarterly:1"].id == before["quarterly:1"].id
    assert after["quarterly:2"].id == before["quarterly:2"].id  # same deadline, not a new one
    assert after["quarterly:4"].title == "Quarterly monitoring report (4 of 6)"
    assert after["final"].due_date == date(2027, 10, 30)
    assert len(after) == 6
    async with db() as session:
        stored = await session.scalar(select(Grant).where(Grant.external_id == "360G-test-1"))
    assert stored.title == "Youth club and cafe"

    # A shorter grant and an annual schedule: future open deadlines go, the submitted one stays.
    async with db() as session, session.begin():
        session.add(MonitoringSchedule(support_org_id=None, programme="Community", frequency="annual"))
    third = await import_grants(db, path, now=now)
    assert third.updated == 1
    keys = {d.key: d.status for d in await deadlines_of(db, "360G-test-1")}
    assert keys == {"quarterly:1": SUBMITTED, "annual:1": "upcoming", "final": "upcoming"}


async def test_file_problems_are_one_clear_sentence(tmp_path: Path, db) -> None:
    with pytest.raises(FileProblem, match="cannot find"):
        read_grants(tmp_path / "missing.json")
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(FileProblem, match="is not valid JSON"):
        read_grants(bad)
    wrong = tmp_path / "list.json"
    wrong.write_text("[1, 2]")
    with pytest.raises(FileProblem, match='no list of "grants"'):
        read_grants(wrong)
    sheet = tmp_path / "people.csv"
    sheet.write_text("Name,Email\nAda,ada@example.org\n")
    with pytest.raises(FileProblem, match='no 360Giving "Identifier" column'):
        read_grants(sheet)
    with pytest.raises(FileProblem, match=".json, .csv or .xlsx"):
        read_grants(_touch(tmp_path / "grants.pdf"))
    with pytest.raises(UnknownSupportOrg):
        await import_grants(db, INDIGO, now=NOW, support_org_id=999)


def _touch(path: Path) -> Path:
    path.write_bytes(b"%PDF")
    return path


def test_package_schema_resolves_its_remote_reference_offline() -> None:
    package = json.loads(INVALID.read_text())
    errors = list(package_validator().iter_errors(package))
    # The 150 errors the sample's notes list: only possible with the grant schema resolved locally.
    assert len(errors) == 150
