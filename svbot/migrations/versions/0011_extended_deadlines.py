"""extended deadlines: the due date a deadline had before its funder agreed a later one

- deadlines.extended_from: the date the schedule (or the file) gave, kept when `svbot deadlines
  extend` moves the deadline; NULL for a deadline never extended. A re-import leaves an extended
  deadline as it is, and `svbot deadlines list` shows the date it was extended from.

Revision ID: 0011_extended_deadlines
Revises: 0010_monitoring_reports
Create Date: 2026-12-02 10:00:00.000000
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0011_extended_deadlines'
down_revision = '0010_monitoring_reports'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('deadlines') as batch:
        batch.add_column(sa.Column('extended_from', sa.Date(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('deadlines') as batch:
        batch.drop_column('extended_from')
