"""monitoring reports: one draft (then submitted) report per deadline, shared by its organisation

- monitoring_reports: the answers given for one deadline's report (JSON: answers and skipped
  questions), its organisation, status "draft" or "submitted", whether the member shares it with its
  support organisation, and when it was last changed. One row per deadline, so two people of one
  organisation continue the same draft.

Revision ID: 0010_monitoring_reports
Revises: 0009_periods_programmes
Create Date: 2026-12-20 10:00:00.000000
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0010_monitoring_reports'
down_revision = '0009_periods_programmes'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('monitoring_reports',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('deadline_id', sa.Integer(), nullable=False),
    sa.Column('organisation_id', sa.Integer(), nullable=False),
    sa.Column('answers', sa.JSON(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('shared', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['deadline_id'], ['deadlines.id'], ),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisations.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('deadline_id')
    )
    with op.batch_alter_table('monitoring_reports', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_monitoring_reports_organisation_id'), ['organisation_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('monitoring_reports', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_monitoring_reports_organisation_id'))
    op.drop_table('monitoring_reports')
