"""Tables for grants, their monitoring schedules, deadlines, reminder policies and snoozes.

Deadline status is stored as upcoming / submitted / waived; "due" and "overdue" are upcoming
deadlines seen from a given day (see `svbot.deadlines.service.display_status`).
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from svbot.delivery.models import UTCDateTime
from svbot.models import Base, utcnow

UPCOMING = "upcoming"
SUBMITTED = "submitted"
WAIVED = "waived"

FREQUENCIES = ("one_off", "quarterly", "six_monthly", "annual", "end_of_grant", "dates")


class Grant(Base):
    __tablename__ = "grants"

    id: Mapped[int] = mapped_column(primary_key=True)
    external_id: Mapped[str] = mapped_column(String(200), unique=True)  # the 360Giving identifier
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    support_org_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"), index=True)
    title: Mapped[str] = mapped_column(String(500), default="")
    description: Mapped[str] = mapped_column(Text, default="")
    funder_id: Mapped[str] = mapped_column(String(200), default="")
    funder_name: Mapped[str] = mapped_column(String(300), default="")
    programme: Mapped[str] = mapped_column(String(300), default="")
    currency: Mapped[str] = mapped_column(String(3), default="GBP")
    amount_awarded: Mapped[Decimal | None] = mapped_column(Numeric(14, 2))
    award_date: Mapped[date | None] = mapped_column(Date)
    planned_start: Mapped[date | None] = mapped_column(Date)
    planned_end: Mapped[date | None] = mapped_column(Date)
    duration_months: Mapped[int | None] = mapped_column(Integer)
    # What the grant agreed to spend, in GBP (the grant agreement's budget; None: not known).
    budget: Mapped[Decimal | None] = mapped_column(Numeric(14, 2))
    # 360Giving's other amounts, kept as context (None: not in the file).
    amount_applied_for: Mapped[Decimal | None] = mapped_column(Numeric(14, 2))
    amount_disbursed: Mapped[Decimal | None] = mapped_column(Numeric(14, 2))
    # Hash of the normalised record: an unchanged row in a re-import is skipped without writes.
    content_hash: Mapped[str] = mapped_column(String(64), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class MonitoringSchedule(Base):
    """How often a programme's grantees report. programme "" is the support organisation's default."""

    __tablename__ = "monitoring_schedules"
    __table_args__ = (UniqueConstraint("support_org_id", "programme"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    support_org_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"))
    programme: Mapped[str] = mapped_column(String(300), default="")
    frequency: Mapped[str] = mapped_column(String(20), default="quarterly")
    # Days after the end of a reporting period that the report is due.
    days_after: Mapped[int] = mapped_column(Integer, default=30)
    # one_off only: months after the grant starts that the single report is due.
    months_after_start: Mapped[int] = mapped_column(Integer, default=3)
    dates: Mapped[list[str]] = mapped_column(JSON, default=list)  # frequency "dates": ISO dates
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Deadline(Base):
    __tablename__ = "deadlines"
    __table_args__ = (
        UniqueConstraint("grant_id", "key"),
        Index("ix_deadlines_org_due", "organisation_id", "due_date"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    grant_id: Mapped[int] = mapped_column(ForeignKey("grants.id"))
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    key: Mapped[str] = mapped_column(String(60))  # stable within a grant: "quarterly:2", "final", ...
    title: Mapped[str] = mapped_column(String(300))  # what is due: "Quarterly monitoring report (2 of 4)"
    due_date: Mapped[date] = mapped_column(Date)
    # The reporting period the report covers (both days included). None only for a deadline whose grant
    # has no dates at all.
    period_start: Mapped[date | None] = mapped_column(Date)
    period_end: Mapped[date | None] = mapped_column(Date)
    # The due date it had before the funder agreed a later one (`svbot deadlines extend`); a re-import
    # never moves an extended deadline back.
    extended_from: Mapped[date | None] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(20), default=UPCOMING)
    status_by_identity_id: Mapped[int | None] = mapped_column(ForeignKey("identities.id"))
    status_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # The planner's cursor: when the next reminder falls due, and which offset of the policy it is.
    # Only upcoming deadlines have one, so the planning query reads only what is due (indexed).
    next_reminder_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)
    next_offset_index: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class ReminderPolicy(Base):
    """When to remind. support_org_id NULL is the default for everyone."""

    __tablename__ = "reminder_policies"

    id: Mapped[int] = mapped_column(primary_key=True)
    support_org_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"), unique=True)
    # Days before the due date (negative: days overdue), e.g. [14, 3, 0, -7].
    offsets: Mapped[list[int]] = mapped_column(JSON, default=lambda: [14, 3, 0, -7])
    send_time: Mapped[str] = mapped_column(String(5), default="09:00")  # local time, HH:MM
    quiet_start: Mapped[str] = mapped_column(String(5), default="20:00")
    quiet_end: Mapped[str] = mapped_column(String(5), default="08:00")
    weekends: Mapped[bool] = mapped_column(Boolean, default=False)  # may we send on Sat/Sun?
    timezone: Mapped[str | None] = mapped_column(String(60))  # None: Settings.timezone
    extra: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class Snooze(Base):
    """One person asked to be reminded later: their reminders for this deadline wait until `until`."""

    __tablename__ = "deadline_snoozes"
    __table_args__ = (UniqueConstraint("deadline_id", "identity_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    deadline_id: Mapped[int] = mapped_column(ForeignKey("deadlines.id"), index=True)
    identity_id: Mapped[int] = mapped_column(ForeignKey("identities.id"))
    until: Mapped[datetime] = mapped_column(UTCDateTime())
    # Set while the follow-up reminder is still to be planned; cleared once it is in the outbox.
    remind_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


AGREED = "agreed"
PROPOSED = "proposed"


class Programme(Base):
    """A support organisation's settings for one grant programme (the 360Giving `Grant Programme`).

    `code` is matched, case-insensitively, against `Grant.programme` (which holds the programme's title
    from a 360Giving file, else its code), as is `title`.
    """

    __tablename__ = "programmes"
    __table_args__ = (UniqueConstraint("support_org_id", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    support_org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    code: Mapped[str] = mapped_column(String(300))
    title: Mapped[str] = mapped_column(String(500), default="")
    schedule: Mapped[str | None] = mapped_column(String(20))  # a FREQUENCIES value; None: the default
    monitoring_form: Mapped[str | None] = mapped_column(String(100))  # a dialogue id; None: the default form
    social_value_weighting: Mapped[Decimal | None] = mapped_column(Numeric(5, 2))  # a percentage, 0 to 100
    social_value_scored: Mapped[bool | None] = mapped_column(Boolean)  # scored in its decisions; None: not recorded
    ignore_before: Mapped[date | None] = mapped_column(Date)  # deadlines due before this are not tracked
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class GrantOutcome(Base):
    """One thing a grant agreed to deliver ("Train advisers", 4 advisers).

    status "agreed": from the grant agreement (entered by the support organisation or imported);
    "proposed": said by the grantee when none were set, for the support organisation to check.
    """

    __tablename__ = "grant_outcomes"

    id: Mapped[int] = mapped_column(primary_key=True)
    grant_id: Mapped[int] = mapped_column(ForeignKey("grants.id"), index=True)
    position: Mapped[int] = mapped_column(Integer, default=0)  # the order they were given in
    text: Mapped[str] = mapped_column(Text)
    target: Mapped[Decimal | None] = mapped_column(Numeric(14, 2))
    unit: Mapped[str] = mapped_column(String(100), default="")
    status: Mapped[str] = mapped_column(String(20), default=AGREED)
    proposed_by_person_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


__all__ = [
    "AGREED",
    "PROPOSED",
    "GrantOutcome",
    "Programme",
    "Deadline",
    "FREQUENCIES",
    "Grant",
    "MonitoringSchedule",
    "ReminderPolicy",
    "SUBMITTED",
    "Snooze",
    "UPCOMING",
    "WAIVED",
]
