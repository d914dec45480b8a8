"""api_tokens.expires: a token is refused after it (NULL: never, only when asked for)

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01 21:40:00.000000

Tokens created before this revision keep no expiry (NULL): `fednids api token list` shows
them as "never"; revoke and re-create them to give them one.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("api_tokens", sa.Column("expires", sa.Float(), nullable=True))


def downgrade() -> None:
    op.drop_column("api_tokens", "expires")
