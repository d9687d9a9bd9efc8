"""The attack table of docs/security.md is written by this suite, not by hand.

Each test that tries an attack carries `@pytest.mark.attack(item, tried, defence)`: the item of the
hardening list it belongs to, what was tried (as a reader would say it) and what svbot does about it.
When a run of the whole reliability suite ends with every attack test run, the table between the
markers in docs/security.md is rewritten from those marks and the outcomes: "held" when the test
passed, "BROKE" when it failed. tests/reliability/test_security_doc.py checks that the table lists
exactly the attacks the suite tries, so a new or renamed attack test without a fresh run fails CI.
"""

from __future__ import annotations

import json
import os
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.fakes.telegram_api import FakeTelegram

DOC = Path(__file__).resolve().parents[2] / "docs" / "security.md"
START, END = "<!-- attacks:start -->", "<!-- attacks:end -->"


@dataclass(frozen=True)
class Attack:
    item: str
    tried: str
    defence: str
    test: str


def attack_of(item: pytest.Item) -> Attack | None:
    mark = item.get_closest_marker("attack")
    if mark is None:
        return None
    fields = dict(zip(("item", "tried", "defence"), mark.args, strict=False)) | mark.kwargs
    test = item.nodeid.split("[")[0].removeprefix("tests/reliability/")
    return Attack(str(fields["item"]), str(fields["tried"]), str(fields["defence"]), test)


def row(found: Attack, outcome: str) -> str:
    cells = [found.item, found.tried, found.defence, outcome, f"`{found.test}`"]
    return "| " + " | ".join(cell.replace("|", "/") for cell in cells) + " |"


def read_rows(text: str) -> dict[tuple[str, str], str]:
    """The table's rows now, keyed by (test, what was tried)."""
    if START not in text or END not in text:
        return {}
    body = text.split(START, 1)[1].split(END, 1)[0]
    rows = {}
    for line in body.strip().splitlines()[2:]:
        cells = [cell.strip() for cell in line.strip().strip("|").split(" | ")]
        if len(cells) == 5:
            rows[(cells[4].strip("`"), cells[1])] = line.strip()
    return rows


def _order(key: tuple[str, str], line: str) -> tuple[int, str, str]:
    head = line.strip("| ").split(" | ")[0].split(".")[0]
    # Items of the hardening list first, in order; 0 (defences that held before it) after them.
    return (int(head) if head.isdigit() and head != "0" else 10_000, key[0], key[1])


def rewrite_doc(ran: dict[str, tuple[Attack, str]], files_run: set[str], present: frozenset = frozenset()) -> None:
    """Rows of the attacks this run tried are written afresh; rows of test files this run did not
    collect, and of attacks it collected but skipped (`present`), are kept as they were; rows of files
    it did collect but that no longer try them go."""
    text = DOC.read_text(encoding="utf-8")
    if START not in text or END not in text:
        return
    rows = {
        key: line
        for key, line in read_rows(text).items()
        if key[0].split("::")[0] not in files_run or key in present
    }
    for found, outcome in ran.values():
        rows[(found.test, found.tried)] = row(found, outcome)
    header = "| # | What was tried | What svbot does | Result | Test |\n|---|---|---|---|---|"
    body = "\n".join(line for key, line in sorted(rows.items(), key=lambda kv: _order(*kv)))
    before, rest = text.split(START, 1)
    after = rest.split(END, 1)[1]
    DOC.write_text(f"{before}{START}\n{header}\n{body}\n{END}{after}", encoding="utf-8")


_collected: dict[str, Attack] = {}
_outcomes: dict[str, str] = {}


def collected_attacks() -> set[tuple[str, str]] | None:
    """(test, what was tried) of every attack this session collected, if it collected every test file
    of tests/reliability; None otherwise (a run of a few files: ask a collection of its own)."""
    every = {path.name for path in Path(__file__).parent.glob("test_*.py")}
    return {(found.test, found.tried) for found in _collected.values()} if every <= _seen_files else None


_seen_files: set[str] = set()  # the test files of tests/reliability this session collected


def pytest_collectstart(collector: pytest.Collector) -> None:
    path = getattr(collector, "path", None)
    if isinstance(collector, pytest.Module) and path is not None and path.parent == Path(__file__).parent:
        _seen_files.add(path.name)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "attack(item, tried, defence): an attack for docs/security.md's table")


def pytest_itemcollected(item: pytest.Item) -> None:
    # Every item collected, before -m or -k leave some out: test_security_doc.py compares them all.
    found = attack_of(item)
    if found is not None:
        _collected[item.nodeid] = found


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    report = yield
    if item.nodeid in _collected and (report.when == "call" or report.failed):
        held = report.passed and _outcomes.get(item.nodeid, "held") == "held"
        _outcomes[item.nodeid] = "held" if held else ("skipped" if report.skipped else "BROKE")
    return report


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if os.environ.get("SVBOT_ATTACKS_OUT"):  # tests/reliability/test_security_doc.py asks what is collected
        found = sorted({(a.item, a.tried, a.test) for a in _collected.values()})
        Path(os.environ["SVBOT_ATTACKS_OUT"]).write_text(json.dumps(found), encoding="utf-8")
        return
    if session.config.option.collectonly or not _outcomes:
        return
    # A test run with -k or -m leaves out some attacks of a file: their rows stay as they were.
    chosen = session.config.option.keyword or session.config.option.markexpr
    ran = {
        nodeid: (found, _outcomes[nodeid])
        for nodeid, found in _collected.items()
        if _outcomes.get(nodeid) in ("held", "BROKE")
    }
    files_run = set() if chosen else {found.test.split("::")[0] for found in _collected.values()}
    present = frozenset((found.test, found.tried) for found in _collected.values())
    rewrite_doc(ran, files_run, present)


@pytest.fixture
async def fake() -> AsyncIterator[FakeTelegram]:
    """A fake Telegram Bot API on a local port, stopped after the test."""
    server = await FakeTelegram().start()
    yield server
    await server.stop()
