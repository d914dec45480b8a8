"""Retention: keep the event store within an age and a size.

PostgreSQL: the tables that grow with traffic are time-partitioned (:mod:`partitions`); old
data goes by ``DETACH`` + ``DROP`` of whole partitions, oldest first, never the current one
(nor a future one) and never the DEFAULT partition, whose old rows are deleted by age in
batches instead. SQLite (the demo): rows are deleted by age in batches, then the freed pages
are given back (``PRAGMA incremental_vacuum``); size is ``page_count * page_size``.
Incidents (``alerts``) are kept longer and go by row (they are few: one per incident).

Every run returns (and logs) what it dropped: partitions, rows, bytes freed.
"""

from __future__ import annotations

import logging
import time
from dataclasses import asdict, dataclass, field
from typing import Any

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import SQLAlchemyError

from hub.errors import StoreError
from hub.storage.partitions import (
    DAY,
    PARTITIONED,
    Partition,
    bucket,
    drop_partition,
    ensure_ahead,
    is_partitioned,
    list_partitions,
)

log = logging.getLogger(__name__)
MB = 1024 * 1024


class RetentionSettings(BaseSettings):
    """``FEDNIDS_RETENTION_*``; the ``fednids hub retention`` flags override."""

    model_config = SettingsConfigDict(env_prefix="FEDNIDS_RETENTION_", extra="ignore")

    flows_days: float = Field(7.0, gt=0)
    """Raw flows (the bulk of the rows)."""
    events_days: float = Field(30.0, gt=0)
    """Anomalies, classifications, predictions, alert events, FL and node events."""
    alerts_days: float = Field(365.0, gt=0)
    """Incidents (the ``alerts`` table), by their last update."""
    max_size_mb: float | None = Field(None, gt=0)
    """A cap on the store's size (its tables, indexes included); None: no cap."""
    partition_days: int = Field(1, ge=1, le=31)
    """PostgreSQL: the width of one partition in days."""
    ahead_days: int = Field(3, ge=0, le=60)
    """PostgreSQL: partitions are made this many days ahead."""
    every_minutes: float = Field(0.0, ge=0)
    """Run every N minutes; 0: once."""
    batch_rows: int = Field(5000, ge=1)
    """Row deletes (SQLite, the DEFAULT partitions, incidents) go in batches of this size."""


def partition_options() -> dict[str, int]:
    """What the store needs to make partitions on demand (read from the environment)."""
    s = RetentionSettings()
    return {"interval_days": s.partition_days, "ahead_days": s.ahead_days}


@dataclass
class RetentionReport:
    dialect: str
    partitions_created: list[str] = field(default_factory=list)
    partitions_dropped: list[str] = field(default_factory=list)
    rows_deleted: dict[str, int] = field(default_factory=dict)
    bytes_freed: int = 0
    size_before: int = 0
    size_after: int = 0
    over_cap: bool = False
    """The cap could not be met without touching the current partition or the DEFAULT one."""

    def count(self, table: str, n: int) -> None:
        self.rows_deleted[table] = self.rows_deleted.get(table, 0) + n

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def run_retention(
    engine: Engine, settings: RetentionSettings, now: float | None = None
) -> RetentionReport:
    """One pass of the policy; :class:`StoreError` if the database fails (nothing half-done:
    each drop or batch is its own transaction)."""
    now = time.time() if now is None else now
    try:
        if engine.dialect.name == "postgresql":
            report = _run_pg(engine, settings, now)
        else:
            from hub.storage.retention_sqlite import run_sqlite

            report = run_sqlite(engine, settings, now)
    except SQLAlchemyError as exc:
        raise StoreError(f"retention failed: {str(exc).splitlines()[0]}") from exc
    log.info(
        "retention: dropped %d partitions %s, deleted rows %s, freed %.1f MB (size %.1f -> %.1f MB)%s",
        len(report.partitions_dropped),
        report.partitions_dropped,
        report.rows_deleted,
        report.bytes_freed / MB,
        report.size_before / MB,
        report.size_after / MB,
        "; STILL OVER THE CAP" if report.over_cap else "",
    )
    return report


def delete_batches(engine: Engine, sql: str, params: dict[str, Any]) -> int:
    """Run a ``DELETE ... LIMIT :n``-style statement until it deletes nothing."""
    total = 0
    while True:
        with engine.begin() as conn:
            n = conn.execute(text(sql), params).rowcount or 0
        total += n
        if n < params["n"]:
            return total


def pg_size(conn: Connection) -> int:
    """The store's size: every table of its schema (partitions, indexes, TOAST included)."""
    return int(
        conn.execute(
            text(
                "SELECT coalesce(sum(pg_total_relation_size(oid)), 0) FROM pg_class"
                " WHERE relnamespace = current_schema()::regnamespace AND relkind = 'r'"
            )
        ).scalar()
        or 0
    )


def _drop(engine: Engine, part: Partition, report: RetentionReport) -> None:
    with engine.begin() as conn:
        conn.execute(text("SET LOCAL lock_timeout = '10s'"))
        rows = int(conn.execute(text(f"SELECT count(*) FROM {part.name}")).scalar() or 0)  # noqa: S608
        drop_partition(conn, part)
    report.partitions_dropped.append(part.name)
    report.count(part.table, rows)
    report.bytes_freed += part.bytes
    log.info("retention: dropped %s (%d rows, %.1f MB)", part.name, rows, part.bytes / MB)


def _run_pg(engine: Engine, s: RetentionSettings, now: float) -> RetentionReport:
    report = RetentionReport("postgresql")
    with engine.connect() as conn:
        report.size_before = pg_size(conn)
    current_lo = bucket(now, s.partition_days)[0]
    ages = {"flows": s.flows_days, "events": s.events_days}
    for table in PARTITIONED:
        cutoff = now - ages[table] * DAY
        with engine.connect() as conn:
            partitioned = is_partitioned(conn, table)
            parts = list_partitions(conn, table) if partitioned else []
        for p in parts:
            if not p.is_default and p.hi is not None and p.hi <= min(cutoff, current_lo):
                _drop(engine, p, report)
        target = f"{table}_default" if partitioned else table  # not yet migrated: by row
        n = delete_batches(
            engine,
            f"DELETE FROM {target} WHERE ctid IN (SELECT ctid FROM {target} WHERE ts < :cut LIMIT :n)",  # noqa: S608
            {"cut": cutoff, "n": s.batch_rows},
        )
        report.count(target, n)
    delete_incidents(engine, s, now, report, "ctid")
    if s.max_size_mb is not None:
        _cap_pg(engine, s.max_size_mb * MB, current_lo, report)
    _ahead(engine, s, now, report)  # last: a full disk must not keep the drops from running
    with engine.connect() as conn:
        report.size_after = pg_size(conn)
    return report


def _ahead(engine: Engine, s: RetentionSettings, now: float, report: RetentionReport) -> None:
    try:
        with engine.begin() as conn:
            conn.execute(text("SET LOCAL lock_timeout = '10s'"))
            report.partitions_created = ensure_ahead(conn, s.partition_days, s.ahead_days, now)
    except SQLAlchemyError as exc:  # the store makes them on demand meanwhile
        log.error("retention: partitions ahead not made: %s", str(exc).splitlines()[0])


def delete_incidents(
    engine: Engine, s: RetentionSettings, now: float, report: RetentionReport, rowid: str
) -> None:
    n = delete_batches(
        engine,
        f"DELETE FROM alerts WHERE {rowid} IN"  # noqa: S608
        f" (SELECT {rowid} FROM alerts WHERE updated < :cut LIMIT :n)",
        {"cut": now - s.alerts_days * DAY, "n": s.batch_rows},
    )
    report.count("alerts", n)


def _cap_pg(engine: Engine, cap: float, current_lo: float, report: RetentionReport) -> None:
    """Drop the oldest partitions (of any partitioned table) until the store is under ``cap``."""
    with engine.connect() as conn:
        size = pg_size(conn)
        parts = [
            p for t in PARTITIONED if is_partitioned(conn, t) for p in list_partitions(conn, t)
        ]
    old = sorted(
        (p for p in parts if not p.is_default and p.hi is not None and p.hi <= current_lo),
        key=lambda p: (p.lo or 0.0, p.table),
    )
    for p in old:
        if size <= cap:
            break
        _drop(engine, p, report)
        with engine.connect() as conn:
            size = pg_size(conn)
    report.over_cap = size > cap
