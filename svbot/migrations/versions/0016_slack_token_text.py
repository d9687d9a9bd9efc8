"""slack tokens: Text instead of String(200), for the encrypted tokens

- slack_installations.bot_token, bot_refresh_token, user_token, user_refresh_token and
  slack_bots.bot_token, bot_refresh_token: a Fernet token of a long rotating Slack token can pass 200
  characters (svbot/channels/slack/tokens.py; `svbot data rotate-key` encrypts rows written before).

Revision ID: 0016_slack_token_text
Revises: 0015_programme_scored
Create Date: 2026-12-02 05:30:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0016_slack_token_text"
down_revision = "0015_programme_scored"
branch_labels = None
depends_on = None

COLUMNS = {
    "slack_installations": ("bot_token", "bot_refresh_token", "user_token", "user_refresh_token"),
    "slack_bots": ("bot_token", "bot_refresh_token"),
}


def upgrade() -> None:
    for table, columns in COLUMNS.items():
        with op.batch_alter_table(table) as batch:
            for column in columns:
                batch.alter_column(column, existing_type=sa.String(200), type_=sa.Text())


def downgrade() -> None:
    for table, columns in COLUMNS.items():
        with op.batch_alter_table(table) as batch:
            for column in columns:
                batch.alter_column(column, existing_type=sa.Text(), type_=sa.String(200))
