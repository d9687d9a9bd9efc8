"""Deadlines in conversation: "what's due?", and the Submitted / snooze / help buttons on reminders.

Typed words work as well as buttons: "submitted", "snooze 1 week". Deadline ids in buttons are
untrusted: the service functions check the person belongs to the deadline's organisation.
"""

from __future__ import annotations

import logging
import re
from datetime import date, datetime, time, timedelta

from sqlalchemy import select

from svbot.deadlines.models import Snooze
from svbot.deadlines.service import (
    DueItem,
    format_day,
    format_due_list,
    mark_submitted,
    open_items_for_person,
    read_press,
    snooze,
)
from svbot.delivery.models import OutboxMessage
from svbot.messages import Button
from svbot.text import text
from svbot.turns import Bot, Turn

log = logging.getLogger(__name__)
SNOOZE_DEFAULT = timedelta(days=3)
DUE_SHOWN = 6  # "what's due" lists this many, then says how many more ("due all" lists every one)
WHICH_SHOWN = 6  # "which report do you mean?" offers this many, oldest first
REMIND_AT = time(9, 0)  # a snoozed reminder comes back in the morning, not at the minute it was pressed
_NUMBER_WORDS = {"a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7}
_SNOOZE = re.compile(r"^(?:for\s+)?(\d+|a|an|one|two|three|four|five|six|seven)\s*(day|days|week|weeks)$")
NOT_FOUND = text("deadlines.not_found")


def install(bot: Bot) -> None:
    bot.payload_handlers["dl"] = _button

    @bot.intent("due", "due", "what's due", "whats due", "what is due", "deadlines", "my deadlines", "/due",
                "reports due", "what's next", "monitoring", menu=text("deadlines.due.menu"), private=True)  # fmt: skip
    async def due(turn: Turn) -> None:
        await _say_due(turn, shown=DUE_SHOWN)

    @bot.intent("due_all", "due all", "all due", "all reports", "all my reports", "all deadlines", private=True)
    async def due_all(turn: Turn) -> None:
        await _say_due(turn, shown=None)

    @bot.intent("submitted", "submitted", "i've submitted it", "ive submitted it", "sent it", "report sent",
                "report submitted", "i have submitted it", private=True)  # fmt: skip
    async def submitted(turn: Turn) -> None:
        item = await _the_deadline_meant(turn, "submitted")
        if item is not None:
            await _mark_submitted(turn, item.deadline_id)

    @bot.intent("snooze", "snooze", "remind me later", takes_args=True, private=True)
    async def snooze_typed(turn: Turn) -> None:
        delta = _snooze_length(turn.args)
        if delta is None:
            turn.say(text("deadlines.snooze.how_long"))
            return
        item = await _the_deadline_meant(turn, "snooze", delta)
        if item is not None:
            await _snooze(turn, item.deadline_id, delta)


async def _say_due(turn: Turn, shown: int | None) -> None:
    """Every open report, oldest overdue first; past `shown`, a count and how to see the rest."""
    items = await _open_items(turn)
    today = turn.now.date()
    if not items:
        turn.say(text("deadlines.due.none"))
        return
    listed = items if shown is None else items[:shown]
    said = text("deadlines.due.list", due_list=format_due_list(listed, today))
    if len(items) > len(listed):
        said += "\n" + text("deadlines.due.more", count=len(items) - len(listed))
    turn.say(said, buttons=_submitted_buttons(items, today))


async def _button(turn: Turn) -> None:
    press = read_press(turn.inbound.payload)
    if isinstance(press, str):
        _refused(turn, press, "malformed button")
        return
    action, deadline_id, more = press
    if action == "submitted":
        await _mark_submitted(turn, deadline_id)
    elif action == "snooze":
        days = int(more[0]) if more and more[0].isdigit() and 0 < int(more[0]) <= 60 else 3
        await _snooze(turn, deadline_id, timedelta(days=days))
    elif action == "help":
        await _help_write(turn, deadline_id)
    else:
        _refused(turn, deadline_id, f"unknown action {action[:20]!r}")


async def _mark_submitted(turn: Turn, deadline_id: int) -> None:
    item = await mark_submitted(turn.session, deadline_id, turn.identity.id, turn.now)
    if item is None:
        _refused(turn, deadline_id, "submitted")
        return
    turn.say(text("deadlines.submitted.done", report=item.title.lower(), grant=item.grant_title))


async def _snooze(turn: Turn, deadline_id: int, delta: timedelta) -> None:
    until = datetime.combine(turn.now.date() + delta, REMIND_AT, tzinfo=turn.now.tzinfo)
    item = await snooze(turn.session, deadline_id, turn.identity.id, until, str(turn.bot.tz))
    if item is None:
        log.warning("deadline %s: snooze refused for identity %s (not theirs, or not open)",
                    deadline_id, turn.identity.id)  # fmt: skip
        turn.say(text("deadlines.snooze.refused"))
        return
    # The day the reminder really comes back: a snooze ending at a weekend waits for the Monday.
    held = await turn.session.scalar(
        select(Snooze.until).where(Snooze.deadline_id == deadline_id, Snooze.identity_id == turn.identity.id)
    )
    back = held.astimezone(turn.bot.tz).date() if held is not None else until.date()
    turn.say(
        text(
            "deadlines.snooze.done",
            report=item.title.lower(),
            grant=item.grant_title,
            until=format_day(back),
            due=format_day(item.due_date),
        )
    )


async def _help_write(turn: Turn, deadline_id: int) -> None:
    """ "Help me write it": the monitoring report for this deadline (svbot/monitoring.py)."""
    from svbot.monitoring import start_report

    await start_report(turn, deadline_id)


def _refused(turn: Turn, deadline_id: int | str, action: str) -> None:
    """Not theirs, or no such report: say so kindly, and leave a trace for an admin (a guessed id in a
    button payload is how someone would try to reach another organisation's reports)."""
    log.warning(
        "deadline %s refused for identity %s (%s): not found or not their organisation",
        deadline_id, turn.identity.id, action,
    )  # fmt: skip
    turn.say(text("deadlines.not_found"))


async def _open_items(turn: Turn) -> list[DueItem]:
    return await open_items_for_person(turn.session, turn.identity.person_id, turn.now.date())


async def _the_deadline_meant(turn: Turn, action: str, delta: timedelta | None = None) -> DueItem | None:
    """Typed "submitted" or "snooze": the report of the last reminder they got, or their only open one;
    else ask which, with a button for each open report that does what they asked (a snooze never
    offers to mark a report submitted)."""
    items = await _open_items(turn)
    by_id = {i.deadline_id: i for i in items}
    refs = await turn.session.scalars(
        select(OutboxMessage.ref)
        .where(OutboxMessage.identity_id == turn.identity.id, OutboxMessage.kind == "reminder",
               OutboxMessage.status == "sent")
        .order_by(OutboxMessage.sent_at.desc(), OutboxMessage.id.desc())
        .limit(5)
    )  # fmt: skip
    for ref in refs:
        deadline_id = int(ref.split(":")[1]) if ref and ref.startswith("deadline:") else None
        if deadline_id in by_id:
            return by_id[deadline_id]
    if len(items) == 1:
        return items[0]
    if not items:
        turn.say(text("deadlines.submitted.nothing" if action == "submitted" else "deadlines.snooze.nothing"))
        return None
    choices = items[:WHICH_SHOWN]
    if action == "snooze":
        days = (delta or SNOOZE_DEFAULT).days
        buttons = tuple(
            Button(text("deadlines.snooze.button", report=_short(i.title), due=format_day(i.due_date)),
                   f"dl:snooze:{i.deadline_id}:{days}")
            for i in choices
        )  # fmt: skip
    else:
        buttons = tuple(_submitted_button(i) for i in choices)
    said = text("deadlines.submitted.which")
    if len(items) > len(choices):
        said += "\n" + text("deadlines.which_more", count=len(items) - len(choices))
    turn.say(said, buttons=buttons)
    return None


def _submitted_buttons(items: list[DueItem], today: date, limit: int = 3) -> tuple[Button, ...]:
    """Under "what's due": Submitted buttons for the reports due soon or overdue, oldest first."""
    soon = [i for i in items if i.display_status(today) in ("due", "overdue")][:limit]
    return tuple(_submitted_button(i) for i in soon)


def _submitted_button(item: DueItem) -> Button:
    return Button(
        text("deadlines.submitted.button", report=_short(item.title), due=format_day(item.due_date)),
        f"dl:submitted:{item.deadline_id}",
    )


def _short(text: str, limit: int = 40) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _snooze_length(args: str) -> timedelta | None:
    said = args.strip().lower()
    if not said:
        return SNOOZE_DEFAULT
    match = _SNOOZE.match(said)
    if not match:
        return None
    count = int(match.group(1)) if match.group(1).isdigit() else _NUMBER_WORDS[match.group(1)]
    days = count * (7 if match.group(2).startswith("week") else 1)
    return timedelta(days=days) if 0 < days <= 60 else None
