"""Issue 16, item 5: a re-import never undoes a monitoring report. A deadline with a report begun
(a draft) or submitted counts as touched: the import keeps it as it is, never moves or deletes it,
even when the schedule changes and when --ignore-before is later than its due date."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from sqlalchemy import select

from svbot.deadlines.importer import import_grants
from svbot.deadlines.models import UPCOMING, Deadline
from svbot.monitoring import DRAFT, SUBMITTED, MonitoringReport, save_draft
from tests.test_deadline_fixes import IMPORTED_AT, deadlines_of, grant_file

GRANT = "360G-test-1"  # tests.test_deadline_fixes.grant_file's grant


async def draft(db, deadline_id: int, answers: dict, *, status: str = DRAFT) -> None:
    """A report begun for this deadline, stored by svbot.monitoring's own save_draft."""
    async with db() as session, session.begin():
        deadline = await session.get(Deadline, deadline_id)
        row = await save_draft(session, deadline, answers, [], IMPORTED_AT)
        row.status = status


async def reports(db) -> dict[int, tuple[str, dict]]:
    async with db() as session:
        rows = await session.scalars(select(MonitoringReport))
        return {r.deadline_id: (r.status, r.answers["answers"]) for r in rows}


async def test_a_deadline_with_a_draft_or_submitted_report_survives_a_reimport(db, tmp_path: Path) -> None:
    path = grant_file(tmp_path / "grants.json", end="2027-09-30")  # five quarterly reports and a final one
    first = await import_grants(db, path, now=IMPORTED_AT)
    assert first.deadlines_created == 6
    before = {d.key: d for d in await deadlines_of(db, GRANT)}
    q1, q5 = before["quarterly:1"], before["quarterly:5"]
    assert (q1.due_date, q5.due_date) == (date(2026, 7, 30), date(2027, 7, 30))
    await draft(db, q1.id, {"activities": "Six youth club sessions"})  # begun, not submitted
    await draft(db, q5.id, {"activities": "Summer trips"}, status=SUBMITTED)  # the report went in
    # (the deadline itself stays open: only the report row says anything was done)
    assert {d.status for d in await deadlines_of(db, GRANT)} == {UPCOMING}

    # The funder's file now starts the grant a month later and ends it after a year: the schedule
    # moves every report and has no fourth or fifth quarter.
    grant_file(path, end="2027-04-30", start="2026-05-01")
    moved = await import_grants(db, path, now=IMPORTED_AT)
    assert moved.updated == 1
    after = {d.key: d for d in await deadlines_of(db, GRANT)}
    for key, was in (("quarterly:1", q1), ("quarterly:5", q5)):
        kept = after[key]
        assert (kept.id, kept.status, kept.due_date, kept.period_start, kept.period_end, kept.title) == (
            was.id, was.status, was.due_date, was.period_start, was.period_end, was.title
        ), f"{key}: its report keeps it as it was"  # fmt: skip
    assert "quarterly:4" not in after, "untouched, and the schedule has no fourth quarter now"
    assert after["quarterly:2"].due_date == date(2026, 11, 30), "untouched: follows the schedule"
    assert (moved.deadlines_removed, moved.deadlines_kept) == (1, 2)  # the fourth quarter gone; 1 and 5 kept

    # Later, the admin tracks reports from 2027 only: an untouched earlier report goes, the drafted
    # one (due 30 July 2026) stays, and so does every answer.
    cut = await import_grants(db, path, now=IMPORTED_AT, ignore_before=date(2027, 1, 1))
    assert cut.deadlines_untracked >= 1
    left = {d.key: d for d in await deadlines_of(db, GRANT)}
    assert left["quarterly:1"].id == q1.id and left["quarterly:1"].due_date == date(2026, 7, 30)
    assert left["quarterly:5"].id == q5.id
    assert "quarterly:2" not in left, "untouched and before the cutoff: untracked"
    assert await reports(db) == {
        q1.id: (DRAFT, {"activities": "Six youth club sessions"}),
        q5.id: (SUBMITTED, {"activities": "Summer trips"}),
    }
