"""Store grants from a 360Giving file, with their organisations and monitoring deadlines.

Upsert by grant identifier, in chunks (one transaction each, so a large file shows progress and a
failure keeps what was done). A grant whose stored hash matches is left alone, which makes a
re-import a no-op. A changed grant updates its future, still-open deadlines; submitted, waived or
past deadlines are never touched.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from svbot.deadlines.giving360 import GrantRecord, ParsedRow, normalise_name, read_grants
from svbot.deadlines.models import UPCOMING, Deadline, Grant, Snooze
from svbot.deadlines.schedules import PlannedDeadline, Schedule, due_dates, grant_period
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

Progress = Callable[[int, int], None]  # (grants done, grants in the file)
CHUNK = 500


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
    deadlines_created: int = 0
    deadlines_updated: int = 0
    deadlines_removed: int = 0

    def headline(self) -> str:
        return (
            f"{self.imported} imported, {self.updated} updated, {self.unchanged} unchanged, "
            f"{len(self.skipped)} skipped"
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
) -> ImportSummary:
    """Import one file. `schedule` overrides the support organisation's default schedule.

    Raises `giving360.FileProblem` when the file cannot be read at all, `UnknownSupportOrg` when
    `support_org_id` names no organisation. Bad rows never raise: they are in `summary.skipped`.
    """
    total, rows = read_grants(Path(path), lenient=lenient)
    summary = ImportSummary(total=total)
    today = now.astimezone(ZoneInfo(timezone)).date()
    async with sessionmaker() as session:
        if support_org_id is not None and await session.get(Organisation, support_org_id) is None:
            raise UnknownSupportOrg(f"there is no organisation with id {support_org_id}")
        book = await load_schedules(session, support_org_id, schedule)
    done = 0
    chunk: list[GrantRecord] = []
    for row in rows:
        done += 1
        record = _take(row, summary)
        if record is not None:
            chunk.append(record)
        if len(chunk) >= CHUNK:
            await _store_chunk(sessionmaker, chunk, book, support_org_id, now, today, timezone, summary)
            chunk = []
        if progress is not None and (done % 100 == 0 or done == total):
            progress(done, total)
    if chunk:
        await _store_chunk(sessionmaker, chunk, book, support_org_id, now, today, timezone, summary)
    if progress is not None:
        progress(total, total)
    return summary


def _take(row: ParsedRow, summary: ImportSummary) -> GrantRecord | None:
    if row.warnings:
        summary.warnings.append((row.label, row.warnings))
    if row.record is None:
        summary.skipped.append((row.label, row.reasons))
        summary.lenient_would_import += int(row.fixable_by_lenient)
    return row.record


async def _store_chunk(
    sessionmaker: async_sessionmaker[AsyncSession],
    records: list[GrantRecord],
    book: ScheduleBook,
    support_org_id: int | None,
    now: datetime,
    today: date,
    timezone: str,
    summary: ImportSummary,
) -> None:
    async with sessionmaker() as session, session.begin():
        ids = [r.external_id for r in records]
        grants = {
            g.external_id: g for g in await session.scalars(select(Grant).where(Grant.external_id.in_(ids)))
        }
        orgs = await _organisations(session, records, support_org_id, summary)
        rules = RulesCache(session, timezone)
        changed: list[tuple[Grant, GrantRecord, Schedule]] = []
        for record in records:
            schedule = book.lookup(record.programme)
            digest = record.content_hash(f"{schedule!r}|{support_org_id}")
            grant = grants.get(record.external_id)
            if grant is not None and grant.content_hash == digest:
                summary.unchanged += 1
                continue
            if grant is None:
                grant = Grant(external_id=record.external_id, created_at=now)
                session.add(grant)
                summary.imported += 1
            else:
                summary.updated += 1
            _fill(grant, record, orgs[_org_key(record)], support_org_id, digest, now)
            changed.append((grant, record, schedule))
        await session.flush()  # new grants get their ids
        existing = await _deadlines_by_grant(session, [g.id for g, _, _ in changed])
        for grant, record, schedule in changed:
            period = grant_period(
                record.award_date, record.planned_start, record.planned_end, record.duration_months
            )
            planned = due_dates(schedule, period) if period else []
            await _sync_deadlines(
                session,
                grant,
                planned,
                existing.get(grant.id, []),
                today,
                now,
                await rules.get(support_org_id),
                summary,
            )


def _fill(
    grant: Grant, record: GrantRecord, org_id: int, support_org_id: int | None, digest: str, now: datetime
) -> None:
    grant.organisation_id = org_id
    grant.support_org_id = support_org_id
    grant.title = record.title[:500]
    grant.description = record.description
    grant.funder_id = record.funder_id[:200]
    grant.funder_name = record.funder_name[:300]
    grant.programme = record.programme[:300]
    grant.currency = record.currency[:3]
    grant.amount_awarded = record.amount_awarded
    grant.award_date = record.award_date
    grant.planned_start = record.planned_start
    grant.planned_end = record.planned_end
    grant.duration_months = record.duration_months
    grant.content_hash = digest
    grant.updated_at = now


async def _sync_deadlines(
    session: AsyncSession,
    grant: Grant,
    planned: list[PlannedDeadline],
    existing: list[Deadline],
    today: date,
    now: datetime,
    rules,  # type: ignore[no-untyped-def]
    summary: ImportSummary,
) -> None:
    by_key = {d.key: d for d in existing}
    for item in planned:
        deadline = by_key.pop(item.key, None)
        if deadline is None:
            deadline = Deadline(
                grant_id=grant.id,
                organisation_id=grant.organisation_id,
                key=item.key,
                title=item.title,
                due_date=item.due_date,
                status=UPCOMING,
                created_at=now,
                updated_at=now,
                next_offset_index=0,
            )
            set_cursor(deadline, rules, now)
            session.add(deadline)
            summary.deadlines_created += 1
        elif _is_open_future(deadline, today) and (
            (deadline.due_date, deadline.title, deadline.organisation_id)
            != (item.due_date, item.title, grant.organisation_id)
        ):
            deadline.due_date = item.due_date
            deadline.title = item.title
            deadline.organisation_id = grant.organisation_id
            deadline.updated_at = now
            set_cursor(deadline, rules, now)
            summary.deadlines_updated += 1
    for deadline in by_key.values():  # the new schedule has no such report
        if _is_open_future(deadline, today):
            await session.execute(delete(Snooze).where(Snooze.deadline_id == deadline.id))
            await session.execute(
                update(OutboxMessage)
                .where(OutboxMessage.ref == deadline_ref(deadline.id), OutboxMessage.status == PENDING)
                .values(status=CANCELLED, error="deadline removed by an import")
            )
            await session.delete(deadline)
            summary.deadlines_removed += 1


def _is_open_future(deadline: Deadline, today: date) -> bool:
    return deadline.status == UPCOMING and deadline.due_date >= today


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
    created = {
        key: Organisation(
            name=name[:300], kind="member", support_org_id=support_org_id, external_id=key[:200]
        )
        for key, name in names.items()
        if key not in found
    }
    session.add_all(created.values())
    await session.flush()
    found.update((key, org.id) for key, org in created.items())
    summary.organisations_created += len(created)
    return found
