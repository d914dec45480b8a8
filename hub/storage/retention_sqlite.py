"""Retention on SQLite (the demo): row deletes in batches, then the pages go back to the
file system (``auto_vacuum = INCREMENTAL``; a file made before that setting is converted by
one ``VACUUM`` the first time). Size is ``page_count * page_size`` of the main file."""

from __future__ import annotations

import logging

from sqlalchemy import Engine, text

from hub.storage.partitions import DAY, PARTITIONED, bucket
from hub.storage.retention import (
    RetentionReport,
    RetentionSettings,
    delete_batches,
    delete_incidents,
)

log = logging.getLogger(__name__)
_INCREMENTAL = 2


def sqlite_size(engine: Engine) -> int:
    with engine.connect() as conn:
        pages = int(conn.exec_driver_sql("PRAGMA page_count").scalar() or 0)
        size = int(conn.exec_driver_sql("PRAGMA page_size").scalar() or 0)
    return pages * size


def _vacuum(engine: Engine) -> None:
    """Give the free pages back; the first time on an old file, switch it to incremental."""
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        mode = int(conn.exec_driver_sql("PRAGMA auto_vacuum").scalar() or 0)
        if mode != _INCREMENTAL:
            log.info("retention: converting the SQLite file to auto_vacuum=INCREMENTAL (VACUUM)")
            conn.exec_driver_sql("PRAGMA auto_vacuum=INCREMENTAL")
            conn.exec_driver_sql("VACUUM")
        raw = conn.connection.driver_connection
        if raw is not None:  # frees one page per step: run it to the end as a script
            raw.executescript("PRAGMA incremental_vacuum;")
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")


def run_sqlite(engine: Engine, s: RetentionSettings, now: float) -> RetentionReport:
    report = RetentionReport("sqlite", size_before=sqlite_size(engine))
    ages = {"flows": s.flows_days, "events": s.events_days}
    for table in PARTITIONED:
        n = delete_batches(
            engine,
            f"DELETE FROM {table} WHERE rowid IN"  # noqa: S608
            f" (SELECT rowid FROM {table} WHERE ts < :cut LIMIT :n)",
            {"cut": now - ages[table] * DAY, "n": s.batch_rows},
        )
        report.count(table, n)
    delete_incidents(engine, s, now, report, "rowid")
    _vacuum(engine)
    if s.max_size_mb is not None:
        _cap(engine, s, bucket(now, 1)[0], report)
    report.size_after = sqlite_size(engine)
    report.bytes_freed = max(0, report.size_before - report.size_after)
    return report


def _oldest(engine: Engine, today: float) -> str | None:
    """The table whose oldest row (before today) is the oldest of all."""
    best: tuple[float, str] | None = None
    with engine.connect() as conn:
        for table in PARTITIONED:
            ts = conn.execute(text(f"SELECT min(ts) FROM {table}")).scalar()  # noqa: S608
            if ts is not None and ts < today and (best is None or ts < best[0]):
                best = (float(ts), table)
    return best[1] if best else None


def _cap(engine: Engine, s: RetentionSettings, today: float, report: RetentionReport) -> None:
    """Delete the oldest rows (never today's), a batch at a time, until under the cap."""
    cap = s.max_size_mb * 1024 * 1024 if s.max_size_mb else 0.0
    while sqlite_size(engine) > cap:
        table = _oldest(engine, today)
        if table is None:
            report.over_cap = True
            return
        with engine.begin() as conn:
            n = (
                conn.execute(
                    text(
                        f"DELETE FROM {table} WHERE rowid IN (SELECT rowid FROM {table}"  # noqa: S608
                        " WHERE ts < :today ORDER BY ts LIMIT :n)"
                    ),
                    {"today": today, "n": s.batch_rows},
                ).rowcount
                or 0
            )
        report.count(table, n)
        _vacuum(engine)
