"""The agent's local store of recent flows, the only data its federated training sees.

A small SQLite file in the node's state directory: one row per finished flow (source host,
end time, the 49 features as float32 bytes, and whether a detector flagged that host at the
time). Bounded: the oldest rows go first. Nothing in it ever leaves the device.
"""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import numpy as np

from contracts.events import FlowRecord
from contracts.features import FLOW_FEATURES

_SCHEMA = """
CREATE TABLE IF NOT EXISTS flows (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    src_ip TEXT NOT NULL,
    end_ts REAL NOT NULL,
    features BLOB NOT NULL,
    flagged INTEGER NOT NULL DEFAULT 0
)
"""


class FlowStore:
    def __init__(self, path: Path, max_rows: int = 200_000) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.max_rows = max_rows
        self._db = sqlite3.connect(path, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute(_SCHEMA)
        self._lock = threading.Lock()

    def add(self, flows: list[FlowRecord], flagged_hosts: set[str] | None = None) -> None:
        flagged_hosts = flagged_hosts or set()
        rows = [
            (
                f.src_ip,
                float(f.end_ts),
                np.asarray(f.features, dtype=np.float32).tobytes(),
                int(f.src_ip in flagged_hosts),
            )
            for f in flows
        ]
        with self._lock, self._db:
            self._db.executemany(
                "INSERT INTO flows (src_ip, end_ts, features, flagged) VALUES (?, ?, ?, ?)", rows
            )
            (n,) = self._db.execute("SELECT COUNT(*) FROM flows").fetchone()
            if n > self.max_rows:
                self._db.execute(
                    "DELETE FROM flows WHERE id IN (SELECT id FROM flows ORDER BY id LIMIT ?)",
                    (n - self.max_rows,),
                )

    def benign(self) -> tuple[list[str], np.ndarray, np.ndarray]:
        """(source hosts, end times, features (N, F)) of flows from unflagged hosts."""
        with self._lock:
            rows = self._db.execute(
                "SELECT src_ip, end_ts, features FROM flows WHERE flagged = 0 ORDER BY id"
            ).fetchall()
        feats = np.frombuffer(b"".join(r[2] for r in rows), dtype=np.float32)
        return (
            [r[0] for r in rows],
            np.asarray([r[1] for r in rows], dtype=np.float64),
            feats.reshape(len(rows), len(FLOW_FEATURES)),
        )

    def __len__(self) -> int:
        with self._lock:
            return int(self._db.execute("SELECT COUNT(*) FROM flows").fetchone()[0])

    def close(self) -> None:
        self._db.close()
