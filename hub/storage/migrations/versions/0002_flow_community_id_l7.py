"""flows: community_id and l7 metadata

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01 15:30:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("flows", schema=None) as batch_op:
        batch_op.add_column(sa.Column("community_id", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("l7", sa.Text(), nullable=True))
        batch_op.create_index("flows_community_id", ["community_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("flows", schema=None) as batch_op:
        batch_op.drop_index("flows_community_id")
        batch_op.drop_column("l7")
        batch_op.drop_column("community_id")
