"""Integrity: attestations proposed inside a submitted record are kept apart from investigators'
attestations, an adverse event can be flagged as a baseline (pre-consent) condition, and a
signature keeps the evidence it signed.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02 02:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("subjects", schema=None) as batch_op:
        batch_op.add_column(sa.Column("proposed_attestations", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("status_date", sa.Date(), nullable=True))
    with op.batch_alter_table("adverse_events", schema=None) as batch_op:
        batch_op.add_column(sa.Column("baseline_condition", sa.Boolean(), nullable=True))
    with op.batch_alter_table("signatures", schema=None) as batch_op:
        batch_op.add_column(sa.Column("evidence", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("signatures", schema=None) as batch_op:
        batch_op.drop_column("evidence")
    with op.batch_alter_table("adverse_events", schema=None) as batch_op:
        batch_op.drop_column("baseline_condition")
    with op.batch_alter_table("subjects", schema=None) as batch_op:
        batch_op.drop_column("status_date")
        batch_op.drop_column("proposed_attestations")
