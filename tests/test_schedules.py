"""Schedule rules: which reports a grant owes and when reminders go out (pure functions)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest

from svbot.deadlines.schedules import (
    MAX_DEADLINES_PER_GRANT,
    GrantPeriod,
    ReminderRules,
    Schedule,
    add_months,
    due_dates,
    first_offset_index,
    grant_period,
    next_allowed,
    reminder_time,
    reminder_times,
)

YEAR = GrantPeriod(date(2026, 4, 1), date(2027, 3, 31), False)


def test_quarterly_reports_one_month_after_each_quarter_with_a_final_one() -> None:
    planned = due_dates(Schedule("quarterly", days_after=30), YEAR)
    assert [(p.key, p.due_date) for p in planned] == [
        ("quarterly:1", date(2026, 7, 30)),
        ("quarterly:2", date(2026, 10, 30)),
        ("quarterly:3", date(2027, 1, 30)),
        ("final", date(2027, 4, 30)),
    ]
    assert planned[0].title == "Quarterly monitoring report (1 of 4)"
    assert planned[-1].title == "Final monitoring report"


def test_six_monthly_annual_and_a_short_last_period() -> None:
    period = GrantPeriod(date(2026, 1, 15), date(2027, 9, 30), False)  # 20.5 months
    six = due_dates(Schedule("six_monthly", days_after=0), period)
    assert [p.due_date for p in six] == [
        date(2026, 7, 14),
        date(2027, 1, 14),
        date(2027, 7, 14),
        date(2027, 9, 30),
    ]
    assert six[1].title == "Six-monthly monitoring report (2 of 4)"
    annual = due_dates(Schedule("annual", days_after=14), period)
    assert [p.due_date for p in annual] == [date(2027, 1, 28), date(2027, 10, 14)]
    assert [p.key for p in annual] == ["annual:1", "final"]


def test_one_off_end_of_grant_and_explicit_dates() -> None:
    one = due_dates(Schedule("one_off", months_after_start=3), YEAR)
    assert [(p.key, p.title, p.due_date) for p in one] == [("one_off", "Monitoring report", date(2026, 7, 1))]
    end = due_dates(Schedule("end_of_grant", days_after=60), YEAR)
    assert [(p.key, p.due_date) for p in end] == [("final", date(2027, 5, 30))]
    listed = due_dates(Schedule("dates", dates=(date(2027, 2, 1), date(2026, 9, 1), date(2027, 2, 1))), YEAR)
    assert [(p.key, p.title) for p in listed] == [
        ("date:2026-09-01", "Monitoring report (1 of 2)"),
        ("date:2027-02-01", "Monitoring report (2 of 2)"),
    ]


def test_unknown_frequency_is_refused() -> None:
    with pytest.raises(ValueError, match="fortnightly"):
        due_dates(Schedule("fortnightly"), YEAR)


def test_a_placeholder_end_date_cannot_create_hundreds_of_deadlines() -> None:
    period = GrantPeriod(date(2000, 1, 1), date(2200, 1, 1), False)
    assert len(due_dates(Schedule("quarterly"), period)) == MAX_DEADLINES_PER_GRANT


def test_grant_period_from_end_date_duration_or_assumed_year() -> None:
    assert grant_period(None, date(2026, 4, 1), date(2026, 9, 30), 12) == GrantPeriod(
        date(2026, 4, 1), date(2026, 9, 30), False
    )
    # End before start (real data has it): the duration wins.
    assert grant_period(None, date(2018, 9, 1), date(2018, 8, 31), 6).end == date(2019, 2, 28)
    assert grant_period(date(2026, 5, 10), None, None, None) == GrantPeriod(
        date(2026, 5, 10), date(2027, 5, 9), True
    )
    assert grant_period(None, None, None, 12) is None


def test_add_months_clamps_to_month_end() -> None:
    assert add_months(date(2026, 1, 31), 1) == date(2026, 2, 28)
    assert add_months(date(2028, 1, 31), 1) == date(2028, 2, 29)
    assert add_months(date(2026, 11, 30), 3) == date(2027, 2, 28)


# ---------------------------------------------------------------- reminder times and daylight saving

LONDON = ReminderRules(offsets=(14, 3, 0, -7), send_time=time(9, 0), weekends=True)


def test_reminders_stay_at_9am_london_across_the_march_clock_change() -> None:
    # Clocks go forward on Sunday 29 March 2026 (last Sunday of March).
    times = reminder_times(date(2026, 4, 2), LONDON)
    assert times[0] == datetime(2026, 3, 19, 9, 0, tzinfo=UTC)  # GMT: 09:00 local is 09:00 UTC
    assert times[1] == datetime(2026, 3, 30, 8, 0, tzinfo=UTC)  # BST: 09:00 local is 08:00 UTC
    assert times[2] == datetime(2026, 4, 2, 8, 0, tzinfo=UTC)
    assert times[3] == datetime(2026, 4, 9, 8, 0, tzinfo=UTC)


def test_reminders_stay_at_9am_london_across_the_october_clock_change() -> None:
    # Clocks go back on Sunday 25 October 2026 (last Sunday of October).
    times = reminder_times(date(2026, 10, 27), LONDON)
    assert times[0] == datetime(2026, 10, 13, 8, 0, tzinfo=UTC)  # still BST
    assert times[1] == datetime(2026, 10, 24, 8, 0, tzinfo=UTC)  # Saturday before the change: BST
    assert times[2] == datetime(2026, 10, 27, 9, 0, tzinfo=UTC)  # after the change: GMT


def test_a_send_time_in_the_missing_hour_still_lands_on_a_real_instant() -> None:
    rules = ReminderRules(
        offsets=(0,), send_time=time(1, 30), quiet_start=time(0, 0), quiet_end=time(0, 0), weekends=True
    )
    moment = reminder_time(date(2026, 3, 29), 0, rules)  # 01:30 does not exist in London that day
    assert moment == datetime(2026, 3, 29, 1, 30, tzinfo=UTC)  # the clock reads 02:30 BST: after the gap


def test_weekends_off_moves_before_reminders_to_friday_and_overdue_ones_to_monday() -> None:
    rules = ReminderRules(offsets=(3, -7), weekends=False)
    due = date(2027, 2, 2)  # Tuesday: 3 days before is Saturday, 7 days after is Tuesday
    before, after = reminder_times(due, rules)
    assert before == datetime(2027, 1, 29, 9, 0, tzinfo=UTC)  # Friday
    sunday_due = date(2027, 1, 31)
    overdue = reminder_time(sunday_due, -7, rules)  # Sunday 7 Feb -> Monday 8 Feb
    assert overdue == datetime(2027, 2, 8, 9, 0, tzinfo=UTC)
    assert after == datetime(2027, 2, 9, 9, 0, tzinfo=UTC)


def test_quiet_hours_push_to_the_morning_in_local_time() -> None:
    rules = ReminderRules(quiet_start=time(20, 0), quiet_end=time(8, 0), weekends=True)
    late = datetime(2026, 7, 1, 21, 30, tzinfo=UTC)  # 22:30 BST
    assert next_allowed(late, rules) == datetime(2026, 7, 2, 7, 0, tzinfo=UTC)  # 08:00 BST
    early = datetime(2026, 12, 1, 6, 0, tzinfo=UTC)  # 06:00 GMT
    assert next_allowed(early, rules) == datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
    fine = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
    assert next_allowed(fine, rules) == fine
    no_weekends = ReminderRules(weekends=False)
    friday_night = datetime(2026, 12, 4, 22, 0, tzinfo=UTC)
    assert next_allowed(friday_night, no_weekends) == datetime(2026, 12, 7, 8, 0, tzinfo=UTC)  # Monday


def test_new_deadlines_skip_reminders_long_past() -> None:
    due = date(2026, 6, 30)
    now = datetime(2026, 6, 25, 12, 0, tzinfo=UTC)  # the 14-days reminder is 11 days old; 3-days is tomorrow
    assert first_offset_index(due, LONDON, now, timedelta(days=1)) == 1
    assert first_offset_index(due, LONDON, datetime(2030, 1, 1, tzinfo=UTC), timedelta(days=1)) == 4
