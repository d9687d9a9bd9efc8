"""Hostile and broken files given to `svbot grants import`, and what svbot writes with `--out` (issue 21,
items 3 to 7): the real command as a subprocess on the test database (SQLite, and PostgreSQL in CI's
second pass). Each refusal is one line on stderr and a non-zero exit, never a traceback; a bad row is
skipped with its reason and the rest imported; what is shown never carries control characters."""

from __future__ import annotations

import codecs
import io
import os
import pty
import select
import subprocess
import sys
import time
import zipfile
from datetime import UTC, datetime
from io import BytesIO
from pathlib import Path

import click
import docx
import openpyxl
import pytest
from icalendar import Calendar

from svbot.cli import main
from svbot.db import make_engine, make_sessionmaker
from svbot.deadlines.giving360 import MAX_FILE_MB, FileProblem, read_grants
from svbot.deadlines.importer import ImportSummary, import_grants
from tests.conftest import run_async_in_thread, run_sql

HEADER = (
    "Identifier,Title,Description,Currency,Amount Awarded,Award Date,Planned Dates:Start Date,"
    "Planned Dates:Duration (months),Recipient Org:Identifier,Recipient Org:Name,Funding Org:Identifier,"
    "Funding Org:Name"
)


def grant_row(number: int, **cells: str) -> list[str]:
    row = {"id": f"360G-hostile-{number}", "title": f"Grant {number}", "description": "Weekly sessions",
           "currency": "GBP", "amount": "1000", "award": "2027-01-15", "start": "2027-02-01", "months": "12",
           "org_id": f"GB-CHC-{500000 + number}", "org": f"Group {number}", "funder_id": "GB-CHC-1",
           "funder": "East Sussex Fund"} | cells  # fmt: skip
    return list(row.values())


def csv_text(rows: list[list[str]], delimiter: str = ",") -> str:
    out = io.StringIO()
    import csv

    writer = csv.writer(out, delimiter=delimiter, lineterminator="\n")
    writer.writerow(HEADER.split(","))
    writer.writerows(rows)
    return out.getvalue()


@pytest.fixture
def env(db_url: str) -> dict[str, str]:
    environment = dict(os.environ)
    environment["DATABASE_URL"] = db_url
    environment["SVBOT_TIMEZONE"] = "Europe/London"
    for name in ("TELEGRAM_BOT_TOKEN", "SLACK_BOT_TOKEN", "SLACK_APP_TOKEN"):
        environment.pop(name, None)
    return environment


def svbot(env: dict[str, str], *args: str, cwd: Path, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "svbot.cli", *args], env=env, cwd=cwd, capture_output=True,
                          text=True, timeout=timeout)  # fmt: skip


def refused(done: subprocess.CompletedProcess[str]) -> str:
    """The one line svbot said, after checking it said only that and failed."""
    assert done.returncode == 1, (done.stdout, done.stderr)
    assert "Traceback" not in done.stderr, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("svbot: "), done.stderr
    return lines[0]


# ---------------------------------------------------------------- 3. imports never stop half-way


@pytest.mark.attack(
    "3",
    "An 800-grant file with a 99999999-month duration, a NUL byte, a 201-character identifier, "
    "a year-9999 date and a 10^15 amount in five rows",
    "The NUL is dropped; each other bad row is skipped with its reason (dry run and import alike), 796 imported",
)
def test_one_bad_cell_skips_its_grant_only(env: dict[str, str], db_url: str, tmp_path: Path) -> None:
    bad = {
        100: {"months": "99999999"},
        200: {"org": "Group\x00 200"},
        300: {"id": "360G-" + "x" * 196},
        400: {"start": "31/12/9999"},
        500: {"amount": "1000000000000000"},
    }
    rows = [grant_row(n, **bad.get(n, {})) for n in range(1, 801)]
    path = tmp_path / "grants.csv"
    path.write_text(csv_text(rows), encoding="utf-8")
    trial = run_async_in_thread(lambda: _dry_run(db_url, path))  # the dashboard's check before an import
    labels = ["row 101 (360G-hostile-100)", "row 301 (360G-" + "x" * 75 + "…)", "row 401 (360G-hostile-400)",
              "row 501 (360G-hostile-500)"]  # fmt: skip
    assert [label for label, _ in trial.skipped] == labels
    assert trial.imported == 796 and run_sql(db_url, "SELECT count(*) FROM grants")[0][0] == 0
    done = svbot(env, "grants", "import", str(path), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[0] == "grants.csv: 796 imported, 0 updated, 0 unchanged, 4 skipped."
    skipped = [line for line in done.stdout.splitlines() if line.startswith("  skipped")]
    assert skipped == [
        "  skipped row 101 (360G-hostile-100): Duration (months): 99,999,999 months is more than 50 years",
        "  skipped row 301 (360G-" + "x" * 75 + "…): Identifier is 201 characters long: svbot keeps up to 200",
        "  skipped row 401 (360G-hostile-400): Planned Dates:Start Date: 9999-12-31 is not between 1900 and 2100",
        "  skipped row 501 (360G-hostile-500): Amount Awarded: 1000000000000000.00 is more than svbot can store "
        "(999,999,999,999.99)",
    ]
    names = run_sql(db_url, "SELECT name FROM organisations WHERE external_id = 'GB-CHC-500200'")
    assert [name for (name,) in names] == ["Group 200"]  # the NUL gone (PostgreSQL refuses it), the grant kept
    assert run_sql(db_url, "SELECT count(*) FROM grants")[0][0] == 796


async def _dry_run(db_url: str, path: Path) -> ImportSummary:
    engine = make_engine(db_url)
    try:
        return await import_grants(make_sessionmaker(engine), path, now=datetime.now(UTC), dry_run=True)
    finally:
        await engine.dispose()


# ---------------------------------------------------------------- 4. files


@pytest.mark.attack("4", "A FIFO given as the file to import (nothing ever writes to it)",
                    "Opened without blocking and refused as not a regular file, at once")  # fmt: skip
def test_a_fifo_is_refused_at_once(env: dict[str, str], tmp_path: Path) -> None:
    fifo = tmp_path / "grants.csv"
    os.mkfifo(fifo)
    started = time.monotonic()
    line = refused(svbot(env, "grants", "import", str(fifo), cwd=tmp_path, timeout=60))
    assert line == "svbot: grants.csv is not a regular file (a device, pipe or socket)"
    assert time.monotonic() - started < 30


@pytest.mark.attack("4", "A symbolic link to /dev/zero as the file to import, and as the annual report's logo",
                    "The file opened is checked, not its name: a device is refused before a byte is read")  # fmt: skip
def test_a_link_to_dev_zero_is_refused(env: dict[str, str], tmp_path: Path) -> None:
    link = tmp_path / "grants.json"
    link.symlink_to("/dev/zero")
    line = refused(svbot(env, "grants", "import", str(link), cwd=tmp_path, timeout=60))
    assert "grants.json is not a regular file" in line
    (tmp_path / "logo.png").symlink_to("/dev/zero")  # the annual report's logo is read the same way
    line = refused(svbot(env, "report", "--support-org", "1", "--period", "2026-27", "--logo", "logo.png",
                         cwd=tmp_path, timeout=60))  # fmt: skip
    assert line == "svbot: cannot read the logo: logo.png is not a regular file (a device, pipe or socket)"


@pytest.mark.attack("4", f"A {MAX_FILE_MB + 1} MB file to import",
                    f"Refused before it is read: svbot imports files of up to {MAX_FILE_MB} MB")  # fmt: skip
def test_a_file_over_the_limit_is_refused(env: dict[str, str], tmp_path: Path) -> None:
    big = tmp_path / "grants.csv"
    with big.open("wb") as file:
        file.write(HEADER.encode() + b"\n")
        file.truncate((MAX_FILE_MB + 1) * 1024 * 1024)  # sparse: no disk needed
    line = refused(svbot(env, "grants", "import", str(big), cwd=tmp_path))
    assert line == f"svbot: grants.csv is 51.0 MB: svbot imports files of up to {MAX_FILE_MB} MB " \
                   "(split it, or leave out old grants)"  # fmt: skip


def _workbook(rows: list[list[str]]) -> bytes:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(HEADER.split(","))
    for row in rows:
        sheet.append(row)
    out = BytesIO()
    book.save(out)
    return out.getvalue()


def _replace_part(xlsx: bytes, name: str, content: bytes) -> bytes:
    """The workbook with one part replaced (other parts copied as they were)."""
    out = BytesIO()
    with zipfile.ZipFile(BytesIO(xlsx)) as source, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for part in source.infolist():
            data = content if part.filename == name else source.read(part)
            target.writestr(part.filename, data)
    return out.getvalue()


@pytest.mark.attack(
    "4",
    "Zip bombs as .xlsx: a worksheet that unpacks to 300 MB, and one of 20 MB packed 1,000 times over",
    "The zip's own sizes are checked before openpyxl opens it (100 MB unpacked, packed 100 times at most)",
)
def test_zip_bombs_are_refused_before_openpyxl(env: dict[str, str], tmp_path: Path) -> None:
    good = _workbook([grant_row(1)])
    huge, dense = tmp_path / "huge.xlsx", tmp_path / "dense.xlsx"
    huge.write_bytes(_bomb(good, megabytes=300, level=1))
    dense.write_bytes(_bomb(good, megabytes=20, level=9))
    assert huge.stat().st_size < 8 * 1024 * 1024
    started = time.monotonic()
    line = refused(svbot(env, "grants", "import", str(huge), cwd=tmp_path))
    assert line.startswith("svbot: huge.xlsx unpacks to 300.0 MB: svbot reads spreadsheets of up to 100 MB unpacked")
    line = refused(svbot(env, "grants", "import", str(dense), cwd=tmp_path))
    assert line.startswith("svbot: dense.xlsx is packed 1,0") and "looks like a zip bomb" in line
    assert time.monotonic() - started < 60


def _bomb(xlsx: bytes, megabytes: int, level: int) -> bytes:
    """The workbook with its worksheet swapped for `megabytes` of spaces, written a megabyte at a time."""
    out = BytesIO()
    with zipfile.ZipFile(BytesIO(xlsx)) as source, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED,
                                                                   compresslevel=level) as target:  # fmt: skip
        for part in source.infolist():
            if part.filename != "xl/worksheets/sheet1.xml":
                target.writestr(part.filename, source.read(part))
                continue
            with target.open(part.filename, "w", force_zip64=True) as member:
                member.write(b'<?xml version="1.0"?><worksheet>')
                for _ in range(megabytes):
                    member.write(b" " * 1024 * 1024)
    return out.getvalue()


ENCODED = [
    ("utf-8", ",", codecs.BOM_UTF8),
    ("utf-8", ",", b""),
    ("utf-16-le", ",", codecs.BOM_UTF16_LE),
    ("utf-16-be", ",", codecs.BOM_UTF16_BE),
    ("utf-16-le", "\t", b""),  # Excel's "Unicode Text"
    ("cp1252", ",", b""),
    ("cp1252", ";", b""),  # Excel in much of Europe
    ("utf-8", "\t", b""),
]


@pytest.mark.attack(
    "4",
    "The same grants file in UTF-8 with and without a BOM, UTF-16 (both byte orders, with and without a BOM), "
    "Windows-1252, and with ; or tab between cells",
    "Encoding found from the byte-order mark, then UTF-16's zero bytes, strict UTF-8, then Windows-1252; "
    "the delimiter that finds the 360Giving column titles",
)
def test_encodings_and_delimiters(env: dict[str, str], tmp_path: Path) -> None:
    rows = [grant_row(1, org="Café Crème £ Group"), grant_row(2)]
    for encoding, delimiter, mark in ENCODED:
        path = tmp_path / f"grants-{encoding}-{ord(delimiter)}-{len(mark)}.csv"
        path.write_bytes(mark + csv_text(rows, delimiter).encode(encoding))
        total, parsed = read_grants(path)
        records = [row.record for row in parsed]
        assert total == 2 and all(records), (encoding, delimiter, mark)
        assert records[0].recipient_name == "Café Crème £ Group", (encoding, delimiter, mark)
    # The case the review found through the command: a UTF-16 file said it had no Identifier column.
    utf16 = tmp_path / "grants.csv"
    utf16.write_bytes(codecs.BOM_UTF16_LE + csv_text(rows).encode("utf-16-le"))
    done = svbot(env, "grants", "import", str(utf16), cwd=tmp_path)
    assert done.returncode == 0 and done.stdout.startswith("grants.csv: 2 imported"), done.stderr


# ---------------------------------------------------------------- 6. no tracebacks for bad input


@pytest.mark.attack("6", "A JSON file nested 100,000 lists deep",
                    "One line: nested too deeply to be a 360Giving file; exit status 1")  # fmt: skip
def test_deeply_nested_json(env: dict[str, str], tmp_path: Path) -> None:
    deep = tmp_path / "grants.json"
    deep.write_text('{"grants": ' + "[" * 100_000 + "]" * 100_000 + "}")
    assert "nested too deeply" in refused(svbot(env, "grants", "import", str(deep), cwd=tmp_path))
    shallow_but_deep = tmp_path / "deep.json"  # parses, then too deep for any 360Giving grant
    shallow_but_deep.write_text('{"grants": [' + '{"a": ' * 200 + "1" + "}" * 200 + "]}")
    assert "nested more than 32 levels" in refused(svbot(env, "grants", "import", str(shallow_but_deep), cwd=tmp_path))


@pytest.mark.attack("6", "A CSV with bytes that are neither UTF-8 nor Windows-1252 (0x81)",
                    "One line naming the byte and its line, and how to save the file; exit status 1")  # fmt: skip
def test_bad_cp1252_bytes(env: dict[str, str], tmp_path: Path) -> None:
    path = tmp_path / "grants.csv"
    path.write_bytes(csv_text([grant_row(1), grant_row(2)]).encode("cp1252").replace(b"Group 2", b"Group \x81"))
    line = refused(svbot(env, "grants", "import", str(path), cwd=tmp_path))
    assert line == "svbot: grants.csv is not text in UTF-8 or Windows-1252 (byte 0x81 on line 3): save it as CSV UTF-8"


@pytest.mark.attack(
    "6",
    "An .xlsx whose worksheet carries a DOCTYPE with nested entities (billion laughs), in UTF-8 and UTF-16",
    "Each part read by expat up to its first element: a DOCTYPE is refused before openpyxl",
)
def test_xlsx_with_a_doctype(env: dict[str, str], tmp_path: Path) -> None:
    good = _workbook([grant_row(1)])
    laughs = (b'<?xml version="1.0"?><!DOCTYPE sst [<!ENTITY a "lol"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;">'
              b'<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;">]>'
              b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
              b'<row r="1"><c r="A1" t="inlineStr"><is><t>&c;</t></is></c></row></sheetData></worksheet>')  # fmt: skip
    path = tmp_path / "grants.xlsx"
    path.write_bytes(_replace_part(good, "xl/worksheets/sheet1.xml", laughs))
    line = refused(svbot(env, "grants", "import", str(path), cwd=tmp_path))
    assert line.startswith("svbot: grants.xlsx has a DOCTYPE in xl/worksheets/sheet1.xml")
    utf16 = tmp_path / "wide.xlsx"  # the same, in UTF-16: still found
    wide = laughs.replace(b'"1.0"?>', b'"1.0" encoding="UTF-16"?>', 1).decode().encode("utf-16")
    utf16.write_bytes(_replace_part(good, "xl/worksheets/sheet1.xml", wide))
    assert "has a DOCTYPE" in refused(svbot(env, "grants", "import", str(utf16), cwd=tmp_path))
    fine = tmp_path / "fine.xlsx"
    fine.write_bytes(good)
    assert svbot(env, "grants", "import", str(fine), cwd=tmp_path).returncode == 0


@pytest.mark.attack("6", "--out into a folder that does not exist",
                    "One line naming the missing folder; exit status 1")  # fmt: skip
def test_out_into_a_missing_folder(env: dict[str, str], db_url: str, tmp_path: Path) -> None:
    org = _imported_org(env, db_url, tmp_path)
    line = refused(svbot(env, "deadlines", "ics", "--org", str(org), "--out", "nowhere/deadlines.ics", cwd=tmp_path))
    assert line == "svbot: cannot write nowhere/deadlines.ics: the folder nowhere does not exist"


# ---------------------------------------------------------------- 5. control characters


HOSTILE_NAME = "Evil\nGroup\x1b[2J\x1b]0;owned\x07 \u202eLtd"


def _imported_org(env: dict[str, str], db_url: str, tmp_path: Path, name: str = "Hastings Youth") -> int:
    path = tmp_path / "one.csv"
    path.write_text(csv_text([grant_row(1, org=name, title=f"Youth {name}")]), encoding="utf-8")
    done = svbot(env, "grants", "import", str(path), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    return run_sql(db_url, "SELECT organisation_id FROM grants WHERE external_id = '360G-hostile-1'")[0][0]


def _on_a_terminal(env: dict[str, str], *args: str, cwd: Path) -> bytes:
    """What `svbot ...` writes to a terminal (a pseudo-terminal: click strips nothing there)."""
    leader, follower = pty.openpty()
    process = subprocess.Popen([sys.executable, "-m", "svbot.cli", *args], env=env, cwd=cwd, stdout=follower,
                               stderr=subprocess.PIPE)  # fmt: skip
    os.close(follower)
    seen = b""
    while True:
        ready, _, _ = select.select([leader], [], [], 60)
        try:
            chunk = os.read(leader, 65536) if ready else b""
        except OSError:  # the terminal closed: the process ended
            chunk = b""
        if not chunk:
            break
        seen += chunk
    assert process.wait(timeout=60) == 0, process.stderr.read() if process.stderr else ""
    os.close(leader)
    return seen


@pytest.mark.attack(
    "5",
    "A newline, terminal escape codes (clear screen, set title) and a right-to-left override in an imported "
    "organisation's name",
    "Cleaned at import to one line; calendars, the annual report and CLI listings clean again what was stored before",
)
def test_control_characters_never_reach_an_output(env: dict[str, str], db_url: str, tmp_path: Path) -> None:
    org = _imported_org(env, db_url, tmp_path, HOSTILE_NAME)
    stored = run_sql(db_url, f"SELECT name FROM organisations WHERE id = {org}")[0][0]
    assert stored == "Evil Group [2J ]0;owned Ltd"
    # Names stored before imports cleaned them: the outputs must cope too.
    run_sql(db_url, f"UPDATE organisations SET name = :name WHERE id = {org}", {"name": HOSTILE_NAME})
    run_sql(db_url, "UPDATE grants SET title = :name", {"name": HOSTILE_NAME})
    listing = _on_a_terminal(env, "deadlines", "list", "--today", "2027-01-20", cwd=tmp_path)
    assert b"Evil Group [2J ]0;owned Ltd " in listing  # one line: the listing's columns hold
    assert b"\x1b" not in listing and b"\x07" not in listing
    assert "\u202e".encode() not in listing
    calendar = tmp_path / "deadlines.ics"
    done = svbot(env, "deadlines", "ics", "--org", str(org), "--out", str(calendar), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    parsed = Calendar.from_ical(calendar.read_bytes())
    assert str(parsed["x-wr-calname"]) == "Evil Group [2J ]0;owned Ltd: monitoring deadlines"
    assert all("\n" not in str(event["summary"]) for event in parsed.walk("VEVENT"))
    support = run_sql(db_url, "INSERT INTO organisations (name, kind, created_at) VALUES (:name, 'support', "
                              "CURRENT_TIMESTAMP) RETURNING id", {"name": HOSTILE_NAME})[0][0]  # fmt: skip
    run_sql(db_url, f"UPDATE organisations SET support_org_id = {support} WHERE id = {org}")
    done = svbot(env, "report", "--support-org", str(support), "--period", "2026-27", "--format", "docx",
                 "--out", "report.docx", cwd=tmp_path)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "\x1b" not in done.stderr
    text = "\n".join(p.text for p in docx.Document(str(tmp_path / "report.docx")).paragraphs)
    assert "Evil Group [2J ]0;owned Ltd: social value report 2026-27" in text
    assert "\x1b" not in text and "\u202e" not in text


# ---------------------------------------------------------------- 7. --out


@pytest.mark.attack(
    "7",
    "--out naming a file that already exists, and a symbolic link to another file",
    "Refused without --force, the file left as it was; a link is never followed, even with --force",
)
def test_out_never_overwrites_nor_follows_links(env: dict[str, str], db_url: str, tmp_path: Path) -> None:
    org = _imported_org(env, db_url, tmp_path)
    kept = tmp_path / "precious.txt"
    kept.write_text("keep me")
    ics = ["deadlines", "ics", "--org", str(org), "--out"]
    line = refused(svbot(env, *ics, "precious.txt", cwd=tmp_path))
    assert line == "svbot: precious.txt already exists: add --force to replace it"
    assert kept.read_text() == "keep me"
    link = tmp_path / "link.ics"
    link.symlink_to(kept)
    for force in ((), ("--force",)):
        line = refused(svbot(env, *ics, "link.ics", *force, cwd=tmp_path))
        assert line == "svbot: link.ics is a symbolic link: svbot does not write through links"
    assert kept.read_text() == "keep me" and link.is_symlink()
    assert svbot(env, *ics, "precious.txt", "--force", cwd=tmp_path).returncode == 0
    assert kept.read_text().startswith("BEGIN:VCALENDAR")
    # The annual report's default file name is a file it writes too.
    support = run_sql(db_url, "INSERT INTO organisations (name, kind, created_at) VALUES "
                              "('Hub', 'support', CURRENT_TIMESTAMP) RETURNING id")[0][0]  # fmt: skip
    report = ["report", "--support-org", str(support), "--period", "2026-27"]
    assert svbot(env, *report, cwd=tmp_path).returncode == 0
    line = refused(svbot(env, *report, cwd=tmp_path))
    assert line == "svbot: social-value-report-2026-27.html already exists: add --force to replace it"


@pytest.mark.attack("7", "Every command that writes a file with --out",
                    "Each has --force and writes through the one helper (svbot.cli.common.write_file)")  # fmt: skip
def test_every_out_option_has_force() -> None:
    def commands(group: click.Group, prefix: str = "svbot") -> list[tuple[str, click.Command]]:
        found = []
        for name, command in group.commands.items():
            found.append((f"{prefix} {name}", command))
            if isinstance(command, click.Group):
                found += commands(command, f"{prefix} {name}")
        return found

    writers = [(name, c) for name, c in commands(main) if any(p.name == "out" for p in c.params)]
    assert len(writers) >= 5, writers
    missing = [name for name, command in writers if not any(p.name == "force" for p in command.params)]
    assert missing == []
    root = Path(__file__).resolve().parents[2] / "svbot" / "cli"
    for source in root.glob("*.py"):
        code = source.read_text(encoding="utf-8")
        assert ".write_bytes(" not in code and "open(out" not in code, source.name


def test_file_problems_are_one_line(tmp_path: Path) -> None:
    """Every FileProblem, whatever the file's name: one line, no control characters."""
    odd = tmp_path / "evil\x1b[31m\nname.csv"
    odd.write_bytes(b"\x81\x81")
    with pytest.raises(FileProblem) as caught:
        read_grants(odd)
    assert "\n" not in str(caught.value) and "\x1b" not in str(caught.value)


def test_grants_add_checks_the_same_limits(env: dict[str, str], db_url: str, tmp_path: Path) -> None:
    """A grant typed in (`svbot grants add`) is stored as an import would: the same column limits."""
    org = _imported_org(env, db_url, tmp_path)
    start = ["--org", str(org), "--start", "01/04/2027"]
    line = refused(svbot(env, "grants", "add", *start, "--title", "x", "--id", "i" * 201, cwd=tmp_path))
    assert line == "svbot: the grant was not added: Identifier is 201 characters long: svbot keeps up to 200"
    done = svbot(env, "grants", "add", *start, "--title", "t" * 300, cwd=tmp_path)  # its id is made short enough
    assert done.returncode == 0 and "1 imported" in done.stdout, done.stderr
