"""deadlines know their reporting period; programme settings; what a grant agreed (outcomes, budget)

- deadlines.period_start, period_end (dates, both included): the period the report covers. Existing
  rows are backfilled from their key, which says which schedule made them (svbot/deadlines/schedules.py,
  as of this revision), and their grant's dates:
  - "quarterly:N" / "six_monthly:N" / "annual:N": the Nth period of 3 / 6 / 12 months from the grant's
    start; "final" after such periods: from the end of the last one to the grant's end; a "final" with
    none before it (end of grant, or a grant shorter than one period): the whole grant;
  - "one_off", "date:YYYY-MM-DD" and any other key: from the day after the grant's previous deadline's
    period (or the grant's start) to its due date, at most the grant's end.
  A grant with no date at all (no deadline was ever made for one) leaves its deadlines' periods NULL.
- programmes: a support organisation's settings for a grant programme (schedule, monitoring form,
  social value weighting as a percentage, ignore-before date).
- grant_outcomes: what a grant agreed to deliver (text, optional target and unit), "agreed" or
  "proposed" by a grantee (who).
- grants.budget (GBP), grants.amount_applied_for, grants.amount_disbursed (360Giving's other amounts).

Revision ID: 0009_periods_programmes
Revises: 0008_social_value_facts
Create Date: 2026-12-16 10:00:00.000000
"""
from __future__ import annotations

import calendar
from datetime import date, timedelta
from typing import Any

import sqlalchemy as sa
from alembic import op

revision = '0009_periods_programmes'
down_revision = '0008_social_value_facts'
branch_labels = None
depends_on = None

BATCH = 500
DEFAULT_GRANT_MONTHS = 12
PERIOD_MONTHS = {'quarterly': 3, 'six_monthly': 6, 'annual': 12}

# The tables as this revision knows them (no ORM models: they change after this file is written).
grants = sa.table(
    'grants', sa.column('id', sa.Integer), sa.column('award_date', sa.Date), sa.column('planned_start', sa.Date),
    sa.column('planned_end', sa.Date), sa.column('duration_months', sa.Integer),
)
deadlines = sa.table(
    'deadlines', sa.column('id', sa.Integer), sa.column('grant_id', sa.Integer), sa.column('key', sa.String),
    sa.column('due_date', sa.Date), sa.column('period_start', sa.Date), sa.column('period_end', sa.Date),
)


def upgrade() -> None:
    with op.batch_alter_table('deadlines', schema=None) as batch_op:
        batch_op.add_column(sa.Column('period_start', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('period_end', sa.Date(), nullable=True))
    with op.batch_alter_table('grants', schema=None) as batch_op:
        batch_op.add_column(sa.Column('budget', sa.Numeric(precision=14, scale=2), nullable=True))
        batch_op.add_column(sa.Column('amount_applied_for', sa.Numeric(precision=14, scale=2), nullable=True))
        batch_op.add_column(sa.Column('amount_disbursed', sa.Numeric(precision=14, scale=2), nullable=True))
    op.create_table('programmes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('support_org_id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=300), nullable=False),
    sa.Column('title', sa.String(length=500), nullable=False),
    sa.Column('schedule', sa.String(length=20), nullable=True),
    sa.Column('monitoring_form', sa.String(length=100), nullable=True),
    sa.Column('social_value_weighting', sa.Numeric(precision=5, scale=2), nullable=True),
    sa.Column('ignore_before', sa.Date(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['support_org_id'], ['organisations.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('support_org_id', 'code')
    )
    op.create_table('grant_outcomes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('grant_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('target', sa.Numeric(precision=14, scale=2), nullable=True),
    sa.Column('unit', sa.String(length=100), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('proposed_by_person_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['grant_id'], ['grants.id'], ),
    sa.ForeignKeyConstraint(['proposed_by_person_id'], ['people.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('grant_outcomes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_grant_outcomes_grant_id'), ['grant_id'], unique=False)
    _backfill_periods(op.get_bind())


def downgrade() -> None:
    with op.batch_alter_table('grant_outcomes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_grant_outcomes_grant_id'))
    op.drop_table('grant_outcomes')
    op.drop_table('programmes')
    # ALTER TABLE ... DROP COLUMN (SQLite 3.35 and later, PostgreSQL): a batch copy of grants or deadlines
    # would drop a table other tables' foreign keys point at, which SQLite refuses.
    for table, column in (('grants', 'amount_disbursed'), ('grants', 'amount_applied_for'), ('grants', 'budget'),
                          ('deadlines', 'period_end'), ('deadlines', 'period_start')):
        op.execute(f'ALTER TABLE {table} DROP COLUMN {column}')


# ---- the periods, as svbot/deadlines/schedules.py works them out at this revision ---------------------


def add_months(day: date, months: int) -> date:
    """Same day of the month, `months` later; the 31st becomes the last day of a shorter month."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def grant_period(award: date | None, start: date | None, end: date | None,
                 months: int | None) -> tuple[date, date] | None:
    begin = start or award
    if begin is None:
        return None
    if end is not None and end >= begin:
        return begin, end
    if months is not None and months > 0:
        return begin, add_months(begin, months) - timedelta(days=1)
    return begin, add_months(begin, DEFAULT_GRANT_MONTHS) - timedelta(days=1)


def _numbered(key: str) -> tuple[str, int] | None:
    """("quarterly", 2) for "quarterly:2"; None for any other key."""
    frequency, _, number = key.partition(':')
    if frequency in PERIOD_MONTHS and number.isdigit() and int(number) > 0:
        return frequency, int(number)
    return None


def periods(grant: tuple[date, date], rows: list[Any]) -> dict[int, tuple[date, date]]:
    """deadline id -> (period start, period end) for one grant's deadlines (id, key, due_date)."""
    start, end = grant
    numbered = [n for n in (_numbered(r.key) for r in rows) if n]
    found: dict[int, tuple[date, date]] = {}
    for row in rows:
        n = _numbered(row.key)
        if n is not None:
            months = PERIOD_MONTHS[n[0]]
            first = add_months(start, (n[1] - 1) * months)
            found[row.id] = (first, max(first, min(add_months(start, n[1] * months) - timedelta(days=1), end)))
        elif row.key == 'final':
            if numbered:
                frequency = numbered[0][0]
                last = max(k for f, k in numbered if f == frequency)
                first = min(add_months(start, last * PERIOD_MONTHS[frequency]), end)
            else:
                first = start
            found[row.id] = (first, end)
    begin = start
    for row in sorted(rows, key=lambda r: (r.due_date, r.id)):
        if row.id in found:
            continue
        finish = max(begin, min(row.due_date, end))
        found[row.id] = (begin, finish)
        begin = min(finish + timedelta(days=1), max(end, begin))
    return found


def _backfill_periods(connection: sa.Connection) -> None:
    last = 0
    while True:
        batch = connection.execute(
            sa.select(grants.c.id, grants.c.award_date, grants.c.planned_start, grants.c.planned_end,
                      grants.c.duration_months)
            .where(grants.c.id > last).order_by(grants.c.id).limit(BATCH)
        ).all()
        if not batch:
            return
        last = batch[-1].id
        rows = connection.execute(
            sa.select(deadlines.c.id, deadlines.c.grant_id, deadlines.c.key, deadlines.c.due_date)
            .where(deadlines.c.grant_id.in_([g.id for g in batch]))
        ).all()
        by_grant: dict[int, list[Any]] = {}
        for row in rows:
            by_grant.setdefault(row.grant_id, []).append(row)
        updates = []
        for grant in batch:
            span = grant_period(grant.award_date, grant.planned_start, grant.planned_end, grant.duration_months)
            if span is None or grant.id not in by_grant:
                continue
            for deadline_id, (first, final) in periods(span, by_grant[grant.id]).items():
                updates.append({'b_id': deadline_id, 'b_start': first, 'b_end': final})
        if updates:
            connection.execute(
                deadlines.update().where(deadlines.c.id == sa.bindparam('b_id'))
                .values(period_start=sa.bindparam('b_start'), period_end=sa.bindparam('b_end')),
                updates,
            )
