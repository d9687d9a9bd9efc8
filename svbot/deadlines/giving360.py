"""Read 360Giving files: a JSON package, or CSV/XLSX with 360Giving column titles.

Each grant comes out as a `ParsedRow`: a `GrantRecord` ready to store, or the reasons it was
skipped, in words a grants officer can act on. Spreadsheet cells are tidied first (day-first dates,
"12 months", "£1,000", Y/N) the way a person would read them; then every grant is checked against
the 360Giving schema (1.4.3, shipped in `schema/`, resolved offline).
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import io
import json
import math
import re
import zipfile
from collections.abc import Iterator
from dataclasses import astuple, dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from pathlib import Path
from typing import IO, Any
from xml.parsers import expat

from dateutil import parser as dateparser
from jsonschema import Draft202012Validator, FormatChecker
from jsonschema.exceptions import ValidationError
from referencing import Registry
from referencing.jsonschema import DRAFT202012

from svbot.clean import many_lines, one_line
from svbot.deadlines.outcomes import OutcomeSpec, agreement_columns
from svbot.files import FileRefused, TooLarge, megabytes, read_regular, shown_name

SCHEMA_DIR = Path(__file__).resolve().parent / "schema"
GRANT_SCHEMA = SCHEMA_DIR / "360-giving-schema.json"
PACKAGE_SCHEMA = SCHEMA_DIR / "360-giving-package-schema.json"

# What svbot reads, at most. The largest real funder file in tests/data is 1.5 MB (4,116 grants in an
# .xlsx of 0.8 MB that unpacks to 5.5 MB, packed 10 times over). 50 MB is some 50,000 grants.
MAX_FILE_MB = 50
MAX_FILE_BYTES = MAX_FILE_MB * 1024 * 1024
MAX_XLSX_UNPACKED_MB = 100  # openpyxl takes about 17 times the unpacked size in memory
MAX_XLSX_UNPACKED_BYTES = MAX_XLSX_UNPACKED_MB * 1024 * 1024
MAX_XLSX_RATIO = 100  # XML packs 5 to 20 times; a zip bomb thousands of times
MAX_XLSX_PARTS = 1000
MAX_DEPTH = 32  # a 360Giving grant nests 4 levels (package, grants, grant, planned dates)
# Days and lengths svbot plans reports for: a date outside these is a typing slip (9999-12-31), and one
# beyond year 9999 cannot even be counted with.
EARLIEST = date(1900, 1, 1)
LATEST = date(2100, 12, 31)
MAX_MONTHS = 50 * 12

# Fields svbot uses. With `lenient`, a grant whose only schema problems are elsewhere is still imported.
USED_FIELDS = frozenset(
    {
        "id",
        "title",
        "amountAwarded",
        "currency",
        "awardDate",
        "plannedDates",
        "recipientOrganization",
        "grantProgramme",
    }
)


# An org-id such as GB-CHC-1070468 or 360G-indigotrust:org-12. A value without that shape that comes
# with several different names (DUMMY01 in a real file) is a placeholder, so we match by name instead.
ORG_ID = re.compile(r"^[A-Za-z0-9]+-[A-Za-z0-9]+")


class FileProblem(Exception):
    """The file as a whole cannot be read (missing, wrong type, not 360Giving). The message says why."""


@dataclass(frozen=True, slots=True)
class GrantRecord:
    external_id: str
    title: str
    description: str
    funder_id: str
    funder_name: str
    programme: str
    currency: str
    amount_awarded: Decimal | None
    award_date: date | None
    planned_start: date | None
    planned_end: date | None
    duration_months: int | None
    recipient_id: str  # "" when the file gives none
    recipient_name: str
    amount_applied_for: Decimal | None = None
    amount_disbursed: Decimal | None = None
    budget: Decimal | None = None  # svbot's "Budget" column (GBP)
    outcomes: tuple[OutcomeSpec, ...] = ()  # svbot's "Agreed outcomes" column

    def content_hash(self, extra: str = "") -> str:
        """Changes when anything svbot stores about the grant changes (and with `extra`: the schedule)."""
        values = astuple(self)
        if not any(values[_NEWER_FIELDS:]):  # a grant without them hashes as it did before they were added
            values = values[:_NEWER_FIELDS]
        text = json.dumps([str(v) for v in values] + [extra])
        return hashlib.sha256(text.encode()).hexdigest()


_NEWER_FIELDS = 14  # GrantRecord's fields from amount_applied_for on came later


@dataclass(slots=True)
class ParsedRow:
    label: str  # "row 7 (360G-x-1)" or "grant 3 (360G-x-1)": how to find it in the file
    record: GrantRecord | None
    reasons: list[str] = field(default_factory=list)  # why it was skipped
    warnings: list[str] = field(default_factory=list)  # imported, but worth a look
    fixable_by_lenient: bool = False  # skipped only for fields svbot does not use


def read_grants(path: Path, lenient: bool = False) -> tuple[int, Iterator[ParsedRow]]:
    """(number of grants, the grants one by one). Raises FileProblem for an unreadable file."""
    raw = _raw_grants(Path(path))
    return len(raw), _parse_all(raw, lenient)


def _raw_grants(path: Path) -> list[tuple[str, Any]]:
    suffix = path.suffix.lower()
    if suffix not in (".json", ".csv", ".xlsx", ".xlsm"):
        raise FileProblem(f"{_name(path)}: svbot reads 360Giving .json, .csv or .xlsx files")
    data = _read_file(path)
    if suffix == ".json":
        return _json_grants(_name(path), data)
    if suffix == ".csv":
        return _csv_grants(_name(path), data)
    return _xlsx_grants(_name(path), data)


def _read_file(path: Path) -> bytes:
    """The file's bytes, if it is a regular file of at most MAX_FILE_MB (svbot.files)."""
    try:
        return read_regular(path, MAX_FILE_BYTES)
    except TooLarge as exc:
        raise FileProblem(f"{exc}: svbot imports files of up to {MAX_FILE_MB} MB (split it, or leave out "
                          "old grants)") from None  # fmt: skip
    except FileRefused as exc:
        raise FileProblem(str(exc)) from None


def _name(path: Path) -> str:
    return shown_name(path)


# ---------------------------------------------------------------- JSON package


def _json_grants(name: str, data: bytes) -> list[tuple[str, Any]]:
    try:
        package = json.loads(_decode(name, data))
    except json.JSONDecodeError as exc:
        raise FileProblem(f"{name} is not valid JSON ({_short(exc)})") from None
    except RecursionError:
        raise FileProblem(f"{name} is nested too deeply to be a 360Giving file") from None
    if _depth(package) > MAX_DEPTH:
        raise FileProblem(f"{name} is nested more than {MAX_DEPTH} levels deep: it is not a 360Giving file")
    if not isinstance(package, dict) or not isinstance(package.get("grants"), list):
        raise FileProblem(f'{name} is not a 360Giving package: it has no list of "grants"')
    problems = [_friendly(e) for e in _package_validator().iter_errors(package)]
    if problems:
        raise FileProblem(f"{name} is not a valid 360Giving package: {problems[0]}")
    return [(f"grant {i}", grant) for i, grant in enumerate(package["grants"], 1)]


def _depth(document: Any) -> int:
    """How deeply lists and objects nest (counted without recursion, so any depth can be measured)."""
    deepest, stack = 0, [(document, 1)]
    while stack:
        node, level = stack.pop()
        if isinstance(node, dict | list):
            deepest = max(deepest, level)
            if deepest > MAX_DEPTH:
                break
            stack.extend((child, level + 1) for child in (node.values() if isinstance(node, dict) else node))
    return deepest


def _decode(name: str, data: bytes) -> str:
    """Text in the encodings funders' files come in: a byte-order mark says UTF-8 or UTF-16; without
    one, UTF-16 is recognised by its zero bytes, then UTF-8 is tried strictly, then Windows-1252
    (old Excel exports). Anything else is refused with where it went wrong."""
    if data.startswith(codecs.BOM_UTF8):
        encoding = "utf-8-sig"
    elif data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        encoding = "utf-16"
    else:
        encoding = _utf16_without_mark(data[:4096]) or "utf-8"
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as exc:
        if encoding != "utf-8":
            raise FileProblem(
                f"{name} says it is {_ENCODING_NAMES[encoding]} but is not ({_where(data, exc)})"
            ) from None
    try:
        return data.decode("cp1252")
    except UnicodeDecodeError as exc:
        raise FileProblem(
            f"{name} is not text in UTF-8 or Windows-1252 ({_where(data, exc)}): save it as CSV UTF-8"
        ) from None


_ENCODING_NAMES = {"utf-8-sig": "UTF-8", "utf-16": "UTF-16", "utf-16-le": "UTF-16", "utf-16-be": "UTF-16"}


def _utf16_without_mark(sample: bytes) -> str | None:
    """UTF-16 text of Latin letters has a zero in every other byte: odd bytes (little-endian) or even."""
    if len(sample) < 4:
        return None
    even, odd = sample[0::2].count(0), sample[1::2].count(0)
    if odd > len(sample) // 4 and even == 0:
        return "utf-16-le"
    if even > len(sample) // 4 and odd == 0:
        return "utf-16-be"
    return None


def _where(data: bytes, exc: UnicodeDecodeError) -> str:
    line = data.count(b"\n", 0, exc.start) + 1
    return f"byte 0x{data[exc.start]:02x} on line {line:,}"


# ---------------------------------------------------------------- CSV and XLSX

# Column title (lower case) -> (where it goes in the grant, how to read the cell).
COLUMNS: dict[str, tuple[tuple[str | int, ...], str]] = {
    "identifier": (("id",), "text"),
    "title": (("title",), "text"),
    "description": (("description",), "text"),
    "currency": (("currency",), "currency"),
    "amount awarded": (("amountAwarded",), "number"),
    "amount applied for": (("amountAppliedFor",), "number"),
    "amount disbursed": (("amountDisbursed",), "number"),
    # svbot's own columns (not 360Giving fields): what the grant agreed. See the README.
    "agreed outcomes": (("svbot:agreedOutcomes",), "text"),
    "budget": (("svbot:budget",), "number"),
    "award date": (("awardDate",), "date"),
    "planned dates:start date": (("plannedDates", 0, "startDate"), "date"),
    "planned dates:end date": (("plannedDates", 0, "endDate"), "date"),
    "planned dates:duration (months)": (("plannedDates", 0, "duration"), "months"),
    "recipient org:identifier": (("recipientOrganization", 0, "id"), "orgid"),
    "recipient org:name": (("recipientOrganization", 0, "name"), "text"),
    "recipient org:charity number": (("recipientOrganization", 0, "charityNumber"), "text"),
    "recipient org:company number": (("recipientOrganization", 0, "companyNumber"), "text"),
    "funding org:identifier": (("fundingOrganization", 0, "id"), "text"),
    "funding org:name": (("fundingOrganization", 0, "name"), "text"),
    "funding org:department": (("fundingOrganization", 0, "department"), "text"),
    "grant programme:code": (("grantProgramme", 0, "code"), "text"),
    "grant programme:title": (("grantProgramme", 0, "title"), "text"),
    "from an open call?": (("fromOpenCall",), "yesno"),
}
_EMPTY_WORDS = {"", "undefined", "unknown", "n/a", "na", "none", "null", "-", "tbc", "tbd"}


def _csv_grants(name: str, data: bytes) -> list[tuple[str, Any]]:
    text = _decode(name, data)
    delimiter = _delimiter(text)
    try:
        rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))
    except csv.Error as exc:
        raise FileProblem(f"{name} is not a readable CSV file ({_short(exc)})") from None
    return _table_grants(name, rows)


def _delimiter(text: str) -> str:
    """Comma, semicolon (Excel in much of Europe) or tab: the one that splits the first row into the
    most 360Giving column titles. (csv.Sniffer guesses from how often characters recur, and could not
    tell on the first kilobyte of a real funder's file, whose first row alone is longer.)"""
    first = text[: text.find("\n") if "\n" in text else len(text)]

    def titles(delimiter: str) -> int:
        try:
            cells = next(csv.reader([first], delimiter=delimiter), [])
        except csv.Error:
            return 0
        return sum(re.sub(r"\s+", " ", cell).strip().lower() in COLUMNS for cell in cells)

    return max((",", ";", "\t"), key=titles)  # a tie (none found) keeps the comma


def _xlsx_grants(name: str, data: bytes) -> list[tuple[str, Any]]:
    import openpyxl  # a heavy import; only spreadsheets need it

    _check_spreadsheet(name, data)
    try:
        book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for a damaged or mislabelled file
        raise FileProblem(f"{name} is not a readable Excel file ({_short(exc)})") from None
    try:
        sheet = book["grants"] if "grants" in book.sheetnames else book.worksheets[0]
        rows = [list(r) for r in sheet.iter_rows(values_only=True)]
    except Exception as exc:  # a cell openpyxl cannot convert (a date beyond year 9999, say)
        raise FileProblem(f"{name} is a damaged Excel file ({_short(exc)})") from None
    finally:
        book.close()
    return _table_grants(name, rows)


def _check_spreadsheet(name: str, data: bytes) -> None:
    """Refuse a zip bomb and XML with a DOCTYPE before openpyxl reads a byte of it.

    An .xlsx is a zip of XML files. Its directory says how big each part is unpacked, and Python's
    zipfile never unpacks more than that, so the sizes are checked here first: a few MB that unpack to
    gigabytes are refused. A part with a DOCTYPE (entity expansion, external entities: no real
    spreadsheet has one) is refused as defusedxml would, read only as far as its first element."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, ValueError) as exc:
        raise FileProblem(f"{name} is not a readable Excel file ({_short(exc)})") from None
    with archive:
        parts = archive.infolist()
        if len(parts) > MAX_XLSX_PARTS:
            raise FileProblem(f"{name} has {len(parts):,} parts inside: not a spreadsheet svbot reads")
        unpacked = sum(part.file_size for part in parts)
        if unpacked > MAX_XLSX_UNPACKED_BYTES:
            raise FileProblem(f"{name} unpacks to {megabytes(unpacked)}: svbot reads spreadsheets of up to "
                              f"{MAX_XLSX_UNPACKED_MB} MB unpacked (save it as CSV, or split it)")  # fmt: skip
        for part in parts:
            ratio = part.file_size / max(part.compress_size, 1)
            if part.file_size > 1024 * 1024 and ratio > MAX_XLSX_RATIO:
                raise FileProblem(f"{name} is packed {ratio:,.0f} times over (at most {MAX_XLSX_RATIO}): "
                                  "it looks like a zip bomb, not a spreadsheet")  # fmt: skip
            try:
                with archive.open(part) as member:
                    doctype = _has_doctype(member)
            except (zipfile.BadZipFile, NotImplementedError, OSError, EOFError, RuntimeError) as exc:
                raise FileProblem(f"{name} is not a readable Excel file ({_short(exc)})") from None
            if doctype:
                raise FileProblem(f"{name} has a DOCTYPE in {one_line(part.filename)[:60]}: real spreadsheets "
                                  "have none, so svbot does not read it")  # fmt: skip


class _Stop(Exception):
    pass


def _has_doctype(stream: IO[bytes]) -> bool:
    """Whether an XML part declares a DOCTYPE. Parsed by expat (any encoding it knows) only up to the
    first element, where a DOCTYPE can no longer come; a part that is not XML (a picture) has none."""
    parser = expat.ParserCreate()
    found: list[bool] = []

    def doctype(*_: Any) -> None:
        found.append(True)
        raise _Stop

    def element(*_: Any) -> None:
        raise _Stop

    parser.StartDoctypeDeclHandler = doctype
    parser.StartElementHandler = element
    try:
        while chunk := stream.read(64 * 1024):
            parser.Parse(chunk, False)
        parser.Parse(b"", True)
    except _Stop:
        pass
    except expat.ExpatError:
        return False  # not XML, or broken XML: openpyxl says so if it needs this part
    return bool(found)


def _table_grants(name: str, rows: list[list[Any]]) -> list[tuple[str, Any]]:
    if not rows:
        raise FileProblem(f"{name} is empty")
    header = [re.sub(r"\s+", " ", str(h or "")).strip().lower() for h in rows[0]]
    columns = [(i, COLUMNS[h]) for i, h in enumerate(header) if h in COLUMNS]
    if not any(spec[0] == ("id",) for _, spec in columns):
        raise FileProblem(f'{name} has no 360Giving "Identifier" column in its first row')
    grants: list[tuple[str, Any]] = []
    for number, row in enumerate(rows[1:], 2):
        if not any(cell not in (None, "") for cell in row):
            continue  # blank line at the end of many exports
        grant: dict[str, Any] = {}
        for index, (path, kind) in columns:
            value = _cell(row[index] if index < len(row) else None, kind)
            if value is not None:
                _put(grant, path, value)
        grants.append((f"row {number}", grant))
    return grants


def _cell(value: Any, kind: str) -> Any:
    """A spreadsheet cell as the JSON value the standard expects; None when the cell is empty."""
    if isinstance(value, str):
        value = value.strip()
        if value.lower() in _EMPTY_WORDS:
            return None
    elif value is None:
        return None
    if kind == "date":
        return _date_text(value)
    if kind == "number":
        return _number(value)
    if kind == "months":
        return _months(value)
    if kind == "yesno":
        return {"y": "Yes", "yes": "Yes", "n": "No", "no": "No"}.get(str(value).lower(), str(value))
    if kind == "currency":
        return str(value).upper()
    if kind == "orgid":
        return re.sub(r"\s+", "", str(value))
    if isinstance(value, float) and value.is_integer():
        value = int(value)  # a charity number typed as a number
    return str(value)


def _date_text(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, int | float):  # an Excel serial number in an unformatted cell
        if not math.isfinite(value) or not 0 < value < 2_958_466:  # Excel's last day is 31 December 9999
            return str(value)  # the schema check reports it, as written
        return (date(1899, 12, 30) + timedelta(days=int(value))).isoformat()
    text = str(value)
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        return text
    try:
        # Spreadsheets from UK funders write dates day first: 26/03/2001 is 26 March.
        return dateparser.parse(text, dayfirst=True).date().isoformat()
    except (ValueError, OverflowError):
        return text  # the schema check reports it, with the text as written


def _number(value: Any) -> Any:
    if isinstance(value, int | float):
        return value
    text = str(value).replace("£", "").replace(",", "").strip()
    try:
        number = Decimal(text)
    except InvalidOperation:
        return str(value)
    return int(number) if number == number.to_integral_value() else float(number)


def _months(value: Any) -> Any:
    if isinstance(value, int | float):
        return int(value) if math.isfinite(value) else str(value)
    match = re.fullmatch(r"(-?\d+)\s*(months?)?", str(value).lower())
    return int(match.group(1)) if match else str(value)


def _put(target: dict[str, Any], path: tuple[str | int, ...], value: Any) -> None:
    node: Any = target
    for step, following in zip(path, path[1:], strict=False):
        if isinstance(following, int):
            node = node.setdefault(step, [{}])
        elif isinstance(step, int):
            node = node[step]
        else:
            node = node.setdefault(step, {})
    node[path[-1]] = value


# ---------------------------------------------------------------- checking and converting


def _parse_all(raw: list[tuple[str, Any]], lenient: bool) -> Iterator[ParsedRow]:
    seen: dict[str, str] = {}
    names_by_recipient = _names_by_recipient(raw)
    for label, grant in raw:
        row = _parse_one(label, grant, lenient, names_by_recipient)
        if row.record is not None:
            first = seen.setdefault(row.record.external_id, row.label)
            if first != row.label:
                repeated = f"Identifier {row.record.external_id} is repeated ({first} has it)"
                row = ParsedRow(row.label, None, [repeated])
        yield row


def _parse_one(label: str, grant: Any, lenient: bool, names_by_recipient: dict[str, set[str]]) -> ParsedRow:
    if not isinstance(grant, dict):
        return ParsedRow(label, None, ["not a grant (expected an object with fields)"])
    grant_id = one_line(grant.get("id")) if isinstance(grant.get("id"), str) else ""
    if grant_id:
        label = f"{label} ({grant_id[:80]}{'…' if len(grant_id) > 80 else ''})"
    errors = list(_grant_validator().iter_errors(grant))
    reasons = _dedupe(_friendly(e) for e in errors)
    blocking = [_friendly(e) for e in errors if not lenient or _touches_used_field(e)]
    if blocking:
        fixable = not lenient and not any(_touches_used_field(e) for e in errors)
        return ParsedRow(label, None, reasons, fixable_by_lenient=fixable)
    row = ParsedRow(label, None, warnings=reasons)
    recipients = grant.get("recipientOrganization") or []
    if not recipients:
        row.reasons.append("svbot imports grants to organisations; this one is to an individual")
        return row
    record = _record(grant, recipients[0], row.warnings, names_by_recipient)
    row.reasons = _out_of_range(record)
    row.record = None if row.reasons else record
    return row


def _out_of_range(record: GrantRecord) -> list[str]:
    """Dates and lengths no grant has (a typing slip like 9999-12-31 or 99999999 months): the grant is
    skipped with the reason, rather than planning reports for the year 10000."""
    reasons = []
    for label, day in (("Award Date", record.award_date), ("Planned Dates:Start Date", record.planned_start),
                       ("Planned Dates:End Date", record.planned_end)):  # fmt: skip
        if day is not None and not EARLIEST <= day <= LATEST:
            reasons.append(f"{label}: {day.isoformat()} is not between {EARLIEST.year} and {LATEST.year}")
    if record.duration_months is not None and record.duration_months > MAX_MONTHS:
        reasons.append(f"Duration (months): {record.duration_months:,} months is more than {MAX_MONTHS // 12} years")
    return reasons


def _record(
    grant: dict[str, Any], recipient: dict[str, Any], warnings: list[str], names: dict[str, set[str]]
) -> GrantRecord:
    starts, ends, durations = [], [], []
    for planned in grant.get("plannedDates") or []:
        starts.append(_as_date(planned.get("startDate")))
        ends.append(_as_date(planned.get("endDate")))
        durations.append(planned.get("duration"))
    start = min((d for d in starts if d), default=None)
    end = max((d for d in ends if d), default=None)
    duration = next((d for d in durations if isinstance(d, int)), None)
    if start and end and end < start:
        warnings.append(f"Planned end date {end:%d %b %Y} is before the start date; used the duration")
        end = None
    if duration is not None and duration <= 0:
        warnings.append(f"Planned duration {duration} months is not a length of time; ignored")
        duration = None
    recipient_id = re.sub(r"\s+", "", one_line(recipient.get("id") or ""))
    recipient_name = one_line(recipient.get("name") or "")
    if recipient_id and len(names.get(recipient_id, ())) > 1 and not ORG_ID.match(recipient_id):
        warnings.append(
            f"Recipient Org:Identifier {recipient_id} is shared by different organisations; matched by name"
        )
        recipient_id = ""
    programmes = grant.get("grantProgramme") or [{}]
    funders = grant.get("fundingOrganization") or [{}]
    agreed = grant.get("svbot:agreedOutcomes")
    agreed = many_lines(agreed) if isinstance(agreed, str) else agreed
    outcomes, budget = agreement_columns(agreed, grant.get("svbot:budget"), warnings)
    # Names, titles and identifiers are one line, without control characters (svbot.clean): they go
    # into calendars, listings and Word files. Only the description keeps its lines.
    return GrantRecord(
        external_id=one_line(grant["id"]),
        title=one_line(grant.get("title") or ""),
        description=many_lines(grant.get("description") or ""),
        funder_id=one_line(funders[0].get("id") or ""),
        funder_name=one_line(funders[0].get("name") or ""),
        programme=one_line(programmes[0].get("title") or programmes[0].get("code") or ""),
        currency=one_line(grant.get("currency") or "GBP"),
        amount_awarded=_as_decimal(grant.get("amountAwarded")),
        award_date=_as_date(grant.get("awardDate")),
        planned_start=start,
        planned_end=end,
        duration_months=duration,
        recipient_id=recipient_id,
        recipient_name=recipient_name,
        amount_applied_for=_as_decimal(grant.get("amountAppliedFor")),
        amount_disbursed=_as_decimal(grant.get("amountDisbursed")),
        budget=budget,
        outcomes=outcomes,
    )


def _names_by_recipient(raw: list[tuple[str, Any]]) -> dict[str, set[str]]:
    """Recipient ids and the names they come with: a placeholder like DUMMY01 comes with many."""
    names: dict[str, set[str]] = {}
    for _, grant in raw:
        if not isinstance(grant, dict):
            continue
        for recipient in grant.get("recipientOrganization") or []:
            if isinstance(recipient, dict) and recipient.get("id"):
                key = re.sub(r"\s+", "", one_line(recipient["id"]))
                names.setdefault(key, set()).add(normalise_name(str(recipient.get("name") or "")))
    return names


def normalise_name(name: str) -> str:
    return re.sub(r"\s+", " ", name).strip().lower()


def _as_date(value: Any) -> date | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        return date.fromisoformat(value[:10])  # the date as written, whatever the offset
    except ValueError:
        return None


def _as_decimal(value: Any) -> Decimal | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    if not math.isfinite(value):  # JSON's 1e999: too large for any column, and said so by the importer
        return Decimal("Infinity")
    return Decimal(str(value)).quantize(Decimal("0.01"))


def _touches_used_field(error: ValidationError) -> bool:
    if error.absolute_path:
        return str(error.absolute_path[0]) in USED_FIELDS
    if error.validator == "oneOf":  # the top-level "required" lists
        return any(_missing(c) in USED_FIELDS for c in error.context or [])
    return True


# ---------------------------------------------------------------- friendly messages

LABELS = {
    "id": "Identifier",
    "title": "Title",
    "description": "Description",
    "currency": "Currency",
    "amountAwarded": "Amount Awarded",
    "amountAppliedFor": "Amount Applied For",
    "amountDisbursed": "Amount Disbursed",
    "awardDate": "Award Date",
    "plannedDates": "Planned Dates",
    "startDate": "Start Date",
    "endDate": "End Date",
    "duration": "Duration (months)",
    "recipientOrganization": "Recipient Org",
    "fundingOrganization": "Funding Org",
    "grantProgramme": "Grant Programme",
    "name": "Name",
    "charityNumber": "Charity Number",
    "companyNumber": "Company Number",
    "fromOpenCall": "From an open call?",
    "dateModified": "Last modified",
    "code": "Code",
    "url": "URL",
    "grants": "grants",
}


def _friendly(error: ValidationError) -> str:
    where = _label(error.absolute_path)
    if error.validator == "required":
        missing = _missing(error)
        return f"{where + ': ' if where else ''}{LABELS.get(missing, missing)} is missing"
    if error.validator == "oneOf" and not error.absolute_path:
        # The grant must have every required field and a recipient organisation or individual:
        # report what is missing for the organisation branch, which is what svbot imports.
        missing = _dedupe(_missing(c) for c in error.context or [] if _missing(c) != "recipientIndividual")
        if missing:
            verb = " is missing" if len(missing) == 1 else " are missing"
            return ", ".join(LABELS.get(m, m) for m in missing) + verb
        return "needs either a recipient organisation or a recipient individual, not both"
    value = error.instance
    if error.validator == "oneOf" and isinstance(value, str):
        return f"{where}: {value!r} is not a date (write it as YYYY-MM-DD)"
    if error.validator == "type":
        wanted = {
            "number": "a number",
            "integer": "a whole number",
            "string": "text",
            "array": "a list",
            "object": "a group of fields",
        }.get(str(error.validator_value), str(error.validator_value))
        return f"{where}: {_show(value)} is not {wanted}"
    if error.validator == "enum":
        if where == "Currency":
            return f"Currency: {_show(value)} is not a currency code (for example GBP)"
        return f"{where}: {_show(value)} is not one of {', '.join(map(str, error.validator_value[:6]))}"
    if error.validator == "minimum":
        return f"{where}: {_show(value)} is below {error.validator_value}"
    return f"{where or 'grant'}: {error.message[:200]}"


def _missing(error: ValidationError) -> str:
    match = re.match(r"'([^']+)' is a required property", error.message)
    return match.group(1) if match else ""


def _label(path: Any) -> str:
    parts = [LABELS.get(str(p), str(p)) for p in path if not isinstance(p, int)]
    return ":".join(parts)


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _dedupe(items: Any) -> list[str]:
    return list(dict.fromkeys(i for i in items if i))


def _short(exc: Exception) -> str:
    return one_line(str(exc).splitlines()[0])[:120] if str(exc).strip() else type(exc).__name__


# ---------------------------------------------------------------- the schema, offline


@lru_cache(maxsize=1)
def _registry() -> Registry:
    grant = json.loads(GRANT_SCHEMA.read_text(encoding="utf-8"))
    # The files say "http://json-schema.org/draft/2020-12/schema" (http), which `referencing` does not
    # recognise, so name the dialect ourselves.
    resource = DRAFT202012.create_resource(grant)
    # The package schema points at the grant schema on GitHub (by an older version's URL): serve it locally.
    urls = {grant["$id"], grant["$id"].replace("/1.4.3/", "/1.4.2/")}
    return Registry().with_resources((url, resource) for url in urls)


@lru_cache(maxsize=1)
def _grant_validator() -> Draft202012Validator:
    grant = json.loads(GRANT_SCHEMA.read_text(encoding="utf-8"))
    return Draft202012Validator(grant, registry=_registry(), format_checker=FormatChecker())


@lru_cache(maxsize=1)
def _package_validator() -> Draft202012Validator:
    package = json.loads(PACKAGE_SCHEMA.read_text(encoding="utf-8"))
    # Grants are checked one by one (per-grant reasons, and no quadratic uniqueItems over thousands).
    package["properties"]["grants"] = {"type": "array", "minItems": 1}
    return Draft202012Validator(package, registry=_registry(), format_checker=FormatChecker())


def package_validator() -> Draft202012Validator:
    """The whole package schema, its remote reference resolved to the shipped grant schema."""
    package = json.loads(PACKAGE_SCHEMA.read_text(encoding="utf-8"))
    return Draft202012Validator(package, registry=_registry(), format_checker=FormatChecker())
