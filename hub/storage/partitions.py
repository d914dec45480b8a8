"""PostgreSQL time partitions of the tables that grow with traffic (``flows``, ``events``).

Each is ``PARTITION BY RANGE (ts)`` (``ts``: the event time, epoch seconds) with one
partition per ``interval_days`` (a day by default) named ``<table>_pYYYYMMDD`` after its first
day, plus ``<table>_default`` that takes any row outside every range (the contracts allow
times up to the year 2100): an insert never fails for lack of a partition. The primary key
is ``(event_id, ts)`` (PostgreSQL requires the partition key in it); a redelivered event
carries the same ``ts``, so writes stay idempotent on ``event_id``.

Partitions are made ahead (today + N days) by the retention job and on demand by the store
before a batch whose times have none. A range whose rows already sit in the default
partition is split out of it (rows moved, then ``ATTACH``) in one transaction.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import (
    Column,
    Connection,
    Engine,
    Index,
    MetaData,
    PrimaryKeyConstraint,
    Table,
    text,
)
from sqlalchemy.exc import SQLAlchemyError

from hub.storage.schema import events, flows

log = logging.getLogger(__name__)
DAY = 86400.0
TIME_COLUMN = "ts"
PARTITIONED: dict[str, Table] = {"flows": flows, "events": events}
_NAME = re.compile(r"^(flows|events)_(p\d{8}|default)$")
_BOUND = re.compile(r"FROM \('?([-0-9.e+]+)'?\) TO \('?([-0-9.e+]+)'?\)")


def is_partition_name(name: str | None) -> bool:
    """True for the names this module gives partitions (to leave them out of schema diffs)."""
    return bool(name and _NAME.match(name))


@dataclass(frozen=True)
class Partition:
    table: str
    name: str
    lo: float | None  # None: the DEFAULT partition
    hi: float | None
    bytes: int = 0

    @property
    def is_default(self) -> bool:
        return self.lo is None

    def covers(self, ts: float) -> bool:
        return self.lo is not None and self.hi is not None and self.lo <= ts < self.hi


def partitioned_table(table: Table) -> Table:
    """A PostgreSQL-only copy of ``table``: range-partitioned on ``ts``, key ``(event_id, ts)``."""
    md = MetaData()
    cols = [Column(c.name, c.type, nullable=c.nullable) for c in table.columns]
    keys = [c.name for c in table.primary_key.columns] + [TIME_COLUMN]
    copy = Table(
        table.name,
        md,
        *cols,
        PrimaryKeyConstraint(*keys, name=f"{table.name}_pkey"),
        postgresql_partition_by=f"RANGE ({TIME_COLUMN})",
    )
    for idx in table.indexes:
        Index(idx.name, *[copy.c[c.name] for c in idx.columns], unique=bool(idx.unique))
    return copy


def is_partitioned(conn: Connection, table: str) -> bool:
    kind = conn.execute(
        text("SELECT relkind FROM pg_class WHERE oid = to_regclass(:t)"), {"t": table}
    ).scalar()
    return kind == "p"


def list_partitions(conn: Connection, table: str) -> list[Partition]:
    """Every partition of ``table`` with its range and total size, oldest first, DEFAULT last."""
    rows = conn.execute(
        text(
            "SELECT c.relname, pg_get_expr(c.relpartbound, c.oid), pg_total_relation_size(c.oid)"
            " FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid"
            " WHERE i.inhparent = to_regclass(:t)"
        ),
        {"t": table},
    ).all()
    out = []
    for name, bound, size in rows:
        m = _BOUND.search(bound or "")
        lo, hi = (float(m.group(1)), float(m.group(2))) if m else (None, None)
        out.append(Partition(table, name, lo, hi, int(size or 0)))
    return sorted(out, key=lambda p: (p.lo is None, p.lo or 0.0))


def bucket(ts: float, interval_days: int) -> tuple[float, float]:
    width = interval_days * DAY
    lo = (ts // width) * width
    return lo, lo + width


def partition_name(table: str, lo: float) -> str:
    return f"{table}_p{datetime.fromtimestamp(lo, UTC):%Y%m%d}"


def create_parent(conn: Connection, table: str) -> bool:
    """Create ``table`` partitioned with its DEFAULT partition if it does not exist yet."""
    if conn.execute(text("SELECT to_regclass(:t)"), {"t": table}).scalar() is not None:
        return False
    partitioned_table(PARTITIONED[table]).create(conn)
    conn.execute(text(f"CREATE TABLE IF NOT EXISTS {table}_default PARTITION OF {table} DEFAULT"))
    return True


def create_range(conn: Connection, table: str, lo: float, hi: float) -> str | None:
    """Create the partition ``[lo, hi)`` of ``table``, trimmed so it overlaps no other;
    rows of that range already in the DEFAULT partition are moved into it. Returns its name,
    or None when the range is already covered."""
    parts = list_partitions(conn, table)
    for p in parts:
        if p.is_default or p.hi is None or p.lo is None:
            continue
        if p.lo <= lo and p.hi >= hi:
            return None
        if p.lo <= lo < p.hi:
            lo = p.hi
        if p.lo < hi <= p.hi or lo < p.lo < hi:  # (the latter: a narrower one inside)
            hi = p.lo
    if hi <= lo:
        return None
    name = partition_name(table, lo)
    default = f"{table}_default"
    rng = f"FROM ({lo!r}) TO ({hi!r})"
    has_default = any(p.is_default for p in parts)
    moved = 0
    if has_default:
        moved = int(
            conn.execute(
                text(f"SELECT count(*) FROM {default} WHERE ts >= :lo AND ts < :hi"),  # noqa: S608
                {"lo": lo, "hi": hi},
            ).scalar()
            or 0
        )
    if not moved:
        conn.execute(text(f"CREATE TABLE {name} PARTITION OF {table} FOR VALUES {rng}"))
    else:  # split the range out of the DEFAULT partition
        conn.execute(text(f"CREATE TABLE {name} (LIKE {table} INCLUDING DEFAULTS)"))
        conn.execute(
            text(
                f"WITH m AS (DELETE FROM {default} WHERE ts >= :lo AND ts < :hi RETURNING *)"  # noqa: S608
                f" INSERT INTO {name} SELECT * FROM m"
            ),
            {"lo": lo, "hi": hi},
        )
        conn.execute(text(f"ALTER TABLE {table} ATTACH PARTITION {name} FOR VALUES {rng}"))
    log.info("partitions: created %s [%s, %s) (%d rows from the default)", name, lo, hi, moved)
    return name


def ensure_ahead(
    conn: Connection, interval_days: int, ahead_days: int, now: float | None = None
) -> list[str]:
    """Partitions from the current one to ``now + ahead_days`` for every partitioned table."""
    now = time.time() if now is None else now
    made: list[str] = []
    for table in PARTITIONED:
        if not is_partitioned(conn, table):
            continue
        lo, _ = bucket(now, interval_days)
        while lo <= now + ahead_days * DAY:
            lo, hi = bucket(lo, interval_days)
            name = create_range(conn, table, lo, hi)
            if name:
                made.append(name)
            lo = hi
    return made


def drop_partition(conn: Connection, part: Partition) -> None:
    """DETACH + DROP one range partition (never the DEFAULT one)."""
    if part.is_default:
        raise ValueError(f"refusing to drop the default partition {part.name}")
    conn.execute(text(f"ALTER TABLE {part.table} DETACH PARTITION {part.name}"))
    conn.execute(text(f"DROP TABLE {part.name}"))


class OnDemand:
    """The store's side: before a batch is written, the partitions its times need (within
    ``back_days`` before and ``ahead_days`` after now; other times go to the DEFAULT
    partition). What exists is cached and read again every ``refresh_s`` or on a miss; a
    failed creation (lock timeout, a race with another process) is logged and the rows land
    in the DEFAULT partition: the insert itself never depends on it."""

    def __init__(
        self,
        engine: Engine,
        interval_days: int = 1,
        ahead_days: int = 3,
        back_days: int = 2,
        refresh_s: float = 300.0,
    ) -> None:
        self.engine = engine
        self.interval_days = interval_days
        self.ahead_days = ahead_days
        self.back_days = back_days
        self.refresh_s = refresh_s
        self._loaded = -1e18
        self._kinds: dict[str, bool] = {}
        self._ranges: dict[str, list[tuple[float, float]]] = {}
        self.created = 0

    def invalidate(self) -> None:
        self._loaded = -1e18

    def _load(self) -> None:
        with self.engine.connect() as conn:
            for table in PARTITIONED:
                self._kinds[table] = is_partitioned(conn, table)
                self._ranges[table] = [
                    (p.lo, p.hi)
                    for p in list_partitions(conn, table)
                    if p.lo is not None and p.hi is not None
                ]
        self._loaded = time.monotonic()

    def partitioned(self, table: str) -> bool:
        if time.monotonic() - self._loaded > self.refresh_s:
            self._load()
        return self._kinds.get(table, False)

    def _missing(self, table: str, times: Iterable[float]) -> set[tuple[float, float]]:
        now = time.time()
        lo_ok, hi_ok = now - self.back_days * DAY, now + (self.ahead_days + 1) * DAY
        ranges = self._ranges.get(table, [])
        return {
            bucket(t, self.interval_days)
            for t in times
            if lo_ok <= t < hi_ok and not any(lo <= t < hi for lo, hi in ranges)
        }

    def prepare(self, table: str, times: Iterable[float]) -> None:
        times = list(times)
        if not self.partitioned(table) or not self._missing(table, times):
            return
        self._load()
        for lo, hi in sorted(self._missing(table, times)):
            try:
                with self.engine.begin() as conn:
                    conn.execute(text("SET LOCAL lock_timeout = '2s'"))
                    if create_range(conn, table, lo, hi):
                        self.created += 1
            except SQLAlchemyError as exc:
                log.warning(
                    "partitions: %s [%s, %s) not created (%s); its rows go to the default",
                    table,
                    lo,
                    hi,
                    str(exc).splitlines()[0],
                )
        self._load()
