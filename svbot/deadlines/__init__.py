"""Grants, monitoring schedules, 360Giving import, reminder planning and iCalendar export."""
