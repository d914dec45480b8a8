"""assets: the passive device inventory, one row per (node, MAC or IP)

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01 15:30:00.000000
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
        "assets",
        sa.Column("node_id", sa.String(length=64), primary_key=True),
        sa.Column("asset_key", sa.String(length=64), primary_key=True),
        sa.Column("mac", sa.String(length=17), nullable=True),
        sa.Column("ip", sa.String(length=64), nullable=True),
        sa.Column("vendor", sa.String(length=200), nullable=True),
        sa.Column("hostname", sa.String(length=253), nullable=True),
        sa.Column("first_seen", sa.Float(), nullable=False),
        sa.Column("last_seen", sa.Float(), nullable=False),
        sa.Column("updated", sa.Float(), nullable=False),
        sa.Column("search", sa.Text(), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
    )
    op.create_index("assets_last_seen", "assets", ["last_seen", "asset_key"])
    op.create_index("assets_vendor", "assets", ["vendor"])


def downgrade() -> None:
    op.drop_index("assets_vendor", table_name="assets")
    op.drop_index("assets_last_seen", table_name="assets")
    op.drop_table("assets")
