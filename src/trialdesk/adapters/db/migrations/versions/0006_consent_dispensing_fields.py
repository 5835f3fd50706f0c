"""Rest of the treatment record: informed-consent records (version signed, date, who obtained it),
investigational-product receipts at a site and dispensations to subjects (lot, expiry, quantity
dispensed and returned), whether each tumour lesion lies in a radiotherapy field, and the coded end of
treatment and end of study of a subject.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02 08:20:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "consent_records",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("subject_id", sa.Integer(), sa.ForeignKey("subjects.id"), nullable=False),
        sa.Column("version", sa.String(32), nullable=False),
        sa.Column("consent_date", sa.Date(), nullable=False),
        sa.Column("obtained_by", sa.String(64), nullable=False),
        sa.Column("entered_by", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("subject_id", "version", name="uq_consent_version"),
    )
    op.create_index("ix_consent_records_subject_id", "consent_records", ["subject_id"])

    op.create_table(
        "ip_receipts",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("protocol_id", sa.String(64), nullable=False),
        sa.Column("site_id", sa.Integer(), sa.ForeignKey("sites.id"), nullable=False),
        sa.Column("agent", sa.String(64), nullable=False),
        sa.Column("lot_number", sa.String(64), nullable=False),
        sa.Column("expiry_date", sa.Date(), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("unit", sa.String(16), nullable=False),
        sa.Column("received_date", sa.Date(), nullable=False),
        sa.Column("entered_by", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_ip_receipts_protocol_site", "ip_receipts", ["protocol_id", "site_id"])

    op.create_table(
        "ip_dispensations",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("subject_id", sa.Integer(), sa.ForeignKey("subjects.id"), nullable=False),
        sa.Column("agent", sa.String(64), nullable=False),
        sa.Column("cycle", sa.Integer(), nullable=True),
        sa.Column("lot_number", sa.String(64), nullable=False),
        sa.Column("expiry_date", sa.Date(), nullable=False),
        sa.Column("dispensed_date", sa.Date(), nullable=False),
        sa.Column("quantity_dispensed", sa.Integer(), nullable=False),
        sa.Column("quantity_returned", sa.Integer(), nullable=True),
        sa.Column("returned_date", sa.Date(), nullable=True),
        sa.Column("unit", sa.String(16), nullable=False),
        sa.Column("entered_by", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_ip_dispensations_subject_id", "ip_dispensations", ["subject_id"])

    op.create_table(
        "lesion_rt_fields",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("subject_id", sa.Integer(), sa.ForeignKey("subjects.id"), nullable=False),
        sa.Column("lesion_id", sa.String(64), nullable=False),
        sa.Column("in_field", sa.Boolean(), nullable=False),
        sa.Column("intervention", sa.String(64), nullable=True),
        sa.Column("target", sa.String(200), nullable=True),
        sa.Column("entered_by", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("subject_id", "lesion_id", name="uq_lesion_rt_field"),
    )
    op.create_index("ix_lesion_rt_fields_subject_id", "lesion_rt_fields", ["subject_id"])

    with op.batch_alter_table("subjects", schema=None) as batch_op:
        batch_op.add_column(sa.Column("end_of_treatment_reason", sa.String(32), nullable=True))
        batch_op.add_column(sa.Column("end_of_treatment_ae_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("end_of_study_date", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("end_of_study_reason", sa.String(32), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("subjects", schema=None) as batch_op:
        batch_op.drop_column("end_of_study_reason")
        batch_op.drop_column("end_of_study_date")
        batch_op.drop_column("end_of_treatment_ae_id")
        batch_op.drop_column("end_of_treatment_reason")
    op.drop_index("ix_lesion_rt_fields_subject_id", table_name="lesion_rt_fields")
    op.drop_table("lesion_rt_fields")
    op.drop_index("ix_ip_dispensations_subject_id", table_name="ip_dispensations")
    op.drop_table("ip_dispensations")
    op.drop_index("ix_ip_receipts_protocol_site", table_name="ip_receipts")
    op.drop_table("ip_receipts")
    op.drop_index("ix_consent_records_subject_id", table_name="consent_records")
    op.drop_table("consent_records")
