"""Agent memory over a broker outage: the real agent process against a private Mosquitto that
is stopped for ``--minutes`` (default 5) while the agent keeps capturing, beside a control
agent (same source, same time) whose broker stays up. Target: the outage agent's RSS grows no
faster than the control's (events wait on disk; paho holds at most the uplink's window).

    python -m benchmarks.agent_outage [--json OUT] [--minutes 5] [--warmup 30] [--speed 5]

Phases: ``--warmup`` seconds with both brokers up, the outage, then the broker back until the
outbox is (nearly) empty. Both agents' RSS (``/proc/<pid>/status``) and outbox depths are
sampled every 2 s. A persistent collector per broker counts what arrives; the outbox's
AUTOINCREMENT sequence counts what each agent committed. The machine may be shared and
loaded: the figures are for this run only.
"""

from __future__ import annotations

import argparse
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

from benchmarks.common import add_json_arg, rss_kb, write_result
from contracts import decode_batch
from contracts.transports import TransportOptions, open_subscriber


def _depth(db: Path) -> int:
    try:
        con = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=1)
        try:
            return int(con.execute("SELECT COUNT(*) FROM outbox").fetchone()[0])
        finally:
            con.close()
    except sqlite3.Error:
        return 0


def _committed(db: Path) -> int:
    con = sqlite3.connect(db)
    try:
        row = con.execute("SELECT seq FROM sqlite_sequence WHERE name = 'outbox'").fetchone()
        return int(row[0]) if row else 0
    finally:
        con.close()


def _growth_per_min(samples: list[tuple[float, int]]) -> float:
    """Least-squares slope of RSS (MiB) over time (minutes)."""
    if len(samples) < 2:
        return 0.0
    xs = [t / 60 for t, _ in samples]
    ys = [kb / 1024 for _, kb in samples]
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    den = sum((x - mx) ** 2 for x in xs) or 1.0
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / den


class _Side:
    """One agent process, its private broker and a persistent collector."""

    def __init__(self, name: str, port: int, directory: Path, source: str) -> None:
        from tests.harness.servers import MosquittoServer

        self.broker = MosquittoServer(port=port)
        self.broker.wipe()
        self.broker.start()
        self.node = f"{name}{uuid.uuid4().hex[:6]}"
        self.db = directory / f"{self.node}.db"
        self.got: set[uuid.UUID] = set()
        self.sub = open_subscriber(
            self.broker.url,
            [f"fednids/v1/{self.node}/+"],
            group="",
            options=TransportOptions(client_id=f"col-{self.node}", session_expiry_s=7200),
        )
        self.sub.wait_subscribed(15)  # type: ignore[attr-defined]
        self.stop = threading.Event()
        self._t = threading.Thread(target=self._collect, daemon=True)
        self._t.start()
        cmd = [sys.executable, "-m", "fednids", "agent", "run", "--node-id", self.node]
        self.agent = subprocess.Popen(
            [*cmd, "--mqtt", self.broker.url, "--outbox", str(self.db), "--source", source],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self.rss: list[tuple[float, int]] = []

    def _collect(self) -> None:
        while not self.stop.is_set():
            msgs = self.sub.poll(0.2)
            for m in msgs:
                self.got.update(
                    e.event_id
                    for e in decode_batch(m.value)
                    if getattr(e, "reason", None) != "last_will"  # the broker's, not a row
                )
            self.sub.ack(msgs)

    def sample(self, t: float) -> None:
        self.rss.append((t, rss_kb(self.agent.pid)))

    def finish(self) -> dict[str, Any]:
        self.agent.send_signal(signal.SIGINT)
        try:
            self.agent.wait(60)
        except subprocess.TimeoutExpired:
            self.agent.kill()
        committed = _committed(self.db)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and len(self.got) < committed:
            time.sleep(0.5)
        self.stop.set()
        self._t.join(5)
        self.sub.close()
        self.broker.stop()
        return {
            "agent_exit_code": self.agent.returncode,
            "rows_committed": committed,
            "events_received": len(self.got),
            "events_lost": max(0, committed - len(self.got)),
        }


def _rss_summary(samples: list[tuple[float, int]], t0: float, t1: float) -> dict[str, Any]:
    window = [(t, kb) for t, kb in samples if t0 <= t <= t1]
    kbs = [kb for _, kb in window]
    return {
        "rss_mb_at_outage_start": round(kbs[0] / 1024, 1) if kbs else None,
        "rss_mb_max_in_outage": round(max(kbs) / 1024, 1) if kbs else None,
        "rss_mb_at_outage_end": round(kbs[-1] / 1024, 1) if kbs else None,
        "rss_growth_mb_per_min_in_outage": round(_growth_per_min(window), 2),
    }


def run(minutes: float, warmup_s: float, speed: float, port: int = 21968) -> dict[str, Any]:
    outage_s = minutes * 60
    duration = int((warmup_s + outage_s + 300) * speed)
    source = f"sim:mixed?seed=3&duration={duration}&speed={speed}"
    with tempfile.TemporaryDirectory(prefix="agent-outage-") as tmp:
        sides = [_Side("ao", port, Path(tmp), source), _Side("ac", port + 1, Path(tmp), source)]
        outage, control = sides
        t0 = time.monotonic()
        depths: list[int] = []
        try:
            while time.monotonic() - t0 < warmup_s:
                for s in sides:
                    s.sample(time.monotonic() - t0)
                time.sleep(2)
            outage.broker.stop()
            t_down = time.monotonic() - t0
            while time.monotonic() - t0 < t_down + outage_s:
                for s in sides:
                    s.sample(time.monotonic() - t0)
                depths.append(_depth(outage.db))
                time.sleep(2)
            t_up = time.monotonic() - t0
            outage.broker.start()
            while time.monotonic() - t0 < t_up + 300 and _depth(outage.db) > 50:
                time.sleep(1)
            drain_s = time.monotonic() - t0 - t_up
            results = [s.finish() for s in sides]
        finally:
            for s in sides:
                if s.agent.poll() is None:
                    s.agent.kill()
                s.broker.stop()
    return {
        "benchmark": "agent_outage",
        "outage_minutes": minutes,
        "sim_speed": speed,
        "outage_agent": {
            **_rss_summary(outage.rss, t_down, t_up),
            "outbox_depth_at_outage_end": depths[-1] if depths else 0,
            "drain_after_broker_back_s": round(drain_s, 1),
            **results[0],
        },
        "control_agent_broker_up": {**_rss_summary(control.rss, t_down, t_up), **results[1]},
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.agent_outage")
    add_json_arg(ap)
    ap.add_argument("--minutes", type=float, default=5.0)
    ap.add_argument("--warmup", type=float, default=30.0)
    ap.add_argument("--speed", type=float, default=5.0)
    args = ap.parse_args(argv)
    result = run(args.minutes, args.warmup, args.speed)
    sys.stdout.write(write_result(args.json, result) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
