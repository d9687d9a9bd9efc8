"""privacy (issue 20): the log of export and erasure requests, erased organisations, notices, contacts

- privacy_requests: who asked for an export or an erasure of which person or organisation, when, and
  counts of what was sent or removed (never the content). No foreign keys: it outlives its subject.
- erased_organisations: SHA-256 of an erased organisation's 360Giving identifier, so a re-import
  leaves it out unless `svbot grants import --include-erased`.
- privacy_notices: the people who have been shown the privacy notice.
- privacy_contacts: whom a (support) organisation's members ask about privacy.

Revision ID: 0014_privacy
Revises: 0013_button_payloads
Create Date: 2026-12-02 04:30:00.000000
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0014_privacy'
down_revision = '0013_button_payloads'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('privacy_requests',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('action', sa.String(length=20), nullable=False),
    sa.Column('subject', sa.String(length=20), nullable=False),
    sa.Column('subject_id', sa.Integer(), nullable=False),
    sa.Column('requested_by', sa.String(length=100), nullable=False),
    sa.Column('detail', sa.JSON(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('privacy_requests', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_privacy_requests_subject_id'), ['subject_id'], unique=False)
    op.create_table('erased_organisations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('external_id_hash', sa.String(length=64), nullable=False),
    sa.Column('erased_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('external_id_hash')
    )
    op.create_table('privacy_notices',
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('shown_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['person_id'], ['people.id'], ),
    sa.PrimaryKeyConstraint('person_id')
    )
    op.create_table('privacy_contacts',
    sa.Column('organisation_id', sa.Integer(), nullable=False),
    sa.Column('contact', sa.String(length=300), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisations.id'], ),
    sa.PrimaryKeyConstraint('organisation_id')
    )


def downgrade() -> None:
    op.drop_table('privacy_contacts')
    op.drop_table('privacy_notices')
    op.drop_table('erased_organisations')
    with op.batch_alter_table('privacy_requests', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_privacy_requests_subject_id'))
    op.drop_table('privacy_requests')
