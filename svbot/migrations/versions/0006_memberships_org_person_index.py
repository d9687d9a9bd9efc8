"""memberships: one index on (organisation_id, person_id) in place of the one on organisation_id

An organisation's members straight from the index, for the recipients of reminders and
broadcasts (svbot.delivery.recipients); lookups by organisation_id alone use it as well.

Revision ID: 0006_memberships
Revises: 0005_support
Create Date: 2026-12-02 10:00:00.000000
"""
from alembic import op


revision = '0006_memberships'
down_revision = '0005_support'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('memberships', schema=None) as batch_op:
        batch_op.create_index('ix_memberships_org_person', ['organisation_id', 'person_id'], unique=False)
        batch_op.drop_index(batch_op.f('ix_memberships_organisation_id'))


def downgrade() -> None:
    with op.batch_alter_table('memberships', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_memberships_organisation_id'), ['organisation_id'], unique=False)
        batch_op.drop_index('ix_memberships_org_person')
