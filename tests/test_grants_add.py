"""Grants entered by hand: `svbot grants add`, run as the real command."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def svbot(db_url: str, cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DATABASE_URL": db_url}
    return subprocess.run([sys.executable, "-m", "svbot", *args], capture_output=True, text=True, env=env,
                          cwd=cwd, timeout=120)  # fmt: skip


def test_a_grant_entered_by_hand_gets_its_deadlines_once(db_url: str, tmp_path: Path) -> None:
    assert svbot(db_url, tmp_path, "support", "create", "Test CVS").stdout.strip() == "1"
    assert svbot(db_url, tmp_path, "support", "add-org", "--support-org", "1", "--name", "Lunch Club").returncode == 0
    grant = ["grants", "add", "--org", "2", "--title", "Lunch club grant", "--start", "01/04/2027",
             "--end", "31 March 2028", "--amount", "5000", "--schedule", "six_monthly"]  # fmt: skip
    first = svbot(db_url, tmp_path, *grant)
    assert first.returncode == 0, first.stderr
    assert "1 imported" in first.stdout and "Deadlines: 2 added" in first.stdout
    again = svbot(db_url, tmp_path, *grant)
    assert "1 unchanged" in again.stdout and "Deadlines: 0 added" in again.stdout, "entering it twice is harmless"
    listed = svbot(db_url, tmp_path, "deadlines", "list", "--org", "2").stdout
    assert listed.count("Lunch club grant") == 2
    assert "Final monitoring report for Lunch club grant" in listed


def test_mistakes_get_one_line_each(db_url: str, tmp_path: Path) -> None:
    for args, reason in [
        (["--org", "9", "--title", "X", "--start", "01/04/2027"], "No member organisation with id 9."),
        (["--org", "1", "--title", "X", "--start", "31/02/2027"], "That date doesn't exist"),
        (["--org", "1", "--title", "X", "--start", "01/04/2027", "--end", "01/01/2027"], "the end is before the start"),
    ]:
        done = svbot(db_url, tmp_path, "grants", "add", *args)
        assert done.returncode == 1 and reason in done.stderr, done.stderr
        assert "Traceback" not in done.stderr
