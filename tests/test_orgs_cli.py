"""`svbot orgs list`, and a wrong id in any command: the real CLI, as a subprocess."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import run_sql


def svbot(db_url: str, cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DATABASE_URL": db_url}
    return subprocess.run([sys.executable, "-m", "svbot.cli", *args], capture_output=True, text=True, env=env,
                          cwd=cwd, timeout=120)  # fmt: skip


def test_orgs_list_shows_ids_people_and_open_deadlines_and_filters(db_url: str, tmp_path: Path) -> None:
    assert "No member organisations yet" in svbot(db_url, tmp_path, "orgs", "list").stdout
    for args in (["support", "create", "Brighton CVS"], ["support", "create", "Hove CVS"],
                 ["support", "add-org", "--support-org", "1", "--name", "[Friends] of the Park"],
                 ["support", "add-org", "--support-org", "2", "--name", "Lunch Club", "--external-id", "1234567"],
                 ["grants", "add", "--org", "4", "--title", "Meals", "--start", "01/04/2020"]):  # fmt: skip
        assert svbot(db_url, tmp_path, *args).returncode == 0
    run_sql(db_url, "INSERT INTO people (id, display_name, created_at) VALUES (1, 'Ann', '2026-01-01'), "
                    "(2, 'Ben', '2026-01-01')")  # fmt: skip
    run_sql(db_url, "INSERT INTO memberships (person_id, organisation_id, role, created_at) VALUES "
                    "(1, 4, 'member', '2026-01-01'), (2, 4, 'org_admin', '2026-01-01')")  # fmt: skip
    listed = svbot(db_url, tmp_path, "orgs", "list")
    assert listed.returncode == 0, listed.stderr
    lines = listed.stdout.splitlines()
    assert lines[0] == "id\tname\tsupport organisation\tpeople\topen deadlines\toverdue", "piped: tab-separated"
    assert lines[1] == "3\t[Friends] of the Park\tBrighton CVS\t0\t0\t0"
    org, name, support, people, due, overdue = lines[2].split("\t")
    assert (org, name, support, people) == ("4", "Lunch Club", "Hove CVS", "2")
    assert int(due) >= 1 and overdue == due, "a grant of 2020: every open report is overdue"
    assert len(lines) == 3, "support organisations are not members"
    assert svbot(db_url, tmp_path, "orgs", "list", "--search", "friends").stdout.splitlines()[1:] == [lines[1]]
    assert svbot(db_url, tmp_path, "orgs", "list", "--search", "1234").stdout.splitlines()[1:] == [lines[2]]
    assert svbot(db_url, tmp_path, "orgs", "list", "--support-org", "2").stdout.splitlines()[1:] == [lines[2]]
    assert "No member organisation matches '%'." in svbot(db_url, tmp_path, "orgs", "list", "--search", "%").stdout


def test_a_wrong_id_says_so_in_one_line_in_every_command(db_url: str, tmp_path: Path) -> None:
    assert svbot(db_url, tmp_path, "support", "create", "Brighton CVS").returncode == 0
    for args, says in [
        (["statement", "export", "--org", "99"], "svbot: No organisation with id 99. `svbot orgs list` shows them."),
        (["invite", "--org", "99"], "svbot: No organisation with id 99."),
        (["deadlines", "list", "--org", "99"], "svbot: No organisation with id 99."),
        (["orgs", "list", "--support-org", "99"], "svbot: No support organisation with id 99. `svbot support list`"),
        (["report", "--support-org", "99", "--period", "2026-27"], "svbot: No support organisation with id 99."),
        (["reminders", "failures", "--support-org", "99"], "svbot: No support organisation with id 99."),
        (["monitoring", "export", "--deadline", "99"], "svbot: No deadline with id 99."),
        (["data", "export", "--person", "99"], "svbot: No person with id 99."),
        (["dashboard", "link", "--user", "99"], "svbot: No person with id 99."),
    ]:
        done = svbot(db_url, tmp_path, *args)
        assert done.returncode == 1 and done.stderr.startswith(says), (args, done.stderr)
        assert len(done.stderr.strip().splitlines()) == 1, done.stderr
    typo = svbot(db_url, tmp_path, "invite", "--org", "x")
    assert typo.returncode == 2 and "'x' is not an id" in typo.stderr
