"""Case report form records and their values (issue 14): one record per subject, form, visit and
repeat, one value per field with the unit it is stored in.

A log form (concomitant medications) has no visit: ``visit_id`` is NULL. Because NULLs never collide
in a unique constraint, the uniqueness of (subject, form, visit, repeat) is an index over
``coalesce(visit_id, '')``, which SQLite and PostgreSQL both enforce.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02 08:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "form_records",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("subject_id", sa.Integer(), sa.ForeignKey("subjects.id"), nullable=False),
        sa.Column("form_id", sa.String(64), nullable=False),
        sa.Column("visit_id", sa.String(32), nullable=True),
        sa.Column("repeat_index", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("entered_by", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("repeat_index >= 1", name="ck_form_records_repeat_index"),
    )
    op.create_index("ix_form_records_subject_id", "form_records", ["subject_id"])
    op.create_index(
        "uq_form_records_key",
        "form_records",
        ["subject_id", "form_id", sa.text("coalesce(visit_id, '')"), "repeat_index"],
        unique=True,
    )

    op.create_table(
        "form_values",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("record_id", sa.Integer(), sa.ForeignKey("form_records.id"), nullable=False),
        sa.Column("subject_id", sa.Integer(), sa.ForeignKey("subjects.id"), nullable=False),
        sa.Column("field_id", sa.String(64), nullable=False),
        sa.Column("value_json", sa.Text(), nullable=False),
        sa.Column("unit", sa.String(32), nullable=True),
        sa.Column("entered_by", sa.String(64), nullable=False),
        sa.UniqueConstraint("record_id", "field_id", name="uq_form_values_field"),
    )
    op.create_index("ix_form_values_subject_id", "form_values", ["subject_id"])


def downgrade() -> None:
    op.drop_index("ix_form_values_subject_id", table_name="form_values")
    op.drop_table("form_values")
    op.drop_index("uq_form_records_key", table_name="form_records")
    op.drop_index("ix_form_records_subject_id", table_name="form_records")
    op.drop_table("form_records")
