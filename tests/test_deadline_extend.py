"""A funder agrees a later date, or no longer needs a report: `svbot deadlines extend ID --to DATE`
and `svbot deadlines waive ID`, as an admin runs them. An extended deadline keeps the date it had
(`deadlines list` shows it), its reminders are planned again from the new date, and a re-import never
moves it back (issue 16, item 5)."""

from __future__ import annotations

import subprocess
import sys
from datetime import date
from pathlib import Path

from sqlalchemy import select

from svbot.deadlines.importer import import_grants
from svbot.deadlines.models import UPCOMING, WAIVED, Deadline
from svbot.deadlines.service import deadline_ref
from svbot.delivery.models import OutboxMessage
from tests.reliability.support import svbot_env
from tests.test_deadline_fixes import IMPORTED_AT, deadlines_of, grant_file

GRANT = "360G-test-1"


def svbot(tmp_path: Path, db_url: str, *args: str, ok: bool = True) -> subprocess.CompletedProcess[str]:
    done = subprocess.run([sys.executable, "-m", "svbot.cli", *args], capture_output=True, text=True,
                          env=svbot_env(db_url), cwd=tmp_path, timeout=120)  # fmt: skip
    assert (done.returncode == 0) == ok, (done.stdout, done.stderr)
    assert "Traceback" not in done.stdout + done.stderr
    return done


async def test_an_extended_deadline_moves_keeps_its_first_date_and_survives_a_reimport(
    db, db_url: str, tmp_path: Path
) -> None:
    path = grant_file(tmp_path / "grants.json", end="2027-09-30")
    await import_grants(db, path, now=IMPORTED_AT)
    by_key = {d.key: d for d in await deadlines_of(db, GRANT)}
    late = by_key["quarterly:4"]  # due 30 April 2027
    assert late.due_date == date(2027, 4, 30) and late.extended_from is None
    async with db() as session, session.begin():  # a reminder already queued for the old date
        queued = OutboxMessage(dedupe_key=f"test:{late.id}", kind="reminder", ref=deadline_ref(late.id),
                               platform="console", chat_id="x", payload={}, next_attempt_at=IMPORTED_AT)  # fmt: skip
        session.add(queued)

    said = svbot(tmp_path, db_url, "deadlines", "extend", str(late.id), "--to", "15/06/2027").stdout
    assert f"(deadline {late.id}) is now due Tue 15 Jun 2027 (first due Fri 30 Apr 2027)" in said
    async with db() as session:
        moved = await session.get(Deadline, late.id)
        queued = await session.scalar(select(OutboxMessage).where(OutboxMessage.dedupe_key == f"test:{late.id}"))
    assert (moved.due_date, moved.extended_from, moved.status) == (date(2027, 6, 15), date(2027, 4, 30), UPCOMING)
    assert moved.next_reminder_at is None or moved.next_reminder_at.date() > date(2027, 5, 1), "planned from June"
    assert queued.status == "cancelled", "the reminder queued for the old date is not sent"

    # Extended twice: the first date is the one remembered.
    svbot(tmp_path, db_url, "deadlines", "extend", str(late.id), "--to", "2027-07-01")
    listed = svbot(tmp_path, db_url, "deadlines", "list", "--today", "2026-09-01").stdout
    line = next(row for row in listed.splitlines() if row.strip().startswith(str(late.id)))
    assert "Thu 1 Jul 2027" in line and "[extended from Fri 30 Apr 2027]" in line

    # The funder's file changes the schedule: the extended deadline stays as the funder agreed it.
    grant_file(path, end="2027-09-30", start="2026-05-01")
    await import_grants(db, path, now=IMPORTED_AT)
    after = {d.key: d for d in await deadlines_of(db, GRANT)}
    assert (after["quarterly:4"].id, after["quarterly:4"].due_date) == (late.id, date(2027, 7, 1))
    assert after["quarterly:3"].due_date != by_key["quarterly:3"].due_date, "untouched ones follow the file"


async def test_waive_stops_a_report_and_bad_input_gets_a_clear_message(db, db_url: str, tmp_path: Path) -> None:
    path = grant_file(tmp_path / "grants.json", end="2027-09-30")
    await import_grants(db, path, now=IMPORTED_AT)
    first = (await deadlines_of(db, GRANT))[0]

    said = svbot(tmp_path, db_url, "deadlines", "waive", str(first.id)).stdout
    assert "is waived: no more reminders for it" in said
    async with db() as session:
        waived = await session.get(Deadline, first.id)
    assert waived.status == WAIVED and waived.next_reminder_at is None
    again = svbot(tmp_path, db_url, "deadlines", "waive", str(first.id), ok=False).stderr
    assert "is already waived: left as it is" in again
    closed = svbot(tmp_path, db_url, "deadlines", "extend", str(first.id), "--to", "2027-06-15", ok=False).stderr
    assert "there is no open deadline with id" in closed, "a waived report is not extended"
    for args, message in (
        (("extend", "999", "--to", "2027-06-15"), "No deadline with id 999. `svbot deadlines list --all` shows them."),
        (("extend", str(first.id), "--to", "31/02/2027"), "--to '31/02/2027'"),
        (("extend", str(first.id), "--to", "soon"), "For example: 01/04/2027"),
        (("waive", "999"), "No deadline with id 999."),
    ):
        assert message in svbot(tmp_path, db_url, "deadlines", *args, ok=False).stderr
