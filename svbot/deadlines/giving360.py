"""Read 360Giving files: a JSON package, or CSV/XLSX with 360Giving column titles.

Each grant comes out as a `ParsedRow`: a `GrantRecord` ready to store, or the reasons it was
skipped, in words a grants officer can act on. Spreadsheet cells are tidied first (day-first dates,
"12 months", "£1,000", Y/N) the way a person would read them; then every grant is checked against
the 360Giving schema (1.4.3, shipped in `schema/`, resolved offline).
"""

from __future__ import annotations

import csv
import hashlib
import json
import re
from collections.abc import Iterator
from dataclasses import astuple, dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from pathlib import Path
from typing import Any

from dateutil import parser as dateparser
from jsonschema import Draft202012Validator, FormatChecker
from jsonschema.exceptions import ValidationError
from referencing import Registry
from referencing.jsonschema import DRAFT202012

from svbot.deadlines.outcomes import OutcomeSpec, agreement_columns

SCHEMA_DIR = Path(__file__).resolve().parent / "schema"
GRANT_SCHEMA = SCHEMA_DIR / "360-giving-schema.json"
PACKAGE_SCHEMA = SCHEMA_DIR / "360-giving-package-schema.json"

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
    if not path.exists():
        raise FileProblem(f"cannot find {path}")
    if path.is_dir():
        raise FileProblem(f"{path} is a folder, not a file")
    suffix = path.suffix.lower()
    if suffix == ".json":
        return _json_grants(path)
    if suffix == ".csv":
        return _csv_grants(path)
    if suffix in (".xlsx", ".xlsm"):
        return _xlsx_grants(path)
    raise FileProblem(f"{path.name}: svbot reads 360Giving .json, .csv or .xlsx files")


# ---------------------------------------------------------------- JSON package


def _json_grants(path: Path) -> list[tuple[str, Any]]:
    try:
        package = json.loads(path.read_text(encoding="utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise FileProblem(f"{path.name} is not valid JSON ({_short(exc)})") from None
    if not isinstance(package, dict) or not isinstance(package.get("grants"), list):
        raise FileProblem(f'{path.name} is not a 360Giving package: it has no list of "grants"')
    problems = [_friendly(e) for e in _package_validator().iter_errors(package)]
    if problems:
        raise FileProblem(f"{path.name} is not a valid 360Giving package: {problems[0]}")
    return [(f"grant {i}", grant) for i, grant in enumerate(package["grants"], 1)]


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


def _csv_grants(path: Path) -> list[tuple[str, Any]]:
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            rows = list(csv.reader(handle))
    except UnicodeDecodeError:
        with path.open(newline="", encoding="cp1252") as handle:  # old Excel exports
            rows = list(csv.reader(handle))
    except csv.Error as exc:
        raise FileProblem(f"{path.name} is not a readable CSV file ({_short(exc)})") from None
    return _table_grants(path.name, rows)


def _xlsx_grants(path: Path) -> list[tuple[str, Any]]:
    import openpyxl  # a heavy import; only spreadsheets need it

    try:
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for a damaged or mislabelled file
        raise FileProblem(f"{path.name} is not a readable Excel file ({_short(exc)})") from None
    try:
        sheet = book["grants"] if "grants" in book.sheetnames else book.worksheets[0]
        rows = [list(r) for r in sheet.iter_rows(values_only=True)]
    finally:
        book.close()
    return _table_grants(path.name, rows)


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
        return int(value)
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
    grant_id = grant.get("id")
    if isinstance(grant_id, str) and grant_id.strip():
        label = f"{label} ({grant_id.strip()})"
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
    row.record = _record(grant, recipients[0], row.warnings, names_by_recipient)
    return row


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
    recipient_id = re.sub(r"\s+", "", str(recipient.get("id") or ""))
    recipient_name = str(recipient.get("name") or "").strip()
    if recipient_id and len(names.get(recipient_id, ())) > 1 and not ORG_ID.match(recipient_id):
        warnings.append(
            f"Recipient Org:Identifier {recipient_id} is shared by different organisations; matched by name"
        )
        recipient_id = ""
    programmes = grant.get("grantProgramme") or [{}]
    funders = grant.get("fundingOrganization") or [{}]
    outcomes, budget = agreement_columns(grant.get("svbot:agreedOutcomes"), grant.get("svbot:budget"), warnings)
    return GrantRecord(
        external_id=str(grant["id"]).strip(),
        title=str(grant.get("title") or "").strip(),
        description=str(grant.get("description") or "").strip(),
        funder_id=str(funders[0].get("id") or ""),
        funder_name=str(funders[0].get("name") or ""),
        programme=str(programmes[0].get("title") or programmes[0].get("code") or "").strip(),
        currency=str(grant.get("currency") or "GBP"),
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
                key = re.sub(r"\s+", "", str(recipient["id"]))
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
    return str(exc).splitlines()[0][:120] if str(exc) else type(exc).__name__


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
