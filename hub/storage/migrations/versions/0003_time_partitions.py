"""PostgreSQL: flows and events range-partitioned on ts (retention drops partitions)

On PostgreSQL each table is renamed, made again partitioned (key ``(event_id, ts)``) with a
DEFAULT partition and one partition per day that its rows cover (within a year back) and
the days ahead, its rows copied, the old table dropped: all in the migration's one
transaction. SQLite has no partitions: nothing to do there.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01 15:20:00.000000
"""

from __future__ import annotations

import time

import sqlalchemy as sa
from alembic import op

from hub.storage.partitions import (
    DAY,
    PARTITIONED,
    bucket,
    create_parent,
    create_range,
    ensure_ahead,
    is_partitioned,
)
from hub.storage.retention import partition_options

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None
BACK_DAYS = 366


def _columns(table: str) -> str:
    return ", ".join(c.name for c in PARTITIONED[table].columns)


def _rename_old(conn: sa.Connection, table: str) -> None:
    old = f"{table}_old"
    conn.execute(sa.text(f"ALTER TABLE {table} RENAME TO {old}"))
    conn.execute(sa.text(f"ALTER TABLE {old} RENAME CONSTRAINT {table}_pkey TO {old}_pkey"))
    for idx in PARTITIONED[table].indexes:
        conn.execute(sa.text(f"DROP INDEX IF EXISTS {idx.name}"))  # the names are reused


def upgrade() -> None:
    conn = op.get_bind()
    if conn.dialect.name != "postgresql":
        return
    opts = partition_options()
    now = time.time()
    for table in PARTITIONED:
        if is_partitioned(conn, table):
            continue
        _rename_old(conn, table)
        create_parent(conn, table)
        width = opts["interval_days"] * DAY
        starts = conn.execute(
            sa.text(
                f"SELECT DISTINCT floor(ts / :w) * :w FROM {table}_old"  # noqa: S608
                " WHERE ts >= :lo AND ts < :hi"
            ),
            {"w": width, "lo": now - BACK_DAYS * DAY, "hi": now + opts["ahead_days"] * DAY},
        ).scalars()
        for lo in sorted(float(x) for x in starts):
            create_range(conn, table, *bucket(lo, opts["interval_days"]))
        cols = _columns(table)
        conn.execute(sa.text(f"INSERT INTO {table} ({cols}) SELECT {cols} FROM {table}_old"))  # noqa: S608
        conn.execute(sa.text(f"DROP TABLE {table}_old"))
    ensure_ahead(conn, opts["interval_days"], opts["ahead_days"], now)


def downgrade() -> None:
    conn = op.get_bind()
    if conn.dialect.name != "postgresql":
        return
    for table in PARTITIONED:
        if not is_partitioned(conn, table):
            continue
        part = f"{table}_part"
        conn.execute(sa.text(f"ALTER TABLE {table} RENAME TO {part}"))
        conn.execute(sa.text(f"ALTER TABLE {part} RENAME CONSTRAINT {table}_pkey TO {part}_pkey"))
        for idx in PARTITIONED[table].indexes:
            conn.execute(sa.text(f"DROP INDEX IF EXISTS {idx.name}"))
        PARTITIONED[table].create(conn)
        cols = _columns(table)
        conn.execute(sa.text(f"INSERT INTO {table} ({cols}) SELECT {cols} FROM {part}"))  # noqa: S608
        conn.execute(sa.text(f"DROP TABLE {part} CASCADE"))
