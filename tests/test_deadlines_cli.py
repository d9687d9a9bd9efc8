"""The grants / deadlines / reminders commands, run as real subprocesses on the test database."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from icalendar import Calendar

from tests.conftest import run_sql

SAMPLES = Path(__file__).parent / "data" / "360giving" / "samples"
INDIGO = SAMPLES / "indigotrust_IndigoTrust_360giving.csv"
INVALID = SAMPLES / "INVALID_datagetter_aninvalidfile.json"

GRANT_CSV = (
    "Identifier,Title,Description,Currency,Amount Awarded,Award Date,Planned Dates:Start Date,"
    "Planned Dates:End Date,Planned Dates:Duration (months),Recipient Org:Identifier,Recipient Org:Name,"
    "Funding Org:Identifier,Funding Org:Name,Grant Programme:Title\n"
    '360G-esx-1,Youth club,Weekly sessions,GBP,"£12,000",01/03/2027,01/04/2027,31/03/2028,12 months,'
    "GB-CHC-1000001,Hastings Youth,GB-CHC-2,East Sussex Fund,Community\n"
)


@pytest.fixture
def env(db_url: str) -> dict[str, str]:
    environment = dict(os.environ)
    environment["DATABASE_URL"] = db_url
    environment["SVBOT_TIMEZONE"] = "Europe/London"
    for name in ("TELEGRAM_BOT_TOKEN", "SLACK_BOT_TOKEN", "SLACK_APP_TOKEN"):
        environment.pop(name, None)
    return environment


def svbot(env: dict[str, str], *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "svbot.cli", *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_import_list_ics_and_a_reminder_pass(env: dict[str, str], tmp_path: Path) -> None:
    grants = tmp_path / "grants.csv"
    grants.write_text(GRANT_CSV)
    first = svbot(env, "grants", "import", str(grants), "--now", "2027-03-15T10:00", cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    assert first.stdout.splitlines()[0] == "grants.csv: 1 imported, 0 updated, 0 unchanged, 0 skipped."
    assert "Deadlines: 4 added" in first.stdout
    again = svbot(env, "grants", "import", str(grants), "--now", "2027-03-15T10:00", cwd=tmp_path)
    assert again.stdout.splitlines()[0] == "grants.csv: 0 imported, 0 updated, 1 unchanged, 0 skipped."

    listed = svbot(env, "deadlines", "list", "--today", "2027-07-25", cwd=tmp_path)
    assert listed.returncode == 0, listed.stderr
    lines = listed.stdout.splitlines()
    assert len(lines) == 4
    assert "Fri 30 Jul 2027" in lines[0] and "due" in lines[0]
    assert lines[0].endswith("Quarterly monitoring report (1 of 4) for Youth club")

    url = env["DATABASE_URL"]
    org_id = run_sql(url, "SELECT id FROM organisations WHERE external_id = 'GB-CHC-1000001'")[0][0]
    person = run_sql(
        url, "INSERT INTO people (display_name, created_at) VALUES ('Ada', '2027-01-01') RETURNING id"
    )[0][0]
    run_sql(
        url,
        "INSERT INTO identities (person_id, platform, platform_user_id, chat_id, display_name, active, created_at)"
        " VALUES (:person, 'telegram', '42', '42', 'Ada', true, '2027-01-01')",
        {"person": person},
    )
    run_sql(
        url,
        "INSERT INTO memberships (person_id, organisation_id, role, created_at)"
        " VALUES (:person, :org, 'member', '2027-01-01')",
        {"person": person, "org": org_id},
    )

    out = tmp_path / "deadlines.ics"
    ics = svbot(env, "deadlines", "ics", "--org", str(org_id), "--out", str(out), cwd=tmp_path)
    assert ics.returncode == 0, ics.stderr
    events = Calendar.from_ical(out.read_bytes()).walk("VEVENT")
    assert sorted(e.decoded("dtstart").isoformat() for e in events) == [
        "2027-07-30",
        "2027-10-30",
        "2028-01-30",
        "2028-04-30",
    ]
    assert all(len(e.walk("VALARM")) == 1 for e in events)

    # 14 days before 30 July 2027 is Friday 16 July, 09:00 BST. Two cron runs at once plan it once.
    runs = [
        subprocess.Popen(
            [sys.executable, "-m", "svbot.cli", "reminders", "run", "--now", "2027-07-16T09:05"],
            env=env,
            cwd=tmp_path,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    outputs = [run.communicate(timeout=120) for run in runs]
    assert [run.returncode for run in runs] == [0, 0], outputs
    planned = sorted(out.splitlines()[0] for out, _ in outputs)
    assert planned[0].startswith("Planned 0 reminders") and planned[1].startswith("Planned 1 reminders")
    assert "No chat platform is set up" in outputs[0][0]
    rows = [tuple(row) for row in run_sql(url, "SELECT dedupe_key, status, chat_id FROM outbox")]
    assert len(rows) == 1 and rows[0][1:] == ("pending", "42") and rows[0][0].endswith(":14:1")


def test_messy_and_invalid_files_report_each_skipped_row(env: dict[str, str], tmp_path: Path) -> None:
    messy = svbot(env, "grants", "import", str(INDIGO), cwd=tmp_path)
    assert messy.returncode == 0, messy.stderr
    assert "269 imported, 0 updated, 0 unchanged, 0 skipped" in messy.stdout
    assert "76 imported grants have notes" in messy.stdout

    invalid = svbot(env, "grants", "import", str(INVALID), cwd=tmp_path)
    assert invalid.returncode == 1
    assert "Traceback" not in invalid.stderr + invalid.stdout
    assert invalid.stderr.strip() == (
        "svbot: no grants imported from INVALID_datagetter_aninvalidfile.json: every grant has problems "
        "(listed above)"
    )
    skipped = [line for line in invalid.stdout.splitlines() if line.startswith("  skipped ")]
    assert len(skipped) == 124
    assert (
        "  skipped grant 10 (360G-Cloudesley-25): Amount Awarded: 'tbc' is not a number; " in invalid.stdout
    )
    assert "104 skipped grants only have problems in fields svbot does not use: --lenient" in invalid.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["grants", "import", "missing.json"], "svbot: cannot find missing.json"),
        (["grants", "import", "bad.json"], "svbot: bad.json is not valid JSON (Expecting property name"),
        (
            ["grants", "import", "notes.txt"],
            "svbot: notes.txt: svbot reads 360Giving .json, .csv or .xlsx files",
        ),
        (["deadlines", "ics", "--org", "999"], "svbot: No organisation with id 999. `svbot orgs list` shows them."),
        (["reminders", "run", "--now", "next tuesday"], "svbot: 'next tuesday' is not a time"),
    ],
)
def test_friendly_one_line_errors(env: dict[str, str], tmp_path: Path, args: list[str], message: str) -> None:
    (tmp_path / "bad.json").write_text("{oops")
    (tmp_path / "notes.txt").write_text("hello")
    (tmp_path / "fake.xlsx").write_text("not really a spreadsheet")
    result = svbot(env, *args, cwd=tmp_path)
    assert result.returncode == 1
    assert result.stderr.startswith(message)
    assert len(result.stderr.strip().splitlines()) == 1


NO_END_ROW = (
    "360G-esx-2,Lunch club,Weekly lunches,GBP,5000,01/03/2024,01/04/2024,,,"
    "GB-CHC-1000002,Hollybush Lunch Club,GB-CHC-2,East Sussex Fund,Community\n"
)


def test_ignore_before_assumed_ends_named_organisations_and_undeliverable_console_reminders(
    env: dict[str, str], tmp_path: Path
) -> None:
    grants = tmp_path / "grants.csv"
    grants.write_text(GRANT_CSV + NO_END_ROW)
    args = ("grants", "import", str(grants), "--now", "2025-03-01T10:00", "--ignore-before", "2025-01-01")
    imported = svbot(env, *args, cwd=tmp_path)
    assert imported.returncode == 0, imported.stderr
    # The lunch club's grant (1 Apr 2024, no end): reports due 30 Jul, 30 Oct 2024, 30 Jan, 30 Apr 2025.
    assert "Deadlines: 6 added, 0 moved, 0 removed." in imported.stdout
    assert "  2 reports due before Wed 1 Jan 2025 not tracked (--ignore-before)." in imported.stdout
    assert (
        "  1 grant has no end date or duration: svbot assumed 12 months from the start "
        "(`svbot deadlines list` marks them), e.g. 360G-esx-2 to Mon 31 Mar 2025." in imported.stdout
    )

    listed = svbot(env, "deadlines", "list", "--today", "2025-03-01", cwd=tmp_path)
    assert listed.returncode == 0, listed.stderr
    lines = listed.stdout.splitlines()
    assert "org " not in listed.stdout
    assert "Hollybush Lunch Club" in lines[0] and "overdue" in lines[0] and "Thu 30 Jan 2025" in lines[0]
    assert lines[0].endswith("Quarterly monitoring report (3 of 4) for Lunch club  [end assumed: Mon 31 Mar 2025]")
    assert "Hastings Youth" in lines[2] and lines[2].endswith("Quarterly monitoring report (1 of 4) for Youth club")
    assert lines[-1].startswith("[end assumed]: 1 grant has no end date or duration, so svbot assumed 12 months")
    assert len(lines) == 2 + 4 + 1

    url = env["DATABASE_URL"]
    assert svbot(env, "reminders", "failures", cwd=tmp_path).stdout == "Every reminder was delivered.\n"
    org_id = run_sql(url, "SELECT id FROM organisations WHERE external_id = 'GB-CHC-1000002'")[0][0]
    person = run_sql(
        url, "INSERT INTO people (display_name, created_at) VALUES ('Bea', '2025-01-01') RETURNING id"
    )[0][0]
    run_sql(
        url,
        "INSERT INTO identities (person_id, platform, platform_user_id, chat_id, display_name, active, created_at)"
        " VALUES (:person, 'console', 'bea', 'bea', 'Bea', true, '2025-01-01')",
        {"person": person},
    )
    run_sql(
        url,
        "INSERT INTO memberships (person_id, organisation_id, role, created_at)"
        " VALUES (:person, :org, 'member', '2025-01-01')",
        {"person": person, "org": org_id},
    )
    run = svbot(env, "reminders", "run", "--now", "2025-04-30T10:00", cwd=tmp_path)
    assert run.stdout.startswith("Planned 1 reminders"), run.stdout + run.stderr
    failures = svbot(env, "reminders", "failures", cwd=tmp_path)
    assert failures.returncode == 0, failures.stderr
    assert failures.stdout == (
        "1 not deliverable to people who use svbot in a terminal (console): "
        "they see them only when they next open `svbot chat`.\n"
    )
