"""Store grants from a 360Giving file, with their organisations and monitoring deadlines.

Upsert by grant identifier, in chunks (one transaction each, so a large file shows progress and a
failure keeps what was done). A grant whose stored hash matches is left alone, which makes a
re-import a no-op.

A re-import respects what people did. A deadline someone touched (submitted, waived, given a new
date by a person: `status_at` set, snoozed, or with a monitoring report begun or submitted: a row in
`monitoring_reports`) stays exactly as it is, even if the schedule would move or drop it or
`ignore_before` is later than its due date; untouched ones follow the schedule. `ignore_before`
leaves reports due before that day untracked: not created (and untouched ones already stored are
removed), so importing years of history does not make every member overdue; a programme's own
setting (`svbot programme set CODE --ignore-before`) applies to its grants when the import names no
date. Without either, a re-import of a grant already stored adds no report that is already past:
only a stated cutoff brings history back.

A dry run (`dry_run=True`) reads and checks every grant first, then stores them exactly as an import
would, inside one transaction that is rolled back: its summary says what the import would do, and
nothing is written.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import column, delete, insert, select, table, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from svbot.deadlines.giving360 import GrantRecord, ParsedRow, normalise_name, read_grants
from svbot.deadlines.models import UPCOMING, Deadline, Grant, Programme, Snooze
from svbot.deadlines.outcomes import store_agreed_outcomes
from svbot.deadlines.schedules import (
    GrantPeriod,
    PlannedDeadline,
    ReminderRules,
    Schedule,
    due_dates,
    grant_period,
)
from svbot.deadlines.service import (
    DEFAULT_TIMEZONE,
    RulesCache,
    ScheduleBook,
    deadline_ref,
    load_schedules,
    set_cursor,
)
from svbot.delivery.models import CANCELLED, PENDING, OutboxMessage
from svbot.models import Organisation
from svbot.privacy.erased import erased_hashes, external_id_hash

Progress = Callable[[int, int], None]  # (grants done, grants in the file)
CHUNK = 500
# svbot.monitoring.MonitoringReport's table (one draft or submitted report per deadline), named here
# rather than imported: the importer does not load the chat layer that model lives with.
_REPORTS = table("monitoring_reports", column("deadline_id"))


@dataclass
class ImportSummary:
    total: int = 0
    imported: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped: list[tuple[str, list[str]]] = field(default_factory=list)  # (row label, reasons)
    warnings: list[tuple[str, list[str]]] = field(default_factory=list)
    lenient_would_import: int = 0  # skipped only for fields svbot does not use
    organisations_created: int = 0
    new_organisations: list[tuple[int, str]] = field(default_factory=list)  # (id, name) of those created
    deadlines_created: int = 0
    deadlines_updated: int = 0
    deadlines_removed: int = 0
    deadlines_untracked: int = 0  # due before `ignore_before`: not created, or removed if untouched
    deadlines_past_skipped: int = 0  # a re-import without `ignore_before`: past reports not added
    deadlines_kept: int = 0  # people touched them: left as they are, though the schedule differs
    erased: int = 0  # grants of organisations erased at their request: left out (svbot.privacy)
    # Grants with no end date or duration: svbot assumed DEFAULT_GRANT_MONTHS (external id, assumed end).
    assumed_end: list[tuple[str, date]] = field(default_factory=list)

    def headline(self) -> str:
        return (
            f"{self.imported} imported, {self.updated} updated, {self.unchanged} unchanged, {len(self.skipped)} skipped"
        )


class UnknownSupportOrg(Exception):
    pass


async def import_grants(
    sessionmaker: async_sessionmaker[AsyncSession],
    path: Path | str,
    *,
    now: datetime,
    support_org_id: int | None = None,
    lenient: bool = False,
    schedule: Schedule | None = None,
    timezone: str = DEFAULT_TIMEZONE,
    progress: Progress | None = None,
    ignore_before: date | None = None,
    dry_run: bool = False,
    include_erased: bool = False,
) -> ImportSummary:
    """Import one file. `schedule` overrides the support organisation's default schedule;
    reports due before `ignore_before` are left untracked. With `dry_run`, nothing is written: the
    summary says what the import would do (`progress` then counts the grants read and checked).
    Grants of an organisation erased at its request (svbot.privacy) are skipped unless `include_erased`.

    Raises `giving360.FileProblem` when the file cannot be read at all, `UnknownSupportOrg` when
    `support_org_id` names no organisation. Bad rows never raise: they are in `summary.skipped`.
    """
    total, rows = read_grants(Path(path), lenient=lenient)
    options = {"now": now, "support_org_id": support_org_id, "schedule": schedule, "timezone": timezone,
               "ignore_before": ignore_before, "include_erased": include_erased}  # fmt: skip
    if not dry_run:
        return await _import(sessionmaker, total, rows, progress=progress, **options)
    # Every grant read and checked before the transaction begins, so it holds SQLite's write lock
    # only while storing.
    checked = []
    for done, row in enumerate(rows, 1):
        checked.append(row)
        if progress is not None and (done % 100 == 0 or done == total):
            progress(done, total)
    async with _rolled_back(sessionmaker) as trial:
        return await _import(trial, total, checked, progress=None, **options)


async def _import(
    sessionmaker: async_sessionmaker[AsyncSession],
    total: int,
    rows: Iterable[ParsedRow],
    *,
    now: datetime,
    support_org_id: int | None,
    schedule: Schedule | None,
    timezone: str,
    progress: Progress | None,
    ignore_before: date | None,
    include_erased: bool,
) -> ImportSummary:
    summary = ImportSummary(total=total)
    today = now.astimezone(ZoneInfo(timezone)).date()
    async with sessionmaker() as session:
        if support_org_id is not None and await session.get(Organisation, support_org_id) is None:
            raise UnknownSupportOrg(f"there is no organisation with id {support_org_id}")
        book = await load_schedules(session, support_org_id, schedule)
        cutoffs = await _programme_cutoffs(session, support_org_id, ignore_before)
        erased = set() if include_erased else await erased_hashes(session)
    done = 0
    chunk: list[GrantRecord] = []
    for row in rows:
        done += 1
        record = _take(row, summary)
        if record is not None and erased and external_id_hash(_org_key(record)) in erased:
            summary.erased += 1
            record = None
        if record is not None:
            chunk.append(record)
        if len(chunk) >= CHUNK:
            await _store_chunk(sessionmaker, chunk, book, support_org_id, now, today, timezone, summary, cutoffs)
            chunk = []
        if progress is not None and (done % 100 == 0 or done == total):
            progress(done, total)
    if chunk:
        await _store_chunk(sessionmaker, chunk, book, support_org_id, now, today, timezone, summary, cutoffs)
    if progress is not None:
        progress(total, total)
    return summary


@asynccontextmanager
async def _rolled_back(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    """Sessions inside one transaction that is rolled back at the end: their commits are savepoints,
    so each chunk sees the chunks before it (an organisation is made once), and nothing stays."""
    async with sessionmaker.kw["bind"].connect() as connection:
        await connection.begin()
        try:
            yield async_sessionmaker(connection, expire_on_commit=False, join_transaction_mode="create_savepoint")
        finally:
            await connection.rollback()


async def store_records(
    sessionmaker: async_sessionmaker[AsyncSession],
    records: list[GrantRecord],
    *,
    now: datetime,
    support_org_id: int | None = None,
    schedule: Schedule | None = None,
    timezone: str = DEFAULT_TIMEZONE,
) -> ImportSummary:
    """Store grants that did not come from a file (entered by hand), exactly as an import would."""
    summary = ImportSummary(total=len(records))
    today = now.astimezone(ZoneInfo(timezone)).date()
    async with sessionmaker() as session:
        book = await load_schedules(session, support_org_id, schedule)
        cutoffs = await _programme_cutoffs(session, support_org_id, None)
    storable = [r for r in records if _take(ParsedRow(f"grant {r.external_id[:80]}", r), summary) is not None]
    if storable:
        await _store_chunk(sessionmaker, storable, book, support_org_id, now, today, timezone, summary, cutoffs)
    return summary


def _take(row: ParsedRow, summary: ImportSummary) -> GrantRecord | None:
    if row.warnings:
        summary.warnings.append((row.label, row.warnings))
    if row.record is None:
        summary.skipped.append((row.label, row.reasons))
        summary.lenient_would_import += int(row.fixable_by_lenient)
        return None
    too_big = _beyond_columns(row.record)
    if too_big:  # checked before a chunk is written: one bad cell must not stop the import half-way
        summary.skipped.append((row.label, too_big))
        return None
    return row.record


def _beyond_columns(record: GrantRecord) -> list[str]:
    """What the database could not store: an identifier longer than its column (cutting it would make
    two grants one), or an amount beyond its column's digits. Limits are read from the models."""
    reasons = []
    keys = [("Identifier", record.external_id, Grant.external_id), ("Funding Org:Identifier", record.funder_id,
            Grant.funder_id), ("Recipient Org:Identifier" if record.recipient_id else "Recipient Org:Name",
            _org_key(record), Organisation.external_id)]  # fmt: skip
    for label, value, where in keys:
        if len(value) > _length(where):
            reasons.append(f"{label} is {len(value):,} characters long: svbot keeps up to {_length(where)}")
    amounts = [("Amount Awarded", record.amount_awarded), ("Amount Applied For", record.amount_applied_for),
               ("Amount Disbursed", record.amount_disbursed), ("Budget", record.budget)]  # fmt: skip
    amounts += [(f"Agreed outcomes: {o.text[:40]}", o.target) for o in record.outcomes]
    largest = _largest(Grant.amount_awarded)
    for label, amount in amounts:
        if amount is not None and not abs(amount) <= largest:
            reasons.append(f"{label}: {amount} is more than svbot can store ({largest:,})")
    return reasons


def _length(column: Any) -> int:
    return column.property.columns[0].type.length


def _largest(column: Any) -> Decimal:
    """The largest number a Numeric(precision, scale) column holds: 999,999,999,999.99 for (14, 2)."""
    kind = column.property.columns[0].type
    return Decimal(10) ** (kind.precision - kind.scale) - Decimal(1).scaleb(-kind.scale)


def _fit(value: str, column: Any) -> str:
    """Free text (a title, a name) cut to its column: a long title is still the grant's title."""
    return value[: _length(column)]


async def _store_chunk(
    sessionmaker: async_sessionmaker[AsyncSession],
    records: list[GrantRecord],
    book: ScheduleBook,
    support_org_id: int | None,
    now: datetime,
    today: date,
    timezone: str,
    summary: ImportSummary,
    cutoffs: _Cutoffs,
) -> None:
    # New rows go in with executemany (Core), not the ORM one row at a time: a 4,000-grant
    # spreadsheet makes some 40,000 rows.
    async with sessionmaker() as session, session.begin():
        ids = [r.external_id for r in records]
        grants = {g.external_id: g for g in await session.scalars(select(Grant).where(Grant.external_id.in_(ids)))}
        orgs = await _organisations(session, records, support_org_id, summary)
        changed: list[tuple[GrantRecord, Schedule, date | None]] = []
        new_grants: list[dict] = []
        for record in records:
            period = _period(record)
            if period is not None and period.assumed_end:
                summary.assumed_end.append((record.external_id, period.end))
            schedule = book.lookup(record.programme)
            # A different cutoff re-applies the schedule; none keeps the hash of earlier versions.
            ignore_before = cutoffs.lookup(record.programme)
            cutoff = f"|from {ignore_before.isoformat()}" if ignore_before else ""
            digest = record.content_hash(f"{schedule!r}|{support_org_id}{cutoff}")
            grant = grants.get(record.external_id)
            if grant is not None and grant.content_hash == digest:
                summary.unchanged += 1
                continue
            values = _grant_values(record, orgs[_org_key(record)], support_org_id, digest, now)
            if grant is None:
                new_grants.append({"budget": None, **values, "external_id": record.external_id, "created_at": now})
                summary.imported += 1
            else:
                for name, value in values.items():
                    setattr(grant, name, value)
                summary.updated += 1
            changed.append((record, schedule, ignore_before))
        if new_grants:
            await session.execute(insert(Grant.__table__), new_grants)
        await session.flush()
        keys = await session.execute(
            select(Grant.external_id, Grant.id, Grant.organisation_id).where(
                Grant.external_id.in_([r.external_id for r, *_ in changed])
            )
        )
        grant_keys = {external_id: (grant_id, org_id) for external_id, grant_id, org_id in keys}
        agreed = {grant_keys[r.external_id][0]: r.outcomes for r, *_ in changed if r.outcomes}
        await store_agreed_outcomes(session, agreed, now)
        existing = await _deadlines_by_grant(session, [grant_id for grant_id, _ in grant_keys.values()])
        stored_ids = [d.id for found in existing.values() for d in found]
        snoozed = await _snoozed(session, stored_ids)
        reported = await _reported(session, stored_ids)
        rules = await RulesCache(session, timezone).get(support_org_id)
        sync = _Sync(session, today, now, rules, summary, snoozed, reported)
        new_deadlines: list[dict] = []
        for record, schedule, ignore_before in changed:
            grant_id, org_id = grant_keys[record.external_id]
            period = _period(record)
            planned = due_dates(schedule, period) if period else []
            stored_before = record.external_id in grants
            new_deadlines += await sync.grant(
                grant_id, org_id, planned, existing.get(grant_id, []), stored_before, ignore_before
            )
        if new_deadlines:
            await session.execute(insert(Deadline.__table__), new_deadlines)


def _grant_values(record: GrantRecord, org_id: int, support_org_id: int | None, digest: str, now: datetime) -> dict:
    return {
        "organisation_id": org_id,
        "support_org_id": support_org_id,
        "title": _fit(record.title, Grant.title),
        "description": record.description,
        "funder_id": record.funder_id,
        "funder_name": _fit(record.funder_name, Grant.funder_name),
        "programme": _fit(record.programme, Grant.programme),
        "currency": _fit(record.currency, Grant.currency),
        "amount_awarded": record.amount_awarded,
        "amount_applied_for": record.amount_applied_for,
        "amount_disbursed": record.amount_disbursed,
        **({"budget": record.budget} if record.budget is not None else {}),  # a file without one leaves it
        "award_date": record.award_date,
        "planned_start": record.planned_start,
        "planned_end": record.planned_end,
        "duration_months": record.duration_months,
        "content_hash": digest,
        "updated_at": now,
    }


@dataclass(frozen=True, slots=True)
class _Cutoffs:
    """From when reports are tracked: the import's own date, else the grant's programme's setting."""

    given: date | None
    by_programme: dict[str, date]

    def lookup(self, programme: str) -> date | None:
        return self.given or self.by_programme.get(programme.strip().lower())


async def _programme_cutoffs(session: AsyncSession, support_org_id: int | None, given: date | None) -> _Cutoffs:
    """The support organisation's programmes that set `ignore_before`, by code and by title."""
    if support_org_id is None or given is not None:
        return _Cutoffs(given, {})
    found: dict[str, date] = {}
    rows = await session.scalars(
        select(Programme).where(Programme.support_org_id == support_org_id, Programme.ignore_before.is_not(None))
    )
    for row in rows:
        for name in (row.title, row.code):
            if name and name.strip():
                found.setdefault(name.strip().lower(), row.ignore_before)
    return _Cutoffs(None, found)


def _period(record: GrantRecord) -> GrantPeriod | None:
    return grant_period(record.award_date, record.planned_start, record.planned_end, record.duration_months)


@dataclass
class _Sync:
    """Apply the schedule to each grant's deadlines, respecting what people did."""

    session: AsyncSession
    today: date
    now: datetime
    rules: ReminderRules
    summary: ImportSummary
    snoozed: set[int]
    reported: set[int]  # deadlines with a monitoring report, draft or submitted

    def touched(self, deadline: Deadline) -> bool:
        """Someone acted on it: submitted or waived it, extended it, snoozed it, or began its monitoring
        report (a draft is never undone). An import leaves it as it is."""
        return (
            deadline.status != UPCOMING
            or deadline.extended_from is not None
            or deadline.status_at is not None
            or deadline.id in self.snoozed
            or deadline.id in self.reported
        )

    async def grant(
        self,
        grant_id: int,
        org_id: int,
        planned: list[PlannedDeadline],
        existing: list[Deadline],
        stored_before: bool,
        ignore_before: date | None,
    ) -> list[dict]:
        """One grant; returns the rows to insert."""

        def untracked(due: date) -> bool:
            return ignore_before is not None and due < ignore_before

        summary = self.summary
        by_key = {d.key: d for d in existing}
        new_rows = []
        for item in planned:
            deadline = by_key.pop(item.key, None)
            if deadline is None:
                if untracked(item.due_date):
                    summary.deadlines_untracked += 1
                elif stored_before and ignore_before is None and item.due_date < self.today:
                    summary.deadlines_past_skipped += 1  # never make someone overdue by a re-import
                else:
                    new_rows.append(self._new_row(grant_id, org_id, item))
                continue
            stored = (deadline.due_date, deadline.period_start, deadline.period_end, deadline.title)
            differs = (*stored, deadline.organisation_id) != (
                item.due_date, item.period_start, item.period_end, item.title, org_id
            )  # fmt: skip
            if self.touched(deadline):
                summary.deadlines_kept += int(differs)
            elif untracked(item.due_date):
                await self._remove(deadline)
                summary.deadlines_untracked += 1
            elif differs:
                deadline.due_date = item.due_date
                deadline.period_start, deadline.period_end = item.period_start, item.period_end
                deadline.title = item.title
                deadline.organisation_id = org_id
                deadline.updated_at = self.now
                set_cursor(deadline, self.rules, self.now)
                summary.deadlines_updated += 1
        for deadline in by_key.values():  # the schedule has no such report now
            if self.touched(deadline):
                summary.deadlines_kept += 1
            else:
                await self._remove(deadline)
                summary.deadlines_removed += 1
        return new_rows

    def _new_row(self, grant_id: int, org_id: int, item: PlannedDeadline) -> dict:
        deadline = Deadline(status=UPCOMING, due_date=item.due_date)
        set_cursor(deadline, self.rules, self.now)
        self.summary.deadlines_created += 1
        return {
            "grant_id": grant_id,
            "organisation_id": org_id,
            "key": item.key,
            "title": item.title,
            "due_date": item.due_date,
            "period_start": item.period_start,
            "period_end": item.period_end,
            "status": UPCOMING,
            "next_reminder_at": deadline.next_reminder_at,
            "next_offset_index": deadline.next_offset_index,
            "created_at": self.now,
            "updated_at": self.now,
        }

    async def _remove(self, deadline: Deadline) -> None:
        session = self.session
        await session.execute(delete(Snooze).where(Snooze.deadline_id == deadline.id))
        await session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.ref == deadline_ref(deadline.id), OutboxMessage.status == PENDING)
            .values(status=CANCELLED, error="deadline removed by an import")
        )
        await session.delete(deadline)


async def _snoozed(session: AsyncSession, deadline_ids: list[int]) -> set[int]:
    found: set[int] = set()
    for start in range(0, len(deadline_ids), CHUNK):
        part = deadline_ids[start : start + CHUNK]
        found.update(await session.scalars(select(Snooze.deadline_id).where(Snooze.deadline_id.in_(part))))
    return found


async def _reported(session: AsyncSession, deadline_ids: list[int]) -> set[int]:
    found: set[int] = set()
    for start in range(0, len(deadline_ids), CHUNK):
        part = deadline_ids[start : start + CHUNK]
        found.update(await session.scalars(select(_REPORTS.c.deadline_id).where(_REPORTS.c.deadline_id.in_(part))))
    return found


async def _deadlines_by_grant(session: AsyncSession, grant_ids: list[int]) -> dict[int, list[Deadline]]:
    found: dict[int, list[Deadline]] = {}
    for start in range(0, len(grant_ids), CHUNK):
        part = grant_ids[start : start + CHUNK]
        for deadline in await session.scalars(select(Deadline).where(Deadline.grant_id.in_(part))):
            found.setdefault(deadline.grant_id, []).append(deadline)
    return found


def _org_key(record: GrantRecord) -> str:
    """Organisation.external_id for a recipient: its org-id, or its name when the file has no usable id."""
    return record.recipient_id or f"name:{normalise_name(record.recipient_name)}"


async def _organisations(
    session: AsyncSession, records: list[GrantRecord], support_org_id: int | None, summary: ImportSummary
) -> dict[str, int]:
    names = {_org_key(r): r.recipient_name or r.recipient_id for r in records}
    found: dict[str, int] = {}
    rows = await session.execute(
        select(Organisation.external_id, Organisation.id)
        .where(Organisation.external_id.in_(list(names)))
        .order_by(Organisation.id.desc())  # if two share an id, the oldest wins (last written)
    )
    for external_id, org_id in rows:
        found[external_id] = org_id
    missing = [key for key in names if key not in found]
    if missing:
        await session.execute(
            insert(Organisation),
            [
                {
                    "name": _fit(names[key], Organisation.name),
                    "kind": "member",
                    "support_org_id": support_org_id,
                    "external_id": key,
                }
                for key in missing
            ],
        )
        rows = await session.execute(
            select(Organisation.external_id, Organisation.id)
            .where(Organisation.external_id.in_(missing))
            .order_by(Organisation.id.desc())
        )
        for external_id, org_id in rows:
            found[external_id] = org_id
        summary.organisations_created += len(missing)
        summary.new_organisations += [(found[key], _fit(names[key], Organisation.name)) for key in missing]
    return found
