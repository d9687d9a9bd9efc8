"""button payloads: what a chat button stands for, when the platform cannot carry it

- button_payloads: Telegram carries at most 64 bytes of callback_data. A longer payload, and any
  button sent in a group (it records whose question it is), travels as a short key; this table maps
  the key back, so the button still works after a restart or on another worker.

Revision ID: 0013_button_payloads
Revises: 0012_dashboard
Create Date: 2026-12-02 05:00:00.000000
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0013_button_payloads'
down_revision = '0012_dashboard'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('button_payloads',
    sa.Column('key', sa.String(length=64), nullable=False),
    sa.Column('platform', sa.String(length=20), nullable=False),
    sa.Column('payload', sa.Text(), nullable=False),
    sa.Column('owner_user_id', sa.String(length=64), nullable=True),
    sa.Column('owner_name', sa.String(length=200), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('key')
    )
    with op.batch_alter_table('button_payloads', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_button_payloads_created_at'), ['created_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('button_payloads', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_button_payloads_created_at'))
    op.drop_table('button_payloads')
