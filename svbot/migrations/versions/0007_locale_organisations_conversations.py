"""organisations and conversations: a locale for svbot's words (NULL: English)

svbot's own words come from svbot/texts/<locale>.yaml (svbot.text). A conversation's locale is the
language its person chose; an organisation's is the default for its members' conversations.
Both are nullable and NULL means English, so existing rows need no backfill.

Revision ID: 0007_locale
Revises: 0006_memberships
Create Date: 2026-12-09 10:00:00.000000
"""
from alembic import op
import sqlalchemy as sa


revision = '0007_locale'
down_revision = '0006_memberships'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('organisations', schema=None) as batch_op:
        batch_op.add_column(sa.Column('locale', sa.String(length=16), nullable=True))
    with op.batch_alter_table('conversations', schema=None) as batch_op:
        batch_op.add_column(sa.Column('locale', sa.String(length=16), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('conversations', schema=None) as batch_op:
        batch_op.drop_column('locale')
    with op.batch_alter_table('organisations', schema=None) as batch_op:
        batch_op.drop_column('locale')
