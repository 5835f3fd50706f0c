"""Tumour assessments, computed responses, overrides, and subjects' follow-up dates.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22 20:17:29.713074
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "response_evaluations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("subject_id", sa.Integer(), nullable=False),
        sa.Column("rules", sa.String(length=16), nullable=False),
        sa.Column("best_overall_response", sa.String(length=32), nullable=True),
        sa.Column("progression_date", sa.Date(), nullable=True),
        sa.Column("result", sa.JSON(), nullable=False),
        sa.Column("inputs_sha256", sa.String(length=64), nullable=False),
        sa.Column("computed_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["subject_id"],
            ["subjects.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("subject_id", "rules", name="uq_response_rules"),
    )
    with op.batch_alter_table("response_evaluations", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_response_evaluations_subject_id"), ["subject_id"], unique=False)

    op.create_table(
        "response_overrides",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("subject_id", sa.Integer(), nullable=False),
        sa.Column("rules", sa.String(length=16), nullable=False),
        sa.Column("target", sa.String(length=64), nullable=False),
        sa.Column("computed_value", sa.String(length=32), nullable=True),
        sa.Column("override_value", sa.String(length=32), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("overridden_by", sa.Integer(), nullable=False),
        sa.Column("overridden_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["overridden_by"],
            ["users.id"],
        ),
        sa.ForeignKeyConstraint(
            ["subject_id"],
            ["subjects.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("response_overrides", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_response_overrides_subject_id"), ["subject_id"], unique=False)

    op.create_table(
        "tumour_assessments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("subject_id", sa.Integer(), nullable=False),
        sa.Column("visit", sa.String(length=64), nullable=False),
        sa.Column("date", sa.Date(), nullable=False),
        sa.Column("measurements", sa.JSON(), nullable=False),
        sa.Column("non_target", sa.JSON(), nullable=False),
        sa.Column("new_lesions", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["subject_id"],
            ["subjects.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("subject_id", "visit", name="uq_assessment_visit"),
    )
    with op.batch_alter_table("tumour_assessments", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_tumour_assessments_subject_id"), ["subject_id"], unique=False)

    op.create_table(
        "tumour_baselines",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("subject_id", sa.Integer(), nullable=False),
        sa.Column("date", sa.Date(), nullable=False),
        sa.Column("lesions", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["subject_id"],
            ["subjects.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("subject_id"),
    )
    with op.batch_alter_table("subjects", schema=None) as batch_op:
        batch_op.add_column(sa.Column("treatment_start_date", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("treatment_end_date", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("discontinuation_reason", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("new_anticancer_therapy_date", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("last_known_alive_date", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("death_date", sa.Date(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("subjects", schema=None) as batch_op:
        batch_op.drop_column("death_date")
        batch_op.drop_column("last_known_alive_date")
        batch_op.drop_column("new_anticancer_therapy_date")
        batch_op.drop_column("discontinuation_reason")
        batch_op.drop_column("treatment_end_date")
        batch_op.drop_column("treatment_start_date")

    op.drop_table("tumour_baselines")
    with op.batch_alter_table("tumour_assessments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_tumour_assessments_subject_id"))

    op.drop_table("tumour_assessments")
    with op.batch_alter_table("response_overrides", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_response_overrides_subject_id"))

    op.drop_table("response_overrides")
    with op.batch_alter_table("response_evaluations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_response_evaluations_subject_id"))

    op.drop_table("response_evaluations")
