"""An iCalendar feed of an organisation's deadlines, for people's own calendars.

One all-day event per deadline, with an alarm at 09:00 three days before. UIDs are stable, so a
calendar that subscribes to the feed updates events rather than duplicating them.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from icalendar import Alarm, Calendar, Event

from svbot.clean import one_line
from svbot.deadlines.models import SUBMITTED, WAIVED
from svbot.deadlines.service import DueItem

# Relative to the start of an all-day event (midnight): 3 days before, at 09:00.
ALARM_BEFORE = timedelta(days=3) - timedelta(hours=9)


def deadlines_ics(
    items: Sequence[DueItem], calendar_name: str, now: datetime, domain: str = "svbot"
) -> bytes:
    calendar = Calendar()
    calendar.add("prodid", "-//svbot//monitoring deadlines//EN")
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("x-wr-calname", one_line(calendar_name))
    for item in items:
        if item.status == WAIVED:
            continue
        calendar.add_component(_event(item, now, domain))
    return calendar.to_ical()


def _event(item: DueItem, now: datetime, domain: str) -> Event:
    event = Event()
    event.add("uid", f"deadline-{item.deadline_id}@{domain}")
    event.add("dtstamp", now)
    event.add("dtstart", item.due_date)
    event.add("dtend", item.due_date + timedelta(days=1))
    done = " (submitted)" if item.status == SUBMITTED else ""
    # Titles come from imported files, stored before imports cleaned them, perhaps: one line each, or
    # the calendar line would break (icalendar refuses an unescaped newline in x-wr-calname).
    title, grant = one_line(item.title), one_line(item.grant_title)
    event.add("summary", f"{title} for {grant}{done}")
    event.add("description", f"Monitoring report due for the grant {grant}.")
    event.add("transp", "TRANSPARENT")  # a deadline, not a meeting: it does not make you busy
    if item.status != SUBMITTED:
        alarm = Alarm()
        alarm.add("action", "DISPLAY")
        alarm.add("description", f"{title} for {grant} is due in 3 days")
        alarm.add("trigger", -ALARM_BEFORE)
        event.add_component(alarm)
    return event
