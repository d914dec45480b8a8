"""suppressions (with their audit trail); alerts: suppressed_by, resolution

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01 15:15:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "suppressions",
        sa.Column("id", sa.String(length=36), primary_key=True),
        sa.Column("match", sa.Text(), nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=False),
        sa.Column("author", sa.String(length=100), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.Column("expires_at", sa.Float(), nullable=False),
        sa.Column("deleted_at", sa.Float(), nullable=True),
        sa.Column("source_incident", sa.String(length=200), nullable=True),
        sa.Column("hits", sa.Integer(), nullable=False),
        sa.Column("last_hit", sa.Float(), nullable=True),
    )
    op.create_index("suppressions_expires", "suppressions", ["deleted_at", "expires_at"])
    op.create_table(
        "suppression_audit",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("suppression_id", sa.String(length=36), nullable=False),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("actor", sa.String(length=100), nullable=False),
        sa.Column("at", sa.Float(), nullable=False),
        sa.Column("detail", sa.String(length=500), nullable=True),
    )
    op.create_index("suppression_audit_sid", "suppression_audit", ["suppression_id", "at"])
    with op.batch_alter_table("alerts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("suppressed_by", sa.String(length=36), nullable=True))
        batch_op.add_column(sa.Column("resolution", sa.String(length=32), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("alerts", schema=None) as batch_op:
        batch_op.drop_column("resolution")
        batch_op.drop_column("suppressed_by")
    op.drop_index("suppression_audit_sid", table_name="suppression_audit")
    op.drop_table("suppression_audit")
    op.drop_index("suppressions_expires", table_name="suppressions")
    op.drop_table("suppressions")
