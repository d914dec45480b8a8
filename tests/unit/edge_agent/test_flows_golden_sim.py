"""Golden flows of a small simulated capture: simulator -> pcap file -> parser -> flows.

Pins the simulator's bytes and the flow features end to end. The golden file keeps readable
per-label totals, the first rows in full and a digest of every row. Regenerate after an
intended change with FEDNIDS_UPDATE_GOLDEN=1.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections import Counter, defaultdict
from pathlib import Path

import pytest

from contracts import FLOW_FEATURES
from edge_agent.capture import write_pcap
from edge_agent.capture.sim import SimConfig, simulate
from edge_agent.pipeline import Pipeline

GOLDEN = Path(__file__).resolve().parents[2] / "fixtures" / "edge" / "sim_demo.flows.json"
CONFIG = SimConfig(scenario="demo", seed=2, hosts=3, duration=40, intensity=0.02)


def _summary(tmp_path: Path) -> dict:
    sim = simulate(CONFIG)
    pcap = tmp_path / "sim.pcap"
    write_pcap(pcap, sim.frames)
    labels = [f[3] for f in sim.frames]
    from edge_agent.capture.pcap import PcapSource

    src = PcapSource(pcap, labels=labels)
    pipe = Pipeline("golden", parse_stats=src.stats)
    flows = [e for p in src for e in pipe.feed(p) if e.kind == "flow"]
    flows += [e for e in pipe.close() if e.kind == "flow"]
    rows = [
        [e.src_ip, e.src_port, e.dst_ip, e.dst_port, e.proto, e.end_reason, e.label]
        + [round(e.start_ts, 6)]
        + [round(v, 6) for v in e.features]
        for e in flows
    ]
    per_label: dict[str, Counter] = defaultdict(Counter)
    fwd, bwd = FLOW_FEATURES.index("fwd_packets"), FLOW_FEATURES.index("bwd_packets")
    for e in flows:
        c = per_label[str(e.label)]
        c["flows"] += 1
        c["packets"] += int(e.features[fwd] + e.features[bwd])
        c[f"end_{e.end_reason}"] += 1
    return {
        "config": {k: getattr(CONFIG, k) for k in ("scenario", "seed", "hosts", "duration")},
        "frames": len(sim.frames),
        "pcap_sha256": hashlib.sha256(pcap.read_bytes()).hexdigest(),
        "infections": [[round(t, 6), a, v] for t, a, v in sim.infections],
        "counters": pipe.counters(),
        "per_label": {k: dict(sorted(v.items())) for k, v in sorted(per_label.items())},
        "columns": [
            "src",
            "sport",
            "dst",
            "dport",
            "proto",
            "end",
            "label",
            "start",
            *FLOW_FEATURES,
        ],
        "first_rows": rows[:8],
        "rows_sha256": hashlib.sha256(json.dumps(rows).encode()).hexdigest(),
    }


def test_simulated_capture_gives_the_golden_flows(tmp_path):
    got = _summary(tmp_path)
    if os.environ.get("FEDNIDS_UPDATE_GOLDEN") == "1":
        GOLDEN.write_text(json.dumps(got, indent=1) + "\n")
        pytest.skip("golden file regenerated")
    want = json.loads(GOLDEN.read_text())
    for key in ("config", "frames", "infections", "counters", "per_label", "first_rows"):
        assert got[key] == want[key], key  # readable differences first
    assert got["pcap_sha256"] == want["pcap_sha256"]
    assert got["rows_sha256"] == want["rows_sha256"]
