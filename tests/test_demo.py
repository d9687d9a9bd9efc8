"""`svbot demo`: sample data through the real CLI, a report with every section filled, a broadcast that
reaches the sample people, loading twice changes nothing, and `--remove` leaves the database exactly as
it was, with what a user had added before and after still there. On SQLite and PostgreSQL (db_url)."""

from __future__ import annotations

import asyncio
import re
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import select

import svbot.all_models  # noqa: F401  (every table in the metadata, for the snapshot)
from svbot.cli import main
from svbot.config import get_settings
from svbot.db import make_engine
from svbot.models import Base
from svbot.text import text
from tests.test_support_report import _Text


@pytest.fixture
def svbot(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[object]:
    monkeypatch.setenv("DATABASE_URL", db_url)
    for name in ("TELEGRAM_BOT_TOKEN", "SLACK_BOT_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    get_settings.cache_clear()
    runner = CliRunner()

    def run(*args: str, ok: bool = True, stdin: str | None = None) -> str:
        result = runner.invoke(main, list(args), input=stdin)
        assert (result.exit_code == 0) == ok, result.output
        return result.output

    yield run
    get_settings.cache_clear()


def snapshot(db_url: str) -> dict[str, list[str]]:
    """Every row of every table, as text."""

    async def read() -> dict[str, list[str]]:
        engine = make_engine(db_url)
        try:
            async with engine.connect() as connection:
                found = {}
                for table in Base.metadata.sorted_tables:
                    rows = (await connection.execute(select(table))).all()
                    found[table.name] = sorted(repr(tuple(row)) for row in rows)
                return found
        finally:
            await engine.dispose()

    return asyncio.run(read())


def test_demo_fills_every_section_and_goes_away_without_a_trace(svbot, db_url: str) -> None:  # type: ignore[no-untyped-def]
    # What a user had made before: their own CVS, a member, and themselves joined from the chat.
    mine = int(svbot("support", "create", "My CVS", "--framework", "local_pledge").strip())
    member = int(svbot("support", "add-org", "--support-org", str(mine), "--name", "My Group").strip())
    code = svbot("invite", "--org", str(member)).splitlines()[0]
    assert "My Group" in svbot("chat", "--user", "me", stdin=f"join {code}\nquit\n")
    before = snapshot(db_url)

    said = svbot("demo")
    assert "SAMPLE data (not real): Sample CVS (demo data)" in said
    sid, period = re.search(r"svbot report --support-org (\d+) --period (\S+) --format html", said).groups()  # type: ignore[union-attr]
    assert "svbot dashboard link" in said and "svbot chat" in said and "svbot demo --remove" in said
    loaded = snapshot(db_url)
    assert "already loaded" in svbot("demo")
    assert snapshot(db_url) == loaded  # twice: nothing doubled

    html = svbot("report", "--support-org", sid, "--period", period, "--format", "html", "--out", "-")
    page = _Text()
    page.feed(html)
    sections = page.sections
    for empty in ("report.no_stories", "report.no_commitments", "report.programmes.none", "report.follow_up.none"):
        assert text(empty) not in page.joined, empty
    assert text("report.deadlines.none", period=period) not in page.joined
    summary = sections["summary"]
    assert "3 of 4 member organisations" in summary and "Compared with last year" in summary
    for outcome in ("on_time", "extended", "late", "not_sent"):  # every bar of the chart has a report
        assert re.search(rf'data-outcome="{outcome}"><td>[^<]+</td><td class="n">[1-9]<', html), outcome
    assert "Age: 14 under 25, 19 over 65." in sections["equality"]
    assert re.search(r"Low income or deprivation [1-9]", sections["equality"])
    assert "Open the plot to the primary school" in sections["commitments"]
    assert "Our Friday lunch started in September" in sections["commitments"]  # last year's, followed up
    assert re.search(r"Community Chest \(sample\) 10% yes 4 £18,000", sections["programmes"])
    assert sections["stories"].count("(sample) (objective:") == 2
    assert "No statement yet: Eastside Lunch Club (sample)" in sections["gaps"]
    assert {alt for alt, _ in page.alts} == {"chart", "equality-chart", "deadlines-chart"}

    # Installed without the charts extra, the Word report still comes, and says how to add its charts.
    with pytest.MonkeyPatch.context() as patched:
        patched.setitem(sys.modules, "matplotlib", None)
        said = svbot("report", "--support-org", sid, "--period", period, "--format", "docx", "--out", "r.docx")
    assert "The Word file has no charts: pip install 'svbot[charts]' adds them" in said

    # A broadcast reaches the sample people (their console chats), at once.
    assert "queued for 5 people" in svbot("broadcast", "--support-org", sid, "--to", "all", "--message", "Hello")
    # The user goes on using their own install meanwhile: that stays.
    assert "My CVS" in svbot("support", "list")

    assert "The sample data is gone." in svbot("demo", "--remove")
    assert snapshot(db_url) == before
    assert "no sample data to remove" in svbot("demo", "--remove")
    assert "My CVS (1 members" in svbot("support", "list")


def test_a_demo_that_cannot_load_says_so_in_one_line_and_leaves_nothing(  # type: ignore[no-untyped-def]
    svbot, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import svbot.demo as sample

    async def broken(*args: object) -> None:
        raise sample.DemoError("the sample names 'Nowhere (sample)', which the sample grants did not create")

    before = snapshot(db_url)
    with monkeypatch.context() as patched:
        patched.setattr(sample, "_reports", broken)  # as if the sample file no longer fitted the code
        said = svbot("demo", ok=False)
    assert said.strip().splitlines() == [
        "svbot: the demo could not be loaded: the sample names 'Nowhere (sample)', which the sample grants did "
        "not create"
    ]
    assert snapshot(db_url) == before  # the half-loaded demo was taken away again
    assert "SAMPLE data" in svbot("demo")  # and the next try loads it whole
    assert snapshot(db_url) != before
