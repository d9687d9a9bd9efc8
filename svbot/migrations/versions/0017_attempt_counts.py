"""attempt_counts: join attempts per person, chat and organisation, per window (issue 21, item 8)

- attempt_counts(subject, window_start, count): one row per subject and minute or hour, bumped by
  an upsert; the join-code limit holds across web workers because it lives here, not in memory.

Revision ID: 0017_attempt_counts
Revises: 0016_slack_token_text
Create Date: 2026-12-02 07:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0017_attempt_counts"
down_revision = "0016_slack_token_text"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "attempt_counts",
        sa.Column("subject", sa.String(250), nullable=False),
        sa.Column("window_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("subject", "window_start"),
    )
    op.create_index("ix_attempt_counts_window_start", "attempt_counts", ["window_start"])


def downgrade() -> None:
    op.drop_index("ix_attempt_counts_window_start", table_name="attempt_counts")
    op.drop_table("attempt_counts")
