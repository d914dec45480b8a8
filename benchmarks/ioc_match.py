"""IOC matching benchmark: the sensor's threat-intel matcher with a 100k-indicator bundle over
the replay capture's flows, beside the agent's rules-only rate in the same run.

    python -m benchmarks.ioc_match --pcap P [--indicators 100000] [--json OUT]

The capture goes through the product's own pipeline (``edge_agent.pipeline.Pipeline`` with the
scorer ``edge_agent.agent.load_scorer`` builds, rules only), once as the baseline and once with
the :class:`~edge_agent.detectors.ioc.IocDetector` added (what ``load_detectors`` runs). The
bundle is synthetic (random addresses, /24 networks, domains, JA4s; documentation prefixes
excluded) plus 5 addresses and 5 DNS names the capture's flows contain, so hits happen (about a
third of the capture's flows touch one: its busiest servers); a second bundle of the same size
without them measures the look-ups alone.
Reported: the hub's bundle validation and signing times, the agent's install (verify, stream
the indicators, build the matcher) time and memory (tracemalloc: the matcher, and the peak);
flows matched per second by the detector alone (repeated passes over the recorded flows); and
packets/s and flows/s of the pipeline with and without it (best of ``--repeat`` each,
interleaved), and the matcher's per-flow look-up time as a share of the rules-only pipeline's
per-flow time (the figure least distorted by a loaded machine). Every time is the process's CPU time (``time.process_time``: what one core spent on it), which
other processes on a shared machine distort far less than wall time. The machine's load average is recorded: on a shared machine the figures are
only comparable within one run.
"""

from __future__ import annotations

import argparse
import gc
import os
import platform
import random
import statistics
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from benchmarks.common import add_json_arg, write_result
from contracts.events import FlowRecord
from contracts.indicator_wire import open_bundle, sign_bundle
from contracts.indicators import Indicator, IndicatorBundle
from contracts.signing import key_id
from edge_agent.agent import load_scorer
from edge_agent.capture.packet import ArpPacket, Packet, ParseStats, parse_frame
from edge_agent.capture.pcap import PcapSource
from edge_agent.detectors.ioc import IocDetector, IocMatcher
from edge_agent.flows import FlowConfig
from edge_agent.flows.flow import Flow
from edge_agent.pipeline import Pipeline
from edge_agent.settings import AgentSettings

FAR = 4_000_000_000.0


def read_packets(pcap: Path) -> list[Packet | ArpPacket]:
    stats, out = ParseStats(), []
    for linktype, ts, wirelen, data in PcapSource(pcap).frames():
        pkt = parse_frame(data, linktype, ts, wirelen, stats)
        if pkt is not None:
            out.append(pkt)
    return out


def replay(
    packets: list[Packet | ArpPacket], ioc: IocDetector | None, keep_flows: bool = False
) -> dict[str, Any]:
    work = Path(tempfile.mkdtemp(prefix="ioc-bench-"))
    settings = AgentSettings(node_id="bench", baseline=False, outbox_path=work / "o.db")
    dets: list[Any] = [load_scorer(settings), *([ioc] if ioc is not None else [])]
    pipe = Pipeline("bench", dets, FlowConfig(l7=True, community_id_seed=0))
    flows: list[FlowRecord] = []

    def keep(_flow: Flow, rec: FlowRecord) -> None:
        flows.append(rec)

    if keep_flows:
        pipe.on_flow_end = keep
    gc.collect()
    t0 = time.process_time()
    for pkt in packets:
        pipe.feed(pkt)
    pipe.close()
    s = time.process_time() - t0
    return {
        "seconds": round(s, 3),
        "packets_per_s": round(len(packets) / s),
        "flows_per_s": round(pipe.flows / s),
        "flows": pipe.flows,
        "ioc_events": pipe.by_detector.get("ioc", 0),
        **({"_flows": flows} if keep_flows else {}),
    }


def synthetic_bundle(
    n: int, flows: list[FlowRecord], seed: int = 1, hits: bool = True
) -> IndicatorBundle:
    rng = random.Random(seed)
    found: list[tuple[str, str]] = []
    for ip in [] if not hits else sorted({f.dst_ip for f in flows if ":" not in f.dst_ip})[:5]:
        found.append(("ipv4", ip))
    names = {f.dns.rrname.lower().rstrip(".") for f in flows if f.dns is not None}
    found += [("domain", d) for d in sorted(names) if d.count(".") >= 1 and hits][:5]
    values: dict[tuple[str, str], None] = dict.fromkeys(found)
    kinds = ["ipv4"] * 70 + ["cidr"] * 10 + ["domain"] * 18 + ["ja4"] * 2
    while len(values) < n:
        kind = rng.choice(kinds)
        a, b, c, d = (
            rng.randrange(1, 224),
            rng.randrange(256),
            rng.randrange(256),
            rng.randrange(256),
        )
        if a in (10, 127, 172, 192, 198, 203):  # keep the capture's private/test ranges clean
            continue
        if kind == "ipv4":
            v = f"{a}.{b}.{c}.{d}"
        elif kind == "cidr":
            v = f"{a}.{b}.{c}.0/24"
        elif kind == "domain":
            v = f"h{rng.randrange(10**9)}.bad{rng.randrange(1000)}.example"
        else:
            v = f"t13d{rng.randrange(10**4):04d}h2_{rng.randrange(16**12):012x}_{rng.randrange(16**12):012x}"
        values.setdefault((kind, v), None)
    inds = [
        Indicator(type=k, value=v, sources=["bench"], confidence=80, expires_at=FAR)  # type: ignore[arg-type]
        for k, v in values
    ]
    now = time.time()
    return IndicatorBundle(version=1, created_at=now, expires_at=FAR, indicators=inds)


def run(pcap: Path, n: int, repeat: int) -> dict[str, Any]:
    packets = read_packets(pcap)
    base = replay(packets, None, keep_flows=True)
    flows: list[FlowRecord] = base.pop("_flows")
    t0 = time.process_time()
    bundle = synthetic_bundle(n, flows)
    t_bundle = time.process_time() - t0
    key = Ed25519PrivateKey.generate()
    t0 = time.process_time()
    manifest, parts = sign_bundle(bundle, key)
    t_sign = time.process_time() - t0
    trusted = {key_id(key.public_key()): key.public_key()}
    del bundle  # what the agent does from here on: verify, stream, build
    t0 = time.process_time()
    verified = open_bundle(manifest, parts, trusted)
    matcher = IocMatcher.build(manifest.version, verified.indicators())
    t_install = time.process_time() - t0
    del verified
    tracemalloc.start()
    again = IocMatcher.build(manifest.version, open_bundle(manifest, parts, trusted).indicators())
    mem_now, mem_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    del again
    # the matcher alone (look-ups only), then the detector (suppression off: every hit is an
    # AnomalyEvent), repeated over the recorded flows
    now = time.time()
    passes = max(1, 200_000 // max(1, len(flows)))
    t0 = time.process_time()
    for _ in range(passes):
        for f in flows:
            matcher.match_flow(f, now)
    t_lookup = time.process_time() - t0
    det = IocDetector(matcher, suppress_s=0.0)
    t0 = time.process_time()
    events = 0
    for _ in range(passes):
        for f in flows:
            events += len(det.on_flow(f))
    t_match = time.process_time() - t0
    quiet = IocMatcher(synthetic_bundle(n, flows, hits=False))  # the same size, no hits
    rules_runs, ioc_runs, quiet_runs = [], [], []
    for _ in range(repeat):  # interleaved, all after the set-up (same heap)
        rules_runs.append(replay(packets, None))
        ioc_runs.append(replay(packets, IocDetector(matcher)))
        quiet_runs.append(replay(packets, IocDetector(quiet)))
    best_rules = max(rules_runs, key=lambda r: r["packets_per_s"])
    best_ioc = max(ioc_runs, key=lambda r: r["packets_per_s"])
    best_quiet = max(quiet_runs, key=lambda r: r["packets_per_s"])
    return {
        "benchmark": "ioc_match",
        "pcap": str(pcap),
        "packets": len(packets),
        "flows": len(flows),
        "indicators": manifest.count,
        "bundle": {
            "hub_validate_s": round(t_bundle, 3),
            "hub_sign_s": round(t_sign, 3),
            "agent_verify_stream_build_s": round(t_install, 3),
            "agent_matcher_mb": round(mem_now / 1e6, 1),
            "agent_install_peak_mb": round(mem_peak / 1e6, 1),
            "compressed_bytes": manifest.size_bytes,
            "parts": len(parts),
        },
        "matcher_alone": {
            "flows_matched_per_s": round(passes * len(flows) / t_lookup),
        },
        "detector_alone": {
            "flows_matched": passes * len(flows),
            "flows_matched_per_s": round(passes * len(flows) / t_match),
            "hit_events": events // passes,
        },
        "median_packets_per_s": {
            "rules_only": statistics.median(r["packets_per_s"] for r in rules_runs),
            "rules_plus_ioc": statistics.median(r["packets_per_s"] for r in ioc_runs),
            "rules_plus_ioc_no_hits": statistics.median(r["packets_per_s"] for r in quiet_runs),
        },
        "runs_packets_per_s": {
            "rules_only": [r["packets_per_s"] for r in rules_runs],
            "rules_plus_ioc": [r["packets_per_s"] for r in ioc_runs],
            "rules_plus_ioc_no_hits": [r["packets_per_s"] for r in quiet_runs],
        },
        "pipeline_rules_only": best_rules,
        "pipeline_rules_plus_ioc": best_ioc,
        "pipeline_rules_plus_ioc_no_hits": best_quiet,
        "lookup_share_of_flow_cost_pct": round(
            100 * (t_lookup / (passes * len(flows))) / (best_rules["seconds"] / len(flows)), 2
        ),
        "ioc_cost_pct": round(
            100 * (1 - best_ioc["packets_per_s"] / best_rules["packets_per_s"]), 1
        ),
        "ioc_cost_no_hits_pct": round(
            100 * (1 - best_quiet["packets_per_s"] / best_rules["packets_per_s"]), 1
        ),
        "machine": {
            "python": sys.version.split()[0],
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
            "loadavg_1m": round(os.getloadavg()[0], 2),
            "note": "CPU time of this process; on a shared machine compare figures of one run only",
        },
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pcap", type=Path, required=True)
    ap.add_argument("--indicators", type=int, default=100_000)
    ap.add_argument("--repeat", type=int, default=2)
    add_json_arg(ap)
    args = ap.parse_args(argv)
    result = run(args.pcap, args.indicators, args.repeat)
    print(write_result(args.json, result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
