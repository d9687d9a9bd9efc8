"""Alembic migrations: to an empty database one revision at a time, then to the heads; down to the base
and up again. On PostgreSQL when the suite runs there, as `svbot db upgrade` does in a release."""

from __future__ import annotations

import subprocess
import sys

from alembic import command
from alembic.script import ScriptDirectory

from svbot.db import alembic_config, upgrade
from svbot.models import Base
from tests.conftest import run_sql, table_names
from tests.reliability.support import svbot_env


def revisions_oldest_first(url: str) -> list[str]:
    script = ScriptDirectory.from_config(alembic_config(url))
    return [revision.revision for revision in reversed(list(script.walk_revisions("base", "heads")))]


def current(url: str) -> set[str]:
    return {row[0] for row in run_sql(url, "SELECT version_num FROM alembic_version")}


def test_each_revision_in_turn_then_the_heads(empty_db_url: str) -> None:
    import svbot.all_models  # noqa: F401  (every table on Base.metadata)

    revisions = revisions_oldest_first(empty_db_url)
    assert revisions[0] == "0001_core" and len(revisions) >= 4
    for revision in revisions:
        upgrade(empty_db_url, revision)
        assert revision in current(empty_db_url)
    upgrade(empty_db_url, "heads")
    heads = set(ScriptDirectory.from_config(alembic_config(empty_db_url)).get_heads())
    assert current(empty_db_url) == heads
    assert set(Base.metadata.tables) <= table_names(empty_db_url), "every model has its table"


def test_down_to_the_base_and_up_again(empty_db_url: str) -> None:
    upgrade(empty_db_url, "heads")
    run_sql(empty_db_url, "INSERT INTO people (display_name, created_at) VALUES ('kept?', '2027-01-01')")
    command.downgrade(alembic_config(empty_db_url), "base")
    assert table_names(empty_db_url) <= {"alembic_version"}
    upgrade(empty_db_url, "heads")
    assert run_sql(empty_db_url, "SELECT count(*) FROM people")[0][0] == 0


def test_release_step_is_svbot_db_upgrade_and_a_second_run_changes_nothing(empty_db_url: str, tmp_path) -> None:  # type: ignore[no-untyped-def]
    for _ in range(2):
        done = subprocess.run(
            [sys.executable, "-m", "svbot.cli", "db", "upgrade"], env=svbot_env(empty_db_url), cwd=tmp_path,
            capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        assert done.stdout.strip() == "Database is up to date."
    assert "conversations" in table_names(empty_db_url)
