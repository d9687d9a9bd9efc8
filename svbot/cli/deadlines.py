"""Commands: `svbot grants ...`, `svbot deadlines ...`, `svbot reminders ...` and `svbot clock`."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import sys
from collections.abc import Callable, Iterator
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar
from zoneinfo import ZoneInfo

import click
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from svbot.clean import one_line
from svbot.cli.common import (
    DEADLINE_ID,
    MEMBER_ORG_ID,
    ORG_ID,
    SUPPORT_ORG_ID,
    FriendlyCommands,
    force_option,
    read_day,
    stop_on_signals,
    with_app,
    with_db,
    write_file,
)
from svbot.config import get_settings
from svbot.deadlines.models import FREQUENCIES, MonitoringSchedule
from svbot.deadlines.schedules import Schedule
from svbot.errors import UserError
from svbot.models import Organisation, utcnow

if TYPE_CHECKING:
    from svbot.app import App

T = TypeVar("T")
log = logging.getLogger(__name__)


# ---------------------------------------------------------------- grants


@click.group(cls=FriendlyCommands)
def grants() -> None:
    """Grants from 360Giving files, and how often their grantees report."""


@grants.command("import")
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--support-org", type=SUPPORT_ORG_ID, default=None, help="The support organisation the grants belong to.")
@click.option(
    "--schedule",
    type=click.Choice(FREQUENCIES[:-1]),
    default=None,
    help="Reporting frequency for programmes without their own schedule (default: quarterly).",
)
@click.option("--lenient", is_flag=True, help="Also import grants whose only problems are in fields svbot ignores.")
@click.option("--verbose", is_flag=True, help="List every warning, not just the count.")
@click.option(
    "--ignore-before",
    "ignore_before_text",
    default=None,
    metavar="DATE",
    help="Do not track reports due before this day (YYYY-MM-DD): history does not make members overdue.",
)
@click.option("--include-erased", is_flag=True,
              help="Also import grants of organisations erased at their request (left out otherwise).")  # fmt: skip
@click.option("--now", "now_text", default=None, hidden=True, help="Pretend it is this time (ISO), for tests.")
def grants_import(
    file: Path,
    support_org: int | None,
    schedule: str | None,
    lenient: bool,
    verbose: bool,
    ignore_before_text: str | None,
    include_erased: bool,
    now_text: str | None,
) -> None:
    """Import a 360Giving JSON package, or a CSV/XLSX file with 360Giving column titles."""
    from svbot.deadlines.giving360 import FileProblem
    from svbot.deadlines.importer import UnknownSupportOrg, import_grants

    settings = get_settings()
    now = parse_when(now_text, settings.timezone) if now_text else utcnow()
    chosen = Schedule(frequency=schedule) if schedule else None
    ignore_before = read_day(ignore_before_text, "--ignore-before") if ignore_before_text else None

    async def work(sessionmaker: async_sessionmaker[AsyncSession]) -> Any:
        with _progress_bar(file.name) as progress:
            return await import_grants(
                sessionmaker,
                file,
                now=now,
                support_org_id=support_org,
                lenient=lenient,
                schedule=chosen,
                timezone=settings.timezone,
                progress=progress,
                ignore_before=ignore_before,
                include_erased=include_erased,
            )

    try:
        summary = with_db(work, settings)
    except FileProblem as exc:
        raise UserError(str(exc)) from None
    except UnknownSupportOrg as exc:
        raise UserError(f"{exc}; check the id with `svbot deadlines list` or your admin") from None
    click.echo(f"{one_line(file.name)}: {summary.headline()}.")
    click.echo(
        f"Deadlines: {summary.deadlines_created} added, {summary.deadlines_updated} moved, "
        f"{summary.deadlines_removed} removed. New organisations: {summary.organisations_created}."
    )
    for line in _deadline_notes(summary, ignore_before):
        click.echo(f"  {line}")
    for label, reasons in summary.skipped:
        click.echo(f"  skipped {label}: {'; '.join(reasons)}")
    if summary.erased:
        click.echo(f"  {summary.erased} grants of organisations erased at their request were left out "
                   "(--include-erased imports them).")  # fmt: skip
    if summary.warnings:
        if verbose:
            for label, notes in summary.warnings:
                click.echo(f"  note {label}: {'; '.join(notes)}")
        else:
            click.echo(f"  {len(summary.warnings)} imported grants have notes; --verbose lists them.")
    if summary.lenient_would_import:
        click.echo(
            f"  {summary.lenient_would_import} skipped grants only have problems in fields svbot "
            "does not use: --lenient imports them."
        )
    if summary.total > summary.erased and summary.imported + summary.updated + summary.unchanged == 0:
        raise UserError(f"no grants imported from {file.name}: every grant has problems (listed above)")


@grants.command("add")
@click.option("--org", "org_id", type=MEMBER_ORG_ID, required=True, help="The grantee organisation's id.")
@click.option("--title", required=True, help="What the grant is for, as grantees know it.")
@click.option("--start", "start_text", required=True, help="Planned start, e.g. 01/04/2027.")
@click.option("--end", "end_text", default=None, help="Planned end (default: a year after the start).")
@click.option("--amount", type=float, default=None, help="Amount awarded, in pounds.")
@click.option("--funder", default="", help="Who gave it.")
@click.option("--programme", default="", help="The funding programme (its schedule applies, if set).")
@click.option("--id", "grant_id", default=None, help="Your reference for it (default: made from the title).")
@click.option("--schedule", type=click.Choice(FREQUENCIES[:-1]), default=None, help="How often they report.")
@click.option(
    "--outcome", "outcome_texts", multiple=True, metavar="TEXT[:TARGET[:UNIT]]",
    help="An outcome the grant agreed, e.g. 'Train advisers:4:advisers' (repeat for each).",
)  # fmt: skip
@click.option("--budget", "budget_text", default=None, help="The grant's agreed budget, in pounds.")
def grants_add(
    org_id: int, title: str, start_text: str, end_text: str | None, amount: float | None, funder: str,
    programme: str, grant_id: str | None, schedule: str | None, outcome_texts: tuple[str, ...],
    budget_text: str | None,
) -> None:  # fmt: skip
    """Enter a grant by hand; its monitoring deadlines follow as for an imported one. Safe to repeat.
    --outcome replaces the grant's agreed outcomes (outcomes a grantee proposed are kept)."""
    from decimal import Decimal

    from svbot.deadlines.giving360 import GrantRecord
    from svbot.deadlines.importer import store_records
    from svbot.deadlines.outcomes import OutcomeProblem, parse_amount, parse_outcome

    try:
        outcomes = tuple(parse_outcome(typed) for typed in outcome_texts)
    except OutcomeProblem as exc:
        raise UserError(f"--outcome: {exc}") from None
    try:
        budget = parse_amount(budget_text) if budget_text is not None else None
    except OutcomeProblem as exc:
        raise UserError(f"--budget: {exc}") from None

    settings = get_settings()
    now = utcnow()
    start = read_day(start_text, "--start", settings.timezone)
    end = read_day(end_text, "--end", settings.timezone) if end_text else None
    if end is not None and end < start:
        raise UserError("the end is before the start")

    async def work(sessionmaker: async_sessionmaker[AsyncSession]) -> Any:
        async with sessionmaker() as session, session.begin():
            organisation = await session.get(Organisation, org_id)
            if organisation is None or organisation.kind != "member":
                raise UserError(f"there is no member organisation with id {org_id}")
            if not organisation.external_id:  # how grants find their organisation, as in imports
                organisation.external_id = f"svbot-org-{organisation.id}"
            recipient_id, name, support_org_id = (
                organisation.external_id, organisation.name, organisation.support_org_id
            )  # fmt: skip
        slug = re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")[:80]  # a long title still makes an id
        reference = grant_id or f"svbot-{org_id}-{slug}-{start}"
        record = GrantRecord(
            external_id=reference, title=title, description="", funder_id="", funder_name=funder,
            programme=programme, currency="GBP", amount_awarded=Decimal(str(amount)) if amount is not None else None,
            award_date=start, planned_start=start, planned_end=end, duration_months=None if end else 12,
            recipient_id=recipient_id, recipient_name=name, budget=budget, outcomes=outcomes,
        )  # fmt: skip
        chosen = Schedule(frequency=schedule) if schedule else None
        return reference, await store_records(
            sessionmaker, [record], now=now, support_org_id=support_org_id, schedule=chosen,
            timezone=settings.timezone,
        )  # fmt: skip

    reference, summary = with_db(work, settings)
    for _, reasons in summary.skipped:
        raise UserError(f"the grant was not added: {'; '.join(reasons)}")
    click.echo(f"Grant {reference}: {summary.headline()}. Deadlines: {summary.deadlines_created} added, "
               f"{summary.deadlines_updated} moved.")  # fmt: skip
    for line in _deadline_notes(summary, None):
        click.echo(f"  {line}")


@grants.command("schedule")
@click.argument("frequency", type=click.Choice(FREQUENCIES))
@click.option("--support-org", type=SUPPORT_ORG_ID, default=None, help="Support organisation (default: everyone).")
@click.option("--programme", default="", help="Grant programme title (default: all programmes).")
@click.option("--days-after", type=int, default=30, show_default=True, help="Report due this long after a period.")
@click.option("--months-after-start", type=int, default=3, show_default=True, help="one_off: when the report is due.")
@click.option("--dates", default="", help="For 'dates': comma-separated YYYY-MM-DD.")
def grants_schedule(
    frequency: str,
    support_org: int | None,
    programme: str,
    days_after: int,
    months_after_start: int,
    dates: str,
) -> None:
    """Set how often a programme's grantees report. Re-import the file to apply it to existing grants."""
    try:
        listed = [date.fromisoformat(d.strip()).isoformat() for d in dates.split(",") if d.strip()]
    except ValueError:
        raise UserError("--dates takes dates like 2027-01-31,2027-07-31") from None
    if frequency == "dates" and not listed:
        raise UserError("a 'dates' schedule needs --dates, e.g. --dates 2027-01-31,2027-07-31")

    async def work(sessionmaker: async_sessionmaker[AsyncSession]) -> None:
        async with sessionmaker() as session, session.begin():
            if support_org is not None and await session.get(Organisation, support_org) is None:
                raise UserError(f"there is no organisation with id {support_org}")
            row = await session.scalar(
                select(MonitoringSchedule).where(
                    MonitoringSchedule.support_org_id.is_(None)
                    if support_org is None
                    else MonitoringSchedule.support_org_id == support_org,
                    MonitoringSchedule.programme == programme.strip(),
                )
            )
            if row is None:
                row = MonitoringSchedule(support_org_id=support_org, programme=programme.strip())
                session.add(row)
            row.frequency, row.days_after, row.months_after_start = frequency, days_after, months_after_start
            row.dates = listed

    with_db(work)
    click.echo(f"Reports for {programme or 'every programme'}: {frequency.replace('_', ' ')}.")


@grants.command("outcomes")
@click.argument("grant_ref", metavar="GRANT_ID")
def grants_outcomes(grant_ref: str) -> None:
    """What a grant agreed (its reference, as `grants add` printed it, or its number): outcomes, targets,
    budget; and outcomes its grantee proposed."""
    from svbot.deadlines.models import PROPOSED
    from svbot.deadlines.outcomes import OutcomeSpec, agreed_outcomes, find_grant, format_number
    from svbot.models import Person

    async def work(sessionmaker: async_sessionmaker[AsyncSession]) -> list[str]:
        async with sessionmaker() as session:
            grant = await find_grant(session, grant_ref)
            if grant is None:
                raise UserError(f"there is no grant {grant_ref!r}: give its reference (Identifier) or number")
            lines = [f"{grant.title or grant.external_id} (grant {grant.id}, {grant.external_id})"]
            money = [
                f"{label} £{format_number(value)}"
                for label, value in (("awarded", grant.amount_awarded), ("budget", grant.budget),
                                     ("applied for", grant.amount_applied_for), ("paid", grant.amount_disbursed))
                if value is not None
            ]  # fmt: skip
            if money:
                lines.append("  " + ", ".join(money))
            rows = await agreed_outcomes(session, grant.id)
            if not rows:
                lines.append("  No outcomes yet: `svbot grants add ... --outcome TEXT:TARGET:UNIT` sets them.")
            for number, row in enumerate(rows, 1):
                said = OutcomeSpec(row.text, row.target, row.unit).describe()
                if row.status == PROPOSED:
                    person = await session.get(Person, row.proposed_by_person_id) if row.proposed_by_person_id else None
                    who = f" by {person.display_name or f'person {person.id}'}" if person else ""
                    said += f"  [proposed{who}, not yet agreed]"
                lines.append(f"  {number}. {said}")
            return lines

    for line in with_db(work):
        click.echo(line)


# ---------------------------------------------------------------- deadlines


@click.group(cls=FriendlyCommands)
def deadlines() -> None:
    """Monitoring-report deadlines."""


@deadlines.command("list")
@click.option("--org", type=ORG_ID, default=None, help="Only this organisation.")
@click.option("--all", "show_all", is_flag=True, help="Include submitted and waived deadlines.")
@click.option("--today", "today_text", default=None, help="Pretend today is this date (YYYY-MM-DD).")
@click.option(
    "--status",
    "show_report",
    is_flag=True,
    help="Add a column: is the report submitted, a draft in svbot, or not started?",
)
def deadlines_list(org: int | None, show_all: bool, today_text: str | None, show_report: bool) -> None:
    """Every open deadline, oldest first (overdue ones lead), with each organisation's name. A grant
    with no end date is marked: svbot assumed it lasts 12 months. With --status, whether each report
    is submitted, drafted in svbot (a draft someone started) or not started."""
    from svbot.deadlines.schedules import DEFAULT_GRANT_MONTHS
    from svbot.deadlines.service import UPCOMING, deadlines_for_admin, format_day

    settings = get_settings()
    today = read_day(today_text, "--today") if today_text else utcnow().astimezone(ZoneInfo(settings.timezone)).date()

    async def work(sessionmaker: async_sessionmaker[AsyncSession]) -> tuple[list[Any], dict[int, str]]:
        async with sessionmaker() as session:
            listed = await deadlines_for_admin(session, org)
            return listed, (await _report_statuses(session, org) if show_report else {})

    rows, report_statuses = with_db(work, settings)
    if not show_all:
        rows = [r for r in rows if r.item.status == UPCOMING]
    if not rows:
        click.echo("Nothing is due." if not show_all else "No deadlines yet: import grants with `svbot grants import`.")
        return
    for row in rows:
        item = row.item
        name = one_line(row.organisation_name)  # stored before imports cleaned names: keep the columns
        name = name if len(name) <= 28 else name[:27] + "…"
        assumed = f"  [end assumed: {format_day(row.assumed_end)}]" if row.assumed_end else ""
        if row.extended_from:
            assumed += f"  [extended from {format_day(row.extended_from)}]"
        report = f"{_report_word(item.status, report_statuses.get(item.deadline_id)):<12}" if show_report else ""
        click.echo(
            f"{item.deadline_id:>7}  {name:<28} {format_day(item.due_date):<16} "
            f"{item.display_status(today):<9} {report}{one_line(item.title)} for {one_line(item.grant_title)}{assumed}"
        )
    assumed_grants = {r.item.grant_id for r in rows if r.assumed_end}
    if assumed_grants:
        click.echo(
            f"[end assumed]: {len(assumed_grants)} grant{'s have' if len(assumed_grants) != 1 else ' has'} "
            "no end date or duration, so svbot assumed "
            f"{DEFAULT_GRANT_MONTHS} months from the start. Add the end date to the file and import it again."
        )


async def _report_statuses(session: AsyncSession, org: int | None) -> dict[int, str]:
    """Each deadline's monitoring report status (draft / submitted), for the deadlines that have one."""
    from svbot.monitoring import MonitoringReport

    query = select(MonitoringReport.deadline_id, MonitoringReport.status)
    if org is not None:
        query = query.where(MonitoringReport.organisation_id == org)
    return {deadline_id: status for deadline_id, status in (await session.execute(query)).all()}


def _report_word(deadline_status: str, report_status: str | None) -> str:
    """submitted (the deadline or its report says so), waived, draft (a report was started) or not started."""
    from svbot.deadlines.models import SUBMITTED, WAIVED

    if deadline_status == SUBMITTED or report_status == SUBMITTED:
        return "submitted"
    if deadline_status == WAIVED:
        return "waived"
    return "draft" if report_status is not None else "not started"


@deadlines.command("extend")
@click.argument("deadline_id", type=DEADLINE_ID)
@click.option("--to", "to_text", required=True, help="The new due date the funder agreed (YYYY-MM-DD).")
def deadlines_extend(deadline_id: int, to_text: str) -> None:
    """Give a report the later date its funder agreed. Its reminders are planned again from the new
    date, `deadlines list` shows the date it had, and a re-import leaves it as it is."""
    from svbot.deadlines.service import extend, format_day

    settings = get_settings()
    due = read_day(to_text, "--to", settings.timezone)

    async def work(sessionmaker: async_sessionmaker[AsyncSession]) -> tuple[str, str] | None:
        async with sessionmaker() as session, session.begin():
            deadline = await extend(session, deadline_id, due, utcnow(), settings.timezone)
            if deadline is None:
                return None
            return deadline.title, format_day(deadline.extended_from or deadline.due_date)

    done = with_db(work, settings)
    if done is None:
        raise UserError(f"there is no open deadline with id {deadline_id}. `svbot deadlines list` shows the open ones.")
    title, first = done
    click.echo(f"{title} (deadline {deadline_id}) is now due {format_day(due)} (first due {first}).")


@deadlines.command("waive")
@click.argument("deadline_id", type=DEADLINE_ID)
def deadlines_waive(deadline_id: int) -> None:
    """The funder no longer needs this report: stop its reminders and take it off `due`."""
    from svbot.deadlines.models import Deadline
    from svbot.deadlines.service import UPCOMING, waive_by_operator

    async def work(sessionmaker: async_sessionmaker[AsyncSession]) -> tuple[Any, bool] | None:
        async with sessionmaker() as session, session.begin():
            deadline = await session.get(Deadline, deadline_id)
            if deadline is None:
                return None
            was_open = deadline.status == UPCOMING
            return await waive_by_operator(session, deadline_id, utcnow()), was_open

    done = with_db(work)
    if done is None:
        raise UserError(f"there is no deadline with id {deadline_id}. `svbot deadlines list` shows the open ones.")
    item, was_open = done
    if not was_open:
        raise UserError(f"{item.title} (deadline {deadline_id}) is already {item.status}: left as it is.")
    click.echo(f"{item.title} for {item.grant_title} is waived: no more reminders for it.")


@deadlines.command("ics")
@click.option("--org", type=ORG_ID, required=True, help="The organisation whose deadlines to export.")
@click.option("--out", type=click.Path(path_type=Path), default=None, help="Write to this file (default: stdout).")
@force_option
def deadlines_ics(org: int, out: Path | None, force: bool) -> None:
    """An iCalendar (.ics) feed of the organisation's deadlines, with alarms."""
    from svbot.deadlines.ics import deadlines_ics as make_ics
    from svbot.deadlines.service import deadlines_for_org

    async def work(sessionmaker: async_sessionmaker[AsyncSession]) -> bytes:
        async with sessionmaker() as session:
            organisation = await session.get(Organisation, org)
            if organisation is None:
                raise UserError(f"there is no organisation with id {org}")
            items = await deadlines_for_org(session, org)
            return make_ics(items, f"{organisation.name}: monitoring deadlines", utcnow())

    data = with_db(work)
    if out is None:
        sys.stdout.buffer.write(data)
        return
    write_file(out, data, force=force)
    click.echo(f"Wrote {one_line(out)}.", err=True)


# ---------------------------------------------------------------- reminders and the clock


@click.group(cls=FriendlyCommands)
def reminders() -> None:
    """Reminders of monitoring deadlines."""


@reminders.command("run")
@click.option("--now", "now_text", default=None, help="Act as if it were this time (ISO; default: now).")
def reminders_run(now_text: str | None) -> None:
    """One planning and sending pass (for cron and tests)."""
    settings = get_settings()
    now = parse_when(now_text, settings.timezone) if now_text else utcnow()

    async def work(app: App) -> tuple[Any, Any, bool]:
        from svbot.app import close_senders
        from svbot.deadlines.planner import plan_reminders
        from svbot.delivery.dispatcher import Dispatcher

        sessionmaker = app.bot.sessionmaker
        planned = await plan_reminders(sessionmaker, now, settings.timezone)
        senders = app.senders()
        try:
            sent = await Dispatcher(sessionmaker, senders, app.limiter()).drain(now)
        finally:
            await close_senders(senders)
        return planned, sent, bool(senders)

    planned, sent, can_send = with_app(work, settings)
    click.echo(
        f"Planned {planned.queued} reminders ({planned.deadlines} deadlines, {planned.snoozes} snoozes). "
        f"Sent {sent.sent}, will retry {sent.retried}, failed {sent.failed}."
    )
    if not can_send:
        click.echo("No chat platform is set up, so nothing was sent: the reminders wait in the outbox.")


@reminders.command("failures")
@click.option("--support-org", type=SUPPORT_ORG_ID, default=None, help="Only members of this support organisation.")
def reminders_failures(support_org: int | None) -> None:
    """Reminders that could not be delivered (someone blocked the bot, a channel is gone)."""
    from svbot.deadlines.service import delivery_failures, waiting_messages

    now = utcnow()

    async def work(sessionmaker: async_sessionmaker[AsyncSession]) -> tuple[list[Any], dict[str, int]]:
        async with sessionmaker() as session:
            return await delivery_failures(session, support_org), await waiting_messages(session, now, support_org)

    failures, waiting = with_db(work)
    if not failures and not waiting:
        click.echo("Every reminder was delivered.")
    for failure in failures:
        click.echo(f"{failure.when:%Y-%m-%d %H:%M}  {failure.platform}:{failure.chat_id}  {failure.error}")
    for platform, count in sorted(waiting.items()):
        if platform == "console":
            click.echo(
                f"{count} not deliverable to people who use svbot in a terminal (console): "
                "they see them only when they next open `svbot chat`."
            )
        else:
            click.echo(f"{count} waiting to be sent on {platform}: is `svbot clock` running with {platform} set up?")


@click.command()
@click.option("--interval", type=float, default=60.0, show_default=True, help="Seconds between planning passes.")
def clock(interval: float) -> None:
    """Plan due reminders and send the outbox, until stopped (Ctrl-C or SIGTERM)."""
    settings = get_settings()

    async def work(app: App) -> None:
        from svbot.app import close_senders
        from svbot.db import checkpoint
        from svbot.deadlines.planner import plan_reminders
        from svbot.delivery.dispatcher import Dispatcher
        from svbot.privacy.erase import free_text_steps
        from svbot.privacy.retention import EVERY, apply_retention
        from svbot.support import clock_pass

        sessionmaker = app.bot.sessionmaker
        free_text = free_text_steps(app.bot.dialogues)
        retention_due = utcnow()
        # The same senders and limits as `svbot broadcasts send`. The clock sends one at a time: a
        # database that goes away mid-send then holds up one message, not a batch in flight (a large
        # broadcast goes faster with `svbot broadcasts send`, several at once).
        senders = app.senders()
        dispatcher = Dispatcher(sessionmaker, senders, app.limiter())
        stop = stop_on_signals()
        click.echo(f"svbot clock: planning every {interval:g}s. Stop with Ctrl-C.", err=True)
        try:
            while not stop.is_set():
                try:
                    planned = await plan_reminders(sessionmaker, utcnow(), settings.timezone)
                    sent = await dispatcher.drain()
                    # Support organisations: the weekly digest, and broadcast progress for the admin.
                    await clock_pass(sessionmaker, utcnow(), settings.timezone)
                    if utcnow() >= retention_due:  # old outbox rows, event keys, abandoned free text
                        await apply_retention(sessionmaker, utcnow(), settings, free_text)
                        retention_due = utcnow() + EVERY
                    await checkpoint(sessionmaker.kw["bind"])
                except (SQLAlchemyError, OSError) as exc:
                    # The database restarted or the network blinked: keep running and try again next
                    # tick. Rows claimed before the fault come round again when their claim expires.
                    log.warning("clock: database unavailable (%s); will retry", type(exc).__name__)
                else:
                    if planned.queued or sent.claimed:
                        click.echo(
                            f"queued {planned.queued}, sent {sent.sent}, retry {sent.retried}, failed {sent.failed}"
                        )
                    if planned.deadlines >= 2000:
                        continue  # more are due: plan again straight away
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=interval)
        finally:
            await close_senders(senders)
        click.echo("svbot clock: stopped.", err=True)

    with_app(work, settings)


# ---------------------------------------------------------------- helpers


def parse_when(text: str, timezone: str) -> datetime:
    """An ISO time; without an offset it is local time in the configured zone."""
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise UserError(f"{text!r} is not a time; write it like 2027-01-28T09:00 or 2027-01-28T09:00+00:00") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=ZoneInfo(timezone))
    return moment


def _deadline_notes(summary: Any, ignore_before: date | None) -> list[str]:
    """What the import did not do, and what it assumed: said to the admin, not left to be found."""
    from svbot.deadlines.schedules import DEFAULT_GRANT_MONTHS
    from svbot.deadlines.service import format_day

    notes = []
    if summary.deadlines_untracked:
        notes.append(f"{_reports(summary.deadlines_untracked)} due before {format_day(ignore_before)} not tracked "
                     "(--ignore-before).")  # fmt: skip
    if summary.deadlines_past_skipped:
        notes.append(f"{_reports(summary.deadlines_past_skipped)} already past not added to grants svbot already "
                     "had (say from when with --ignore-before DATE to track them).")  # fmt: skip
    if summary.deadlines_kept:
        notes.append(f"{_reports(summary.deadlines_kept)} kept as people left them (submitted, waived, given "
                     "another date or snoozed), though the schedule now differs.")  # fmt: skip
    if summary.assumed_end:
        count = len(summary.assumed_end)
        first, end = summary.assumed_end[0]
        notes.append(f"{count} grant{'s have' if count != 1 else ' has'} no end date or duration: svbot assumed "
                     f"{DEFAULT_GRANT_MONTHS} months from the start (`svbot deadlines list` marks them), e.g. "
                     f"{first} to {format_day(end)}.")  # fmt: skip
    return notes


def _reports(count: int) -> str:
    return f"{count} report{'' if count == 1 else 's'}"


@contextlib.contextmanager
def _progress_bar(name: str) -> Iterator[Callable[[int, int], None] | None]:
    """A rich progress bar on a terminal; nothing when output goes to a file or a pipe."""
    if not sys.stderr.isatty():
        yield None
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    with Progress(*columns, console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task(f"Importing {one_line(name)}", total=None)

        def update(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        yield update


COMMANDS = (grants, deadlines, reminders, clock)
