"""Deadlines know their period (issue 16, item 0), and programme settings (`svbot programme`).

Through the real `svbot` command on the test's database (SQLite, or PostgreSQL with
SVBOT_TEST_DATABASE_URL), and migration 0009 run on a database holding deadlines made without periods.
"""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest
from alembic import command

from svbot.db import alembic_config, upgrade
from svbot.deadlines.schedules import GrantPeriod, Schedule, due_dates
from tests.conftest import run_sql, table_names

D = date.fromisoformat


def svbot(db_url: str, cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DATABASE_URL": db_url}
    return subprocess.run([sys.executable, "-m", "svbot", *args], capture_output=True, text=True, env=env,
                          cwd=cwd, timeout=120)  # fmt: skip


def ok(db_url: str, cwd: Path, *args: str) -> str:
    done = svbot(db_url, cwd, *args)
    assert done.returncode == 0, done.stderr
    return done.stdout


def one_line_error(done: subprocess.CompletedProcess[str], reason: str) -> None:
    assert done.returncode == 1, (done.stdout, done.stderr)
    assert "Traceback" not in done.stderr
    assert done.stderr.strip().count("\n") == 0, done.stderr
    assert done.stderr.startswith("svbot: ") and reason in done.stderr, done.stderr


# ---- the periods, as the schedule makes them ----------------------------------------------------------

GRANT = GrantPeriod(D("2027-04-01"), D("2028-03-31"), False)


def periods(schedule: Schedule, grant: GrantPeriod = GRANT) -> list[tuple[str, date, date, date]]:
    return [(p.key, p.due_date, p.period_start, p.period_end) for p in due_dates(schedule, grant)]


def test_a_quarterly_report_covers_its_quarter_and_the_last_runs_to_the_grants_end() -> None:
    assert periods(Schedule("quarterly")) == [
        ("quarterly:1", D("2027-07-30"), D("2027-04-01"), D("2027-06-30")),
        ("quarterly:2", D("2027-10-30"), D("2027-07-01"), D("2027-09-30")),
        ("quarterly:3", D("2028-01-30"), D("2027-10-01"), D("2027-12-31")),
        ("final", D("2028-04-30"), D("2028-01-01"), D("2028-03-31")),
    ]
    short = GrantPeriod(D("2027-01-17"), D("2027-06-14"), False)  # a quarter, then a short last period
    assert periods(Schedule("quarterly"), short) == [
        ("quarterly:1", D("2027-05-16"), D("2027-01-17"), D("2027-04-16")),
        ("final", D("2027-07-14"), D("2027-04-17"), D("2027-06-14")),
    ]


def test_six_monthly_annual_and_end_of_grant_periods() -> None:
    assert periods(Schedule("six_monthly")) == [
        ("six_monthly:1", D("2027-10-30"), D("2027-04-01"), D("2027-09-30")),
        ("final", D("2028-04-30"), D("2027-10-01"), D("2028-03-31")),
    ]
    two_years = GrantPeriod(D("2027-04-01"), D("2029-03-31"), False)
    assert periods(Schedule("annual"), two_years) == [
        ("annual:1", D("2028-04-30"), D("2027-04-01"), D("2028-03-31")),
        ("final", D("2029-04-30"), D("2028-04-01"), D("2029-03-31")),
    ]
    assert periods(Schedule("end_of_grant")) == [("final", D("2028-04-30"), D("2027-04-01"), D("2028-03-31"))]


def test_a_one_off_or_listed_report_covers_from_the_previous_one_or_the_start_to_its_due_date() -> None:
    assert periods(Schedule("one_off", months_after_start=3)) == [
        ("one_off", D("2027-07-01"), D("2027-04-01"), D("2027-07-01"))
    ]
    listed = Schedule("dates", dates=(D("2028-04-30"), D("2027-10-31"), D("2028-06-30")))
    assert periods(listed) == [
        ("date:2027-10-31", D("2027-10-31"), D("2027-04-01"), D("2027-10-31")),
        ("date:2028-04-30", D("2028-04-30"), D("2027-11-01"), D("2028-03-31")),  # not past the grant's end
        ("date:2028-06-30", D("2028-06-30"), D("2028-03-31"), D("2028-03-31")),
    ]


# ---- stored periods, and the migration that backfills them ----------------------------------------------

SCHEDULED = {  # grant title -> what `grants add` is given
    "Quarterly grant": ["--schedule", "quarterly"],
    "Six-monthly grant": ["--schedule", "six_monthly"],
    "Annual grant": ["--schedule", "annual"],
    "One-off grant": ["--schedule", "one_off"],
    "End of grant grant": ["--schedule", "end_of_grant"],
    "Listed dates grant": ["--programme", "LISTED"],
    "Open-ended grant": ["--schedule", "quarterly", "--no-end"],
}


def stored_periods(db_url: str) -> dict[tuple[str, str], tuple]:
    rows = run_sql(db_url, "SELECT g.title, d.key, d.due_date, d.period_start, d.period_end FROM deadlines d "
                           "JOIN grants g ON g.id = d.grant_id ORDER BY d.id")  # fmt: skip
    return {(r[0], r[1]): tuple(_day(v) for v in r[2:]) for r in rows}


def _day(value: object) -> date | None:
    return D(value) if isinstance(value, str) else value  # type: ignore[return-value]


def add_grants(db_url: str, tmp_path: Path) -> None:
    assert ok(db_url, tmp_path, "support", "create", "Test CVS").strip() == "1"
    ok(db_url, tmp_path, "support", "add-org", "--support-org", "1", "--name", "Lunch Club")
    ok(db_url, tmp_path, "grants", "schedule", "dates", "--support-org", "1", "--programme", "LISTED",
       "--dates", "2027-10-31,2028-04-30")  # fmt: skip
    for title, options in SCHEDULED.items():
        end = [] if "--no-end" in options else ["--end", "31/03/2028"]
        given = [o for o in options if o != "--no-end"]
        ok(db_url, tmp_path, "grants", "add", "--org", "2", "--title", title, "--start", "01/04/2027", *end, *given)


def test_new_deadlines_get_their_period_and_the_migration_backfills_the_same_on_existing_ones(
    db_url: str, tmp_path: Path
) -> None:
    add_grants(db_url, tmp_path)
    made = stored_periods(db_url)
    assert made[("Quarterly grant", "quarterly:2")] == (D("2027-10-30"), D("2027-07-01"), D("2027-09-30"))
    assert made[("Quarterly grant", "final")] == (D("2028-04-30"), D("2028-01-01"), D("2028-03-31"))
    assert made[("Six-monthly grant", "six_monthly:1")] == (D("2027-10-30"), D("2027-04-01"), D("2027-09-30"))
    assert made[("Annual grant", "final")] == (D("2028-04-30"), D("2027-04-01"), D("2028-03-31"))
    assert made[("One-off grant", "one_off")] == (D("2027-07-01"), D("2027-04-01"), D("2027-07-01"))
    assert made[("End of grant grant", "final")] == (D("2028-04-30"), D("2027-04-01"), D("2028-03-31"))
    assert made[("Listed dates grant", "date:2028-04-30")] == (D("2028-04-30"), D("2027-11-01"), D("2028-03-31"))
    assert made[("Open-ended grant", "final")] == (D("2028-04-30"), D("2028-01-01"), D("2028-03-31"))  # 12 months
    assert len(made) == 4 + 2 + 1 + 1 + 1 + 2 + 4
    assert all(start is not None and end is not None for _, start, end in made.values())

    # A database from before this change: the deadlines are there, their periods are not.
    command.downgrade(alembic_config(db_url), "0008_social_value_facts")
    assert "programmes" not in table_names(db_url)
    with pytest.raises(Exception, match="period_start"):
        run_sql(db_url, "SELECT period_start FROM deadlines")
    upgrade(db_url)  # what `svbot db upgrade` runs
    assert stored_periods(db_url) == made, "the backfill gives each deadline the period the schedule gives it"
    assert {"programmes", "grant_outcomes"} <= table_names(db_url)


def test_the_backfill_of_a_quarterly_final_and_listed_dates_follows_the_schedule() -> None:
    """The migration's own rules, on rows as they were stored (id, key, due date)."""
    migration = _migration()
    from types import SimpleNamespace as R

    grant = (D("2027-01-17"), D("2027-06-14"))
    got = migration.periods(grant, [R(id=1, key="quarterly:1", due_date=D("2027-05-16")),
                                    R(id=2, key="final", due_date=D("2027-07-14"))])  # fmt: skip
    assert got == {1: (D("2027-01-17"), D("2027-04-16")), 2: (D("2027-04-17"), D("2027-06-14"))}
    listed = migration.periods(
        (D("2027-04-01"), D("2028-03-31")),
        [R(id=7, key="date:2028-04-30", due_date=D("2028-04-30")), R(id=6, key="date:2027-10-31",
                                                                       due_date=D("2027-10-31"))],
    )  # fmt: skip
    assert listed == {6: (D("2027-04-01"), D("2027-10-31")), 7: (D("2027-11-01"), D("2028-03-31"))}
    assert migration.grant_period(None, None, None, None) is None


def _migration():  # type: ignore[no-untyped-def]
    import importlib.util

    path = next((Path(__file__).parents[1] / "svbot" / "migrations" / "versions").glob("0009_*.py"))
    spec = importlib.util.spec_from_file_location("migration_0009", path)
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module


# ---- svbot programme ---------------------------------------------------------------------------------


def test_programme_set_and_list_through_the_real_command(db_url: str, tmp_path: Path) -> None:
    assert ok(db_url, tmp_path, "support", "create", "East Sussex CVS").strip() == "1"
    ok(db_url, tmp_path, "support", "add-org", "--support-org", "1", "--name", "Hollybush Lunch Club")
    assert "No programmes yet" in ok(db_url, tmp_path, "programme", "list", "--support-org", "1")
    said = ok(db_url, tmp_path, "programme", "set", "ESCC-OUT", "--support-org", "1", "--title", "Outcomes prospectus",
              "--schedule", "annual", "--form", "monitoring_report", "--weighting", "10%",
              "--ignore-before", "01/01/2012")  # fmt: skip
    assert said.startswith("Programme ESCC-OUT (Outcomes prospectus); schedule annual; form monitoring_report")
    # Only the options given change; the code is matched whatever its case.
    ok(db_url, tmp_path, "programme", "set", "escc-out", "--support-org", "1", "--weighting", "12.5", "--scored", "yes")
    ok(db_url, tmp_path, "programme", "set", "SMALL", "--support-org", "1")
    listed = ok(db_url, tmp_path, "programme", "list", "--support-org", "1").splitlines()
    assert listed == [
        "ESCC-OUT (Outcomes prospectus); schedule annual; form monitoring_report; social value weighting 12.5%; "
        "social value scored; ignore deadlines before 2012-01-01",
        "SMALL; schedule: the default; form: the default",
    ]
    rows = run_sql(db_url, "SELECT code, title, schedule, monitoring_form, social_value_weighting, ignore_before "
                           "FROM programmes ORDER BY id")  # fmt: skip
    assert [(r[0], r[1], r[2], r[3], float(r[4]) if r[4] is not None else None, _day(r[5])) for r in rows] == [
        ("ESCC-OUT", "Outcomes prospectus", "annual", "monitoring_report", 12.5, D("2012-01-01")),
        ("SMALL", "", None, None, None, None),
    ]
    # The schedule applies to the programme's grants, by code or by title (a 360Giving file may give either).
    for programme, title in (("ESCC-OUT", "Coded"), ("Outcomes prospectus", "Titled")):
        ok(db_url, tmp_path, "grants", "add", "--org", "2", "--title", title, "--start", "01/04/2027",
           "--end", "31/03/2029", "--programme", programme)  # fmt: skip
    keys = run_sql(db_url, "SELECT g.title, d.key FROM deadlines d JOIN grants g ON g.id = d.grant_id ORDER BY d.id")
    assert [tuple(r) for r in keys] == [("Coded", "annual:1"), ("Coded", "final"), ("Titled", "annual:1"),
                                        ("Titled", "final")]  # fmt: skip


def test_programme_mistakes_get_one_line_each(db_url: str, tmp_path: Path) -> None:
    ok(db_url, tmp_path, "support", "create", "Test CVS")
    ok(db_url, tmp_path, "support", "add-org", "--support-org", "1", "--name", "Lunch Club")
    for args, reason in [
        (["set", "X", "--support-org", "9"], "No support organisation with id 9. `svbot support list` shows them."),
        (["set", "X", "--support-org", "2"], "No support organisation with id 2."),  # a member
        (["list", "--support-org", "9"], "No support organisation with id 9. `svbot support list` shows them."),
        (["set", "X", "--support-org", "1", "--ignore-before", "31/02/2012"], "That date doesn't exist"),
        (["set", "X", "--support-org", "1", "--ignore-before", "soonish"], "--ignore-before 'soonish'"),
        (["set", "X", "--support-org", "1", "--weighting", "120"], "a percentage from 0 to 100"),
        (["set", "X", "--support-org", "1", "--weighting", "lots"], "'lots' is not a percentage"),
        (["set", "X", "--support-org", "1", "--form", "my form!"], "is not a form name"),
        (["set", " ", "--support-org", "1"], "a programme needs a code"),
    ]:
        one_line_error(svbot(db_url, tmp_path, "programme", *args), reason)
    assert run_sql(db_url, "SELECT count(*) FROM programmes")[0][0] == 0
    done = svbot(db_url, tmp_path, "programme", "set", "X", "--support-org", "1", "--schedule", "monthly")
    assert done.returncode == 2 and "Traceback" not in done.stderr  # click's own usage error names the choices
