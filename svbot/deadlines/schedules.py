"""Pure date rules: which reports a grant owes and when, and when to remind people about them.

Nothing here reads the clock or the database: callers pass `today` / `now`, so the rules are easy to
test, including across the clock changes on the last Sundays of March and October.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from svbot.dates import add_months

# Enough for quarterly reports over ten years; a placeholder end date must not create hundreds.
MAX_DEADLINES_PER_GRANT = 40
DEFAULT_GRANT_MONTHS = 12

_PERIOD_MONTHS = {"quarterly": 3, "six_monthly": 6, "annual": 12}
_PERIOD_NAMES = {"quarterly": "Quarterly", "six_monthly": "Six-monthly", "annual": "Annual"}


@dataclass(frozen=True, slots=True)
class Schedule:
    """How often grantees report. See `svbot.deadlines.models.MonitoringSchedule`."""

    frequency: str = "quarterly"  # one_off | quarterly | six_monthly | annual | end_of_grant | dates
    days_after: int = 30  # a report is due this many days after the period it covers ends
    months_after_start: int = 3  # one_off: the single report is due this long after the start
    dates: tuple[date, ...] = ()  # frequency "dates"


DEFAULT_SCHEDULE = Schedule()


@dataclass(frozen=True, slots=True)
class PlannedDeadline:
    key: str  # stable within a grant, so a re-import updates rather than duplicates
    title: str
    due_date: date
    # The reporting period the report covers (see `due_dates`).
    period_start: date | None = None
    period_end: date | None = None


@dataclass(frozen=True, slots=True)
class GrantPeriod:
    start: date
    end: date
    assumed_end: bool  # no end date or duration: we assumed DEFAULT_GRANT_MONTHS


def grant_period(
    award_date: date | None, start: date | None, end: date | None, duration_months: int | None
) -> GrantPeriod | None:
    """The dates a grant runs between. None when there is no date at all to go on."""
    begin = start or award_date
    if begin is None:
        return None
    if end is not None and end >= begin:
        return GrantPeriod(begin, end, False)
    if duration_months is not None and duration_months > 0:
        return GrantPeriod(begin, add_months(begin, duration_months) - timedelta(days=1), False)
    return GrantPeriod(begin, add_months(begin, DEFAULT_GRANT_MONTHS) - timedelta(days=1), True)


def due_dates(schedule: Schedule, period: GrantPeriod) -> list[PlannedDeadline]:
    """Every report the schedule asks for over the grant period, in date order, each with the period
    it covers: a quarterly (six-monthly, annual) report its quarter of the grant, the last one up to the
    grant's end; an end-of-grant report the whole grant; a one-off report, or one of a list of dates,
    from the grant's start (or the day after the previous report's period) to its due date, at most
    to the grant's end."""
    after = timedelta(days=schedule.days_after)
    if schedule.frequency == "one_off":
        due = add_months(period.start, schedule.months_after_start)
        return [PlannedDeadline("one_off", "Monitoring report", due, period.start, _up_to(due, period.start, period))]
    if schedule.frequency == "end_of_grant":
        return [PlannedDeadline("final", "End of grant report", period.end + after, period.start, period.end)]
    if schedule.frequency == "dates":
        dates = sorted(set(schedule.dates))[:MAX_DEADLINES_PER_GRANT]
        planned, begin = [], period.start
        for i, d in enumerate(dates, 1):
            end = _up_to(d, begin, period)
            planned.append(
                PlannedDeadline(f"date:{d.isoformat()}", _numbered("Monitoring report", i, len(dates)), d, begin, end)
            )
            begin = min(end + timedelta(days=1), max(period.end, begin))
        return planned
    if schedule.frequency in _PERIOD_MONTHS:
        return _periodic(schedule.frequency, period, after)
    raise ValueError(f"unknown reporting frequency {schedule.frequency!r}")


def _periodic(frequency: str, period: GrantPeriod, after: timedelta) -> list[PlannedDeadline]:
    months = _PERIOD_MONTHS[frequency]
    ends: list[date] = []
    k = 1
    while len(ends) < MAX_DEADLINES_PER_GRANT:
        period_end = add_months(period.start, k * months) - timedelta(days=1)
        if period_end >= period.end:
            ends.append(period.end)
            break
        ends.append(period_end)
        k += 1
    name = _PERIOD_NAMES[frequency]
    starts = [period.start] + [e + timedelta(days=1) for e in ends[:-1]]
    planned = [
        PlannedDeadline(
            f"{frequency}:{i}", _numbered(f"{name} monitoring report", i, len(ends)), e + after, starts[i - 1], e
        )
        for i, e in enumerate(ends[:-1], 1)
    ]
    planned.append(PlannedDeadline("final", "Final monitoring report", ends[-1] + after, starts[-1], ends[-1]))
    return planned


def _up_to(due: date, begin: date, period: GrantPeriod) -> date:
    """A period that ends when its report is due, within the grant, and never before it begins."""
    return max(begin, min(due, period.end))


def _numbered(title: str, i: int, n: int) -> str:
    return title if n == 1 else f"{title} ({i} of {n})"


# ---------------------------------------------------------------- reminder times


@dataclass(frozen=True, slots=True)
class ReminderRules:
    """When reminders go out. Offsets are days before the due date (negative: days overdue)."""

    offsets: tuple[int, ...] = (14, 3, 0, -7)
    send_time: time = time(9, 0)
    quiet_start: time = time(20, 0)
    quiet_end: time = time(8, 0)
    weekends: bool = False
    timezone: str = "Europe/London"
    _sorted: tuple[int, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # Largest offset first: the order the reminders happen in.
        object.__setattr__(self, "_sorted", tuple(sorted(set(self.offsets), reverse=True)))

    @property
    def ordered_offsets(self) -> tuple[int, ...]:
        return self._sorted

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


def reminder_times(due: date, rules: ReminderRules) -> list[datetime]:
    """UTC time of each reminder in `rules.ordered_offsets` order; never earlier than the one before."""
    times: list[datetime] = []
    for offset in rules.ordered_offsets:
        moment = reminder_time(due, offset, rules)
        if times and moment < times[-1]:
            moment = times[-1]  # a weekend shift must not put a later reminder before an earlier one
        times.append(moment)
    return times


def reminder_time(due: date, offset_days: int, rules: ReminderRules) -> datetime:
    """The UTC moment of one reminder: `send_time` local time on the right day, outside quiet hours."""
    day = due - timedelta(days=offset_days)
    if not rules.weekends and day.weekday() >= 5:
        # Before the deadline, remind on the Friday (the deadline may be Monday); after it, on Monday.
        if offset_days >= 0:
            day -= timedelta(days=day.weekday() - 4)
        else:
            day += timedelta(days=7 - day.weekday())
    local = datetime.combine(day, rules.send_time, tzinfo=rules.zone)
    return next_allowed(local.astimezone(UTC), rules)


def next_allowed(moment: datetime, rules: ReminderRules) -> datetime:
    """The first moment at or after `moment` (aware) outside quiet hours and, if so set, weekends."""
    zone = rules.zone
    local = moment.astimezone(zone)
    for _ in range(4):  # quiet hours, then a weekend, then quiet hours again at most
        moved = _out_of_quiet_hours(local, rules)
        if not rules.weekends and moved.weekday() >= 5:
            monday = moved.date() + timedelta(days=7 - moved.weekday())
            moved = datetime.combine(monday, rules.quiet_end, tzinfo=zone)
        if moved == local:
            break
        local = moved
    # Round-trip through UTC: a wall time that does not exist (clocks going forward) gets a real offset.
    return local.astimezone(UTC)


def in_quiet_hours(wall: time, rules: ReminderRules) -> bool:
    start, end = rules.quiet_start, rules.quiet_end
    if start == end:
        return False
    if start < end:
        return start <= wall < end
    return wall >= start or wall < end


def _out_of_quiet_hours(local: datetime, rules: ReminderRules) -> datetime:
    wall = local.time().replace(tzinfo=None)
    if not in_quiet_hours(wall, rules):
        return local
    day = local.date()
    if rules.quiet_start > rules.quiet_end and wall >= rules.quiet_start:
        day += timedelta(days=1)  # evening: quiet hours end tomorrow morning
    return datetime.combine(day, rules.quiet_end, tzinfo=local.tzinfo)


def first_offset_index(due: date, rules: ReminderRules, now: datetime, grace: timedelta) -> int:
    """Where a new deadline's reminders start: skip those older than `grace` (no burst for old data)."""
    for index, moment in enumerate(reminder_times(due, rules)):
        if moment > now - grace:
            return index
    return len(rules.ordered_offsets)


def parse_hhmm(text: str) -> time:
    hours, _, minutes = text.strip().partition(":")
    return time(int(hours), int(minutes or 0))


def describe_offset(offset: int) -> str:
    if offset == 0:
        return "on the day"
    days = abs(offset)
    unit = "day" if days == 1 else "days"
    return f"{days} {unit} before" if offset > 0 else f"{days} {unit} overdue"
