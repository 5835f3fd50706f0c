"""Data management (issue 14): queries on any field of any record and their threads, source data
verification marks, the investigator's casebook sign-offs, and freezes and locks (per form record,
subject, data cut-off or the whole database).

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02 09:20:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "data_queries",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("protocol_id", sa.String(64), nullable=False),
        sa.Column("subject_id", sa.Integer(), sa.ForeignKey("subjects.id"), nullable=False),
        sa.Column("target_table", sa.String(64), nullable=False),
        sa.Column("target_id", sa.String(64), nullable=False),
        sa.Column("field", sa.String(64), nullable=True),
        sa.Column("form_id", sa.String(64), nullable=True),
        sa.Column("visit_id", sa.String(32), nullable=True),
        sa.Column("origin", sa.String(16), nullable=False),
        sa.Column("check_id", sa.String(64), nullable=True),
        sa.Column("check_version", sa.String(32), nullable=True),
        sa.Column("system_key", sa.String(255), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("opened_by", sa.String(64), nullable=False),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("closed_by", sa.String(64), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("system_key", name="uq_data_queries_system_key"),
    )
    op.create_index("ix_data_queries_protocol_status", "data_queries", ["protocol_id", "status"])
    op.create_index("ix_data_queries_subject_id", "data_queries", ["subject_id"])
    op.create_index("ix_data_queries_target", "data_queries", ["target_table", "target_id"])

    op.create_table(
        "query_messages",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("query_id", sa.Integer(), sa.ForeignKey("data_queries.id"), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("author", sa.String(64), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_query_messages_query_id", "query_messages", ["query_id"])

    op.create_table(
        "sdv_marks",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("subject_id", sa.Integer(), sa.ForeignKey("subjects.id"), nullable=False),
        sa.Column("target_table", sa.String(64), nullable=False),
        sa.Column("target_id", sa.String(64), nullable=False),
        sa.Column("field", sa.String(64), nullable=False),
        sa.Column("value_sha256", sa.String(64), nullable=False),
        sa.Column("verified_by", sa.String(64), nullable=False),
        sa.Column("verified_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("target_table", "target_id", "field", name="uq_sdv_marks_target"),
    )
    op.create_index("ix_sdv_marks_subject_id", "sdv_marks", ["subject_id"])

    op.create_table(
        "casebook_signoffs",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("subject_id", sa.Integer(), sa.ForeignKey("subjects.id"), nullable=False),
        sa.Column("signature_id", sa.Integer(), sa.ForeignKey("signatures.id"), nullable=False),
        sa.Column("data_sha256", sa.String(64), nullable=False),
        sa.Column("signed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("invalidated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("invalidation_reason", sa.Text(), nullable=True),
    )
    op.create_index("ix_casebook_signoffs_subject_id", "casebook_signoffs", ["subject_id"])

    op.create_table(
        "data_locks",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("protocol_id", sa.String(64), nullable=False),
        sa.Column("scope", sa.String(16), nullable=False),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("subject_id", sa.Integer(), sa.ForeignKey("subjects.id"), nullable=True),
        sa.Column("form_record_id", sa.Integer(), sa.ForeignKey("form_records.id"), nullable=True),
        sa.Column("cutoff_date", sa.Date(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("created_by", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("content_sha256", sa.String(64), nullable=True),
        sa.Column("release_requested_by", sa.String(64), nullable=True),
        sa.Column("release_requested_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("release_request_reason", sa.Text(), nullable=True),
        sa.Column("released_by", sa.String(64), nullable=True),
        sa.Column("released_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("release_reason", sa.Text(), nullable=True),
    )
    op.create_index("ix_data_locks_protocol_id", "data_locks", ["protocol_id"])
    op.create_index("ix_data_locks_subject_id", "data_locks", ["subject_id"])


def downgrade() -> None:
    op.drop_index("ix_data_locks_subject_id", table_name="data_locks")
    op.drop_index("ix_data_locks_protocol_id", table_name="data_locks")
    op.drop_table("data_locks")
    op.drop_index("ix_casebook_signoffs_subject_id", table_name="casebook_signoffs")
    op.drop_table("casebook_signoffs")
    op.drop_index("ix_sdv_marks_subject_id", table_name="sdv_marks")
    op.drop_table("sdv_marks")
    op.drop_index("ix_query_messages_query_id", table_name="query_messages")
    op.drop_table("query_messages")
    op.drop_index("ix_data_queries_target", table_name="data_queries")
    op.drop_index("ix_data_queries_subject_id", table_name="data_queries")
    op.drop_index("ix_data_queries_protocol_status", table_name="data_queries")
    op.drop_table("data_queries")
