"""The on-disk outbox: every event is written here first and deleted only after the
broker confirmed it, so a broker outage, a broker restart, ``kill -9`` or a pulled plug
loses nothing that was committed.

SQLite in WAL mode. By default ``synchronous=FULL``: in WAL mode SQLite then syncs the WAL
file at every commit, before the commit returns, so a committed row survives a power loss
(on storage that honours fsync). ``durable=False`` (``synchronous=NORMAL``) syncs only at
checkpoints: the database stays consistent and a commit survives ``kill -9`` (it is in the
OS page cache), but the SQLite docs say a transaction committed in WAL mode with NORMAL
"might roll back following a power loss or system crash". The agent commits one transaction per batch of events, so the price of one sync
per commit is paid per batch (``benchmarks/outbox_durability.py`` measures it).

Bounded: past ``max_rows`` the oldest plain flow records are dropped first (counted);
every other kind (anomalies, status, FL events, assets) is never dropped for room.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from contracts.topics import MqttKind
from edge_agent.capture.errors import EdgeAgentError

KINDS = tuple(k.value for k in MqttKind)  # one per MQTT topic kind
DROPPABLE = "flows"


class OutboxError(EdgeAgentError):
    """The outbox database cannot be opened or written."""


@dataclass(frozen=True, slots=True)
class Row:
    id: int
    kind: str
    payload: bytes


class Outbox:
    def __init__(self, path: Path | str, max_rows: int = 200_000, durable: bool = True) -> None:
        self.path = str(path)
        self.max_rows = max_rows
        self.durable = durable
        self.dropped = 0
        self._lock = threading.Lock()
        try:
            if self.path != ":memory:":
                Path(self.path).parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
            mode = self._db.execute("PRAGMA journal_mode=WAL").fetchone()[0]
            if mode != "wal" and self.path != ":memory:":
                raise OutboxError(f"outbox {self.path}: WAL journal refused (got {mode!r})")
            self._db.execute(f"PRAGMA synchronous={'FULL' if durable else 'NORMAL'}")
            self._db.execute(
                "CREATE TABLE IF NOT EXISTS outbox (id INTEGER PRIMARY KEY AUTOINCREMENT, kind TEXT NOT NULL,"
                " created REAL NOT NULL, payload BLOB NOT NULL)"
            )
            self._db.execute("CREATE INDEX IF NOT EXISTS outbox_kind ON outbox (kind, id)")
            self._db.execute(
                "CREATE TABLE IF NOT EXISTS meta (k TEXT PRIMARY KEY, v INTEGER NOT NULL)"
            )
            row = self._db.execute("SELECT v FROM meta WHERE k = 'dropped'").fetchone()
            self.dropped = int(row[0]) if row else 0
            self._count = int(self._db.execute("SELECT COUNT(*) FROM outbox").fetchone()[0])
        except sqlite3.Error as exc:
            raise OutboxError(f"outbox {self.path}: {exc}") from exc

    def __len__(self) -> int:
        return self._count

    def put_many(self, items: Iterable[tuple[str, bytes]]) -> int:
        """Store events in one transaction; returns how many flows were dropped for room."""
        rows = [(kind, time.time(), payload) for kind, payload in items]
        if not rows:
            return 0
        for kind, _, _ in rows:
            if kind not in KINDS:
                raise OutboxError(f"unknown outbox kind {kind!r}")
        with self._lock:
            try:
                self._db.execute("BEGIN IMMEDIATE")
                self._db.executemany(
                    "INSERT INTO outbox (kind, created, payload) VALUES (?, ?, ?)", rows
                )
                self._count += len(rows)
                dropped = self._enforce_bound()
                self._db.execute("COMMIT")
            except sqlite3.Error as exc:
                self._db.execute("ROLLBACK")
                raise OutboxError(f"outbox {self.path}: write failed: {exc}") from exc
        return dropped

    def _enforce_bound(self) -> int:
        excess = self._count - self.max_rows
        if excess <= 0:
            return 0
        cur = self._db.execute(
            "DELETE FROM outbox WHERE id IN (SELECT id FROM outbox WHERE kind = ? ORDER BY id LIMIT ?)",
            (DROPPABLE, excess),
        )
        n = cur.rowcount
        self._count -= n
        self.dropped += n
        self._db.execute(
            "INSERT INTO meta (k, v) VALUES ('dropped', ?) ON CONFLICT(k) DO UPDATE SET v = excluded.v",
            (self.dropped,),
        )
        return n

    def peek(self, limit: int, after_id: int = 0, kinds: Sequence[str] = KINDS) -> list[Row]:
        """The oldest rows after ``after_id`` (not removed)."""
        marks = ",".join("?" * len(kinds))
        with self._lock:
            cur = self._db.execute(
                f"SELECT id, kind, payload FROM outbox WHERE id > ? AND kind IN ({marks}) ORDER BY id LIMIT ?",  # noqa: S608 - placeholders only
                (after_id, *kinds, limit),
            )
            return [Row(i, k, bytes(p)) for i, k, p in cur.fetchall()]

    def delete(self, ids: Sequence[int]) -> None:
        """Remove rows the broker confirmed."""
        if not ids:
            return
        with self._lock:
            try:
                self._db.execute("BEGIN IMMEDIATE")
                cur = self._db.executemany("DELETE FROM outbox WHERE id = ?", [(i,) for i in ids])
                self._count -= max(cur.rowcount, 0)
                self._db.execute("COMMIT")
            except sqlite3.Error as exc:
                self._db.execute("ROLLBACK")
                raise OutboxError(f"outbox {self.path}: delete failed: {exc}") from exc

    def synchronous(self) -> str:
        """The ``synchronous`` setting in force (``FULL`` survives a power loss)."""
        with self._lock:
            level = int(self._db.execute("PRAGMA synchronous").fetchone()[0])
        return {0: "OFF", 1: "NORMAL", 2: "FULL", 3: "EXTRA"}.get(level, str(level))

    def stats(self) -> dict[str, int]:
        with self._lock:
            by_kind = dict(
                self._db.execute("SELECT kind, COUNT(*) FROM outbox GROUP BY kind").fetchall()
            )
        return {
            "depth": self._count,
            "dropped_flows": self.dropped,
            **{f"depth_{k}": by_kind.get(k, 0) for k in KINDS},
        }

    def close(self) -> None:
        with self._lock:
            self._db.close()
