"""Golden pcap -> flows: the flow assembler's output for a capture the test makes itself.

Regenerate the golden file after an intended change with FEDNIDS_UPDATE_GOLDEN=1.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from contracts import FLOW_FEATURES, decode, encode
from edge_agent.capture import open_source, write_pcap
from edge_agent.pipeline import Pipeline
from tests.unit.edge_agent.fixtures import golden_frames

GOLDEN = Path(__file__).resolve().parents[2] / "fixtures" / "edge" / "golden_flows.json"


def _rows(pcap: Path) -> tuple[list[dict], dict[str, int]]:
    src = open_source(f"pcap:{pcap}")
    pipe = Pipeline("golden")
    events = [e for pkt in src for e in pipe.feed(pkt)] + pipe.close()
    rows = []
    for ev in events:
        rows.append(
            {
                "src": f"{ev.src_ip}:{ev.src_port}",
                "dst": f"{ev.dst_ip}:{ev.dst_port}",
                "proto": ev.proto,
                "end_reason": ev.end_reason,
                "duration": round(ev.end_ts - ev.start_ts, 6),
                "features": {
                    n: round(v, 6) for n, v in zip(FLOW_FEATURES, ev.features, strict=True)
                },
            }
        )
    return rows, src.stats.as_dict()


def test_golden_pcap_gives_the_expected_flows(tmp_path):
    # prepare
    pcap = tmp_path / "golden.pcap"
    write_pcap(pcap, golden_frames())
    # execute
    rows, stats = _rows(pcap)
    got = {"flows": rows, "parse": stats}
    # assert
    if os.environ.get("FEDNIDS_UPDATE_GOLDEN") == "1":
        GOLDEN.parent.mkdir(parents=True, exist_ok=True)
        GOLDEN.write_text(json.dumps(got, indent=1, sort_keys=True) + "\n")
        pytest.skip("golden file regenerated")
    assert got == json.loads(GOLDEN.read_text())


def test_golden_flows_have_the_expected_shape(tmp_path):
    pcap = tmp_path / "golden.pcap"
    write_pcap(pcap, golden_frames())
    rows, stats = _rows(pcap)
    reasons = sorted(r["end_reason"] for r in rows)
    assert reasons.count("fin") == 1 and reasons.count("rst") == 2 and "idle" in reasons
    https = next(
        r for r in rows if r["dst"].endswith(":443") and r["proto"] == 6 and "." in r["src"]
    )
    assert https["features"]["fwd_packets"] == 4 and https["features"]["bwd_packets"] == 3
    assert https["features"]["syn_count"] == 2 and https["features"]["fin_count"] == 2
    assert any(r["src"].startswith("2001:db8::1") for r in rows), "IPv6 flow missing"
    assert stats["skipped_truncated"] == 2 and stats["skipped_arp_bad_header"] == 1


def test_flow_records_from_the_fast_path_are_valid_contracts(tmp_path):
    pcap = tmp_path / "golden.pcap"
    write_pcap(pcap, golden_frames())
    pipe = Pipeline("pi-1")
    events = [e for pkt in open_source(f"pcap:{pcap}") for e in pipe.feed(pkt)] + pipe.close()
    for ev in events:
        assert decode(encode(ev)) == ev  # model_construct output passes full validation
