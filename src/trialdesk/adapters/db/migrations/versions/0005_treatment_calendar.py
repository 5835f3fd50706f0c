"""Treatment calendar: drug administrations (planned dose derived by the server, given dose, deviation
reason), the record of each scheduled visit (done / missed / not required), radiotherapy fractions
delivered, how each RT course ended, and protocol deviations recorded by staff.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02 05:50:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "drug_administrations",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("subject_id", sa.Integer(), sa.ForeignKey("subjects.id"), nullable=False),
        sa.Column("agent", sa.String(64), nullable=False),
        sa.Column("cycle", sa.Integer(), nullable=False),
        sa.Column("date", sa.Date(), nullable=False),
        sa.Column("height_cm", sa.Float(), nullable=True),
        sa.Column("weight_kg", sa.Float(), nullable=True),
        sa.Column("planned_dose_mg", sa.Float(), nullable=False),
        sa.Column("given_dose_mg", sa.Float(), nullable=False),
        sa.Column("deviation_reason", sa.String(32), nullable=True),
        sa.Column("deviation_detail", sa.Text(), nullable=True),
        sa.Column("adverse_event_id", sa.Integer(), sa.ForeignKey("adverse_events.id"), nullable=True),
        sa.Column("entered_by", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("subject_id", "agent", "cycle", name="uq_administration_cycle"),
    )
    op.create_index("ix_drug_administrations_subject_id", "drug_administrations", ["subject_id"])
    op.create_table(
        "visit_records",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("subject_id", sa.Integer(), sa.ForeignKey("subjects.id"), nullable=False),
        sa.Column("visit_id", sa.String(32), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("date", sa.Date(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("entered_by", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("subject_id", "visit_id", name="uq_visit_record"),
    )
    op.create_index("ix_visit_records_subject_id", "visit_records", ["subject_id"])
    op.create_table(
        "rt_fractions",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("subject_id", sa.Integer(), sa.ForeignKey("subjects.id"), nullable=False),
        sa.Column("intervention", sa.String(64), nullable=False),
        sa.Column("fraction_number", sa.Integer(), nullable=False),
        sa.Column("date", sa.Date(), nullable=False),
        sa.Column("dose_gy", sa.Float(), nullable=False),
        sa.Column("target", sa.String(200), nullable=False),
        sa.Column("entered_by", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("subject_id", "intervention", "fraction_number", name="uq_rt_fraction_number"),
    )
    op.create_index("ix_rt_fractions_subject_id", "rt_fractions", ["subject_id"])
    op.create_table(
        "rt_course_outcomes",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("subject_id", sa.Integer(), sa.ForeignKey("subjects.id"), nullable=False),
        sa.Column("intervention", sa.String(64), nullable=False),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("date", sa.Date(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("entered_by", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("subject_id", "intervention", name="uq_rt_course_outcome"),
    )
    op.create_index("ix_rt_course_outcomes_subject_id", "rt_course_outcomes", ["subject_id"])
    op.create_table(
        "protocol_deviations",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("subject_id", sa.Integer(), sa.ForeignKey("subjects.id"), nullable=False),
        sa.Column("category", sa.String(32), nullable=False),
        sa.Column("severity", sa.String(8), nullable=False),
        sa.Column("date", sa.Date(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("action_taken", sa.Text(), nullable=True),
        sa.Column("entered_by", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_protocol_deviations_subject_id", "protocol_deviations", ["subject_id"])


def downgrade() -> None:
    op.drop_index("ix_protocol_deviations_subject_id", table_name="protocol_deviations")
    op.drop_table("protocol_deviations")
    op.drop_index("ix_rt_course_outcomes_subject_id", table_name="rt_course_outcomes")
    op.drop_table("rt_course_outcomes")
    op.drop_index("ix_rt_fractions_subject_id", table_name="rt_fractions")
    op.drop_table("rt_fractions")
    op.drop_index("ix_visit_records_subject_id", table_name="visit_records")
    op.drop_table("visit_records")
    op.drop_index("ix_drug_administrations_subject_id", table_name="drug_administrations")
    op.drop_table("drug_administrations")
