"""docs/security.md's attack table lists exactly the attacks this suite tries (see conftest.py)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.reliability.conftest import DOC, collected_attacks, read_rows

ROOT = Path(__file__).resolve().parents[2]


def test_the_attack_table_lists_every_attack_the_suite_tries_and_each_one_held(tmp_path: Path) -> None:
    tried = collected_attacks()  # this session collected the whole suite: what it collected
    if tried is None:  # a run of a few files: a collection of the whole suite, in a process of its own
        out = tmp_path / "attacks.json"
        env = {**os.environ, "SVBOT_ATTACKS_OUT": str(out), "PYTEST_ADDOPTS": ""}
        subprocess.run(
            [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider", "tests/reliability"],
            cwd=ROOT, env=env, check=True, capture_output=True,
        )  # fmt: skip
        tried = {(test, what) for _item, what, test in json.loads(out.read_text())}
    rows = read_rows(DOC.read_text(encoding="utf-8"))
    assert tried, "no test is marked @pytest.mark.attack"
    stale = sorted(set(rows) - tried)
    missing = sorted(tried - set(rows))
    assert not missing, f"attacks not in docs/security.md (run pytest tests/reliability to write them): {missing}"
    assert not stale, f"rows in docs/security.md for attacks no test tries: {stale}"
    broke = [key for key, line in rows.items() if "| BROKE |" in line]
    assert not broke, f"attacks that broke on the last run: {broke}"
