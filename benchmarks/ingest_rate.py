"""Rows per second into PostgreSQL through the hub's event store (idempotent inserts).

    python -m benchmarks.ingest_rate --json OUT [--db postgresql://...] [--rows N] [--batch B]

Starts the real PostgreSQL through the test harness unless --db is given; writes into a
fresh schema. Measures the event store's write of batches of B flow records (what the
ingestor does per Kafka poll): on PostgreSQL, COPY into a staging table, then one
``INSERT ... SELECT ... ON CONFLICT (event_id) DO NOTHING RETURNING``; for comparison, the same
rows into SQLite (the embedded default, plain idempotent INSERT).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import uuid

from sqlalchemy import text

from benchmarks.common import add_json_arg, write_result
from contracts import FLOW_FEATURES
from contracts.events import FlowRecord
from hub.storage import EventStore


def rows(n: int) -> list[FlowRecord]:
    feats = [float(i) for i in range(len(FLOW_FEATURES))]
    return [
        FlowRecord(
            node_id=f"n{i % 8}",
            flow_id=f"f{i}",
            src_ip="10.0.0.1",
            dst_ip="10.0.0.2",
            src_port=i % 65535,
            dst_port=443,
            proto=6,
            start_ts=1.7e9 + i,
            end_ts=1.7e9 + i + 1,
            end_reason="fin",
            features=feats,
        )
        for i in range(n)
    ]


def measure(store: EventStore, events: list[FlowRecord], batch: int) -> dict[str, float]:
    store.create_schema()
    t0 = time.perf_counter()
    for i in range(0, len(events), batch):
        store.insert_events(events[i : i + batch])
    dt = time.perf_counter() - t0
    t1 = time.perf_counter()
    dup = sum(
        len(store.insert_events(events[i : i + batch]))
        for i in range(0, min(len(events), 20_000), batch)
    )
    dt_dup = time.perf_counter() - t1
    return {
        "rows_per_second": round(len(events) / dt),
        "seconds": round(dt, 2),
        "duplicate_rows_per_second": round(min(len(events), 20_000) / dt_dup),
        "duplicates_stored": dup,
    }


def main() -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    add_json_arg(ap, required=True)
    ap.add_argument("--db")
    ap.add_argument("--rows", type=int, default=100_000)
    ap.add_argument("--batch", type=int, default=2000)
    args = ap.parse_args()
    if not args.db:
        from tests.harness.servers import ensure_postgres

        args.db = ensure_postgres().url
    schema = f"bench{uuid.uuid4().hex[:6]}"
    with EventStore(args.db).engine.begin() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    events = rows(args.rows)
    pg = measure(EventStore(args.db + f"?options=-csearch_path%3D{schema}"), events, args.batch)
    with tempfile.TemporaryDirectory() as d:
        lite = measure(EventStore(f"sqlite:///{d}/bench.db"), events, args.batch)
    with EventStore(args.db).engine.begin() as conn:
        conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
    out = {
        "rows": args.rows,
        "batch": args.batch,
        "rows_per_second": pg["rows_per_second"],
        "postgresql": pg,
        "sqlite": lite,
        "method": "COPY into a staging table + INSERT ... SELECT ... ON CONFLICT (event_id) DO NOTHING RETURNING, one transaction per batch",
    }
    print(write_result(args.json, out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
