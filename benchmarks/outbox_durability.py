"""What the power-loss-safe outbox costs: events/s through the outbox with ``synchronous=FULL``
(the default, each commit syncs the WAL) and ``NORMAL`` (syncs at checkpoints), same run.

    python -m benchmarks.outbox_durability [--json OUT] [--events N] [--batches 1,10,100,1000]
                                           [--dir DIR] [--repeats R]

Each event lives as in the agent: inserted in a transaction of B events (the agent commits
what it staged every ``batch_interval_s``, 0.1 s), then deleted in a transaction of B ids
once the broker confirmed it. The two modes alternate, R repeats each, the median counts.
``--dir`` puts the databases on the disk to measure (an SD card on a Pi); the default is a
temporary directory. The figures depend on the disk's sync latency and on the machine's load.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.common import add_json_arg, write_result
from contracts import encode
from contracts.events import FlowRecord
from contracts.features import FLOW_FEATURES
from edge_agent.outbox import Outbox


def _payloads(n: int) -> list[bytes]:
    now = time.time()
    one = FlowRecord(
        node_id="bench",
        flow_id="f",
        src_ip="10.0.0.1",
        dst_ip="10.0.0.2",
        src_port=1234,
        dst_port=443,
        proto=6,
        start_ts=now - 1,
        end_ts=now,
        end_reason="fin",
        features=[float(i) for i in range(len(FLOW_FEATURES))],
    )
    return [encode(one)] * n


def measure(path: Path, durable: bool, payloads: list[bytes], batch: int) -> float:
    """Events per second: put in transactions of ``batch``, then deleted in the same."""
    for f in path.parent.glob(f"{path.name}*"):
        f.unlink()
    ob = Outbox(path, max_rows=len(payloads) + 1000, durable=durable)
    t0 = time.perf_counter()
    for i in range(0, len(payloads), batch):
        ob.put_many([("flows", p) for p in payloads[i : i + batch]])
        ids = [r.id for r in ob.peek(batch)]
        ob.delete(ids)
    dt = time.perf_counter() - t0
    assert len(ob) == 0
    ob.close()
    return len(payloads) / dt


def run(directory: Path, events: int, batches: list[int], repeats: int) -> dict[str, object]:
    payloads = _payloads(events)
    rows = []
    for batch in batches:
        n = min(events, max(batch * 50, 2000)) if batch < 10 else events
        sample = payloads[:n]
        got: dict[bool, list[float]] = {True: [], False: []}
        for _ in range(repeats):
            for durable in (True, False):
                got[durable].append(measure(directory / "bench.db", durable, sample, batch))
        full, normal = statistics.median(got[True]), statistics.median(got[False])
        rows.append(
            {
                "batch": batch,
                "events": n,
                "full_events_per_s": round(full, 1),
                "normal_events_per_s": round(normal, 1),
                "full_over_normal": round(full / normal, 3),
                "full_commit_ms": round(1000 * 2 * batch / full, 3),
            }
        )
    return {
        "benchmark": "outbox_durability",
        "directory": str(directory),
        "repeats": repeats,
        "note": "full = synchronous=FULL (default, survives power loss); normal = NORMAL; "
        "one event = insert + delete, each in a transaction of `batch` events; "
        "full_commit_ms = time per transaction with FULL",
        "results": rows,
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.outbox_durability")
    add_json_arg(ap)
    ap.add_argument("--events", type=int, default=20_000)
    ap.add_argument("--batches", default="1,10,100,1000")
    ap.add_argument("--dir", type=Path)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args(argv)
    batches = [int(b) for b in args.batches.split(",") if b]
    with tempfile.TemporaryDirectory(prefix="outbox-bench-", dir=args.dir) as tmp:
        result = run(Path(tmp), args.events, batches, args.repeats)
    sys.stdout.write(write_result(args.json, result) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
