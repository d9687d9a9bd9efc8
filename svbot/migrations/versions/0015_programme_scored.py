"""programmes: whether social value was scored in the programme's decisions

- programmes.social_value_scored: recorded by a support admin (`svbot programme set CODE --scored
  yes|no`) for the annual report's "social value in our own grants"; NULL: not recorded.

Revision ID: 0015_programme_scored
Revises: 0014_privacy
Create Date: 2026-12-02 12:00:00.000000
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0015_programme_scored'
down_revision = '0014_privacy'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('programmes') as batch:
        batch.add_column(sa.Column('social_value_scored', sa.Boolean(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('programmes') as batch:
        batch.drop_column('social_value_scored')
