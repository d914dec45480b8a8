"""What L7 metadata and Community ID cost the edge agent, one command, JSON output.

    python -m benchmarks.l7_cost --pcap /work/replay/replay_bench.pcap [--reps 3] [--json OUT]

1. The flow assembly alone (:class:`edge_agent.pipeline.Pipeline`, no detectors) over the
   whole capture, in four modes interleaved ``--reps`` times in the same process: nothing,
   Community ID only, L7 metadata only, both; packets/s (best of the repetitions) of each.
2. Each extractor on its own (also on each ``--extractor-pcap``, e.g. a capture with TLS
   payloads when the main one has none): the payload packets the flow table would hand a tap (the first
   ones of each flow, both directions, up to the tap's budget) are collected once, sorted by
   what the tap found (dns, tls, http, ssh, none), and replayed through fresh taps; the
   Community ID of every flow's first packet likewise. Microseconds per flow and the share of
   the bare replay's time on this capture.

Pinned to one core (``--all-cores`` not to). The machine may be shared: compare the modes of
one run with each other, not with figures of another run.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import time
from collections import defaultdict
from pathlib import Path

from edge_agent.capture.l7 import L7Stats
from edge_agent.capture.l7.tap import MAX_PAYLOAD_PACKETS, Tap, wants
from edge_agent.capture.packet import Packet
from edge_agent.capture.pcap import PcapSource
from edge_agent.flows import FlowConfig
from edge_agent.flows.community import CommunityIds
from edge_agent.pipeline import Pipeline

MODES = {
    "off": FlowConfig(l7=False, community_id_seed=None),
    "community_id": FlowConfig(l7=False, community_id_seed=0),
    "l7": FlowConfig(l7=True, community_id_seed=None),
    "both": FlowConfig(l7=True, community_id_seed=0),
}
FlowKey = tuple[bytes, bytes, int, int, int]


def _key(p: Packet) -> FlowKey:
    if (p.src, p.sport) <= (p.dst, p.dport):
        return p.src, p.dst, p.sport, p.dport, p.proto
    return p.dst, p.src, p.dport, p.sport, p.proto


def replay(packets: list[Packet], config: FlowConfig) -> tuple[float, dict[str, int]]:
    pipe = Pipeline("cost", [], config)
    t0 = time.process_time()
    for p in packets:
        pipe.feed(p)
    pipe.close()
    return time.process_time() - t0, pipe.counters()


def flows_of(packets: list[Packet]) -> tuple[list[Packet], list[list[tuple[Packet, bool]]]]:
    """Each flow's first packet, and its first payload packets (what a tap would be fed)."""
    first: dict[FlowKey, Packet] = {}
    feeds: dict[FlowKey, list[tuple[Packet, bool]]] = defaultdict(list)
    for p in packets:
        k = _key(p)
        f = first.setdefault(k, p)
        if p.payload and p.data and wants(f.proto, f.sport, f.dport):
            got = feeds[k]
            if len(got) < MAX_PAYLOAD_PACKETS:
                got.append((p, p.src == f.src and p.sport == f.sport))
    return list(first.values()), [feeds.get(k, []) for k in first]


def _tap_run(first: Packet, feed: list[tuple[Packet, bool]], stats: L7Stats) -> str:
    tap = Tap(stats, first.proto, first.sport, first.dport)
    for p, fwd in feed:
        if tap.feed(p, fwd):
            break
    found = tap.result()
    return found[0] if found is not None else "none"


def extractor_costs(packets: list[Packet], reps: int) -> dict[str, dict[str, float]]:
    firsts, feeds = flows_of(packets)
    by_kind: dict[str, list[int]] = defaultdict(list)
    for i, (f, feed) in enumerate(zip(firsts, feeds, strict=True)):
        if feed:
            by_kind[_tap_run(f, feed, L7Stats())].append(i)
    out: dict[str, dict[str, float]] = {}
    for kind, idx in sorted(by_kind.items()):
        best = min(_taps_time([(firsts[i], feeds[i]) for i in idx]) for _ in range(reps))
        out[kind] = {
            "flows": len(idx),
            "payload_packets": sum(len(feeds[i]) for i in idx),
            "us_per_flow": round(best / len(idx) * 1e6, 2),
            "seconds_on_capture": round(best, 4),
        }
    ids = CommunityIds(0)
    best = min(_timed(lambda: [ids.of(f) for f in firsts]) for _ in range(reps))
    out["community_id"] = {
        "flows": len(firsts),
        "us_per_flow": round(best / len(firsts) * 1e6, 2),
        "seconds_on_capture": round(best, 4),
    }
    return out


def _taps_time(work: list[tuple[Packet, list[tuple[Packet, bool]]]]) -> float:
    t0 = time.process_time()
    for first, feed in work:
        _tap_run(first, feed, L7Stats())
    return time.process_time() - t0


def _timed(fn: object) -> float:
    t0 = time.process_time()
    fn()  # type: ignore[operator]
    return time.process_time() - t0


def main() -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--pcap", type=Path, required=True)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument(
        "--extractor-pcap",
        type=Path,
        action="append",
        default=[],
        help="also time each extractor on this capture (e.g. one with TLS payloads); repeatable",
    )
    ap.add_argument("--json", type=Path)
    ap.add_argument("--all-cores", action="store_true")
    args = ap.parse_args()
    if not args.all_cores and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})
    packets = [p for p in PcapSource(args.pcap) if isinstance(p, Packet)]
    times: dict[str, list[float]] = defaultdict(list)
    counters: dict[str, dict[str, int]] = {}
    for _ in range(args.reps):
        for mode, cfg in MODES.items():
            secs, counters[mode] = replay(packets, cfg)
            times[mode].append(secs)
    pps = {m: round(len(packets) / min(t)) for m, t in times.items()}
    base = min(times["off"])
    costs = extractor_costs(packets, args.reps)
    for c in costs.values():
        c["share_of_bare_replay"] = round(c["seconds_on_capture"] / base, 4)
    others = {
        str(extra): extractor_costs(
            [p for p in PcapSource(extra) if isinstance(p, Packet)], args.reps
        )
        for extra in args.extractor_pcap
    }
    out = {
        "pcap": str(args.pcap),
        "ip_packets": len(packets),
        "flows": counters["off"]["flows"],
        "packets_per_second": pps,
        "speed_vs_off": {m: round(v / pps["off"], 3) for m, v in pps.items()},
        "l7_found": {k: v for k, v in counters["both"].items() if k.startswith("l7_")},
        "extractors": costs,
        "extractors_on_other_captures": others,
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "reps": args.reps,
        "note": "flow assembly only (no detectors); CPU time of the process, best of reps; one core; machine shared",
    }
    text = json.dumps(out, indent=2)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(text + "\n")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
