"""Cost of the passive device inventory on the sensor's data plane, one core.

    python -m benchmarks.inventory_cost --pcap P [--rounds 3] [--scorer] [--json OUT]

The capture is parsed once into memory; then the same packets go through a fresh
:class:`edge_agent.pipeline.Pipeline` (flow table, L7 taps, Community ID as shipped) with the
inventory off and on, alternately, ``--rounds`` times each in the same process (so a loaded
machine slows both alike). ``--scorer`` adds the agent's rules-only scorer (the full stack
costs more per packet, so the inventory's share is smaller). Reports packets/s of each (the
best round), the relative cost, and what the inventory found (assets, by kind of evidence).
Because on a shared machine two whole replays differ by more than the inventory costs, it
also records every call the pipeline makes on the inventory and replays those calls alone
(``inventory_alone_seconds``, best round), against the pipeline's best time without it.
"""

from __future__ import annotations

import argparse
import os
import time
from collections import Counter
from pathlib import Path
from typing import Any

from benchmarks.common import add_json_arg, write_result
from contracts.events import AssetRecord, FlowRecord
from edge_agent.capture.packet import ArpPacket, Packet
from edge_agent.capture.pcap import PcapSource
from edge_agent.detectors.base import Detector
from edge_agent.inventory import AssetTracker
from edge_agent.pipeline import Pipeline


def _detectors(scorer: bool) -> list[Detector]:
    if not scorer:
        return []
    from edge_agent.detectors.scorer import EdgeScorer
    from edge_agent.rules import RuleEngine

    return [EdgeScorer(RuleEngine(None), None, None)]


def replay(packets: list[Packet | ArpPacket], inventory: bool, scorer: bool) -> dict[str, Any]:
    inv = AssetTracker("bench") if inventory else None
    pipe = Pipeline("bench", _detectors(scorer), inventory=inv)
    records = 0
    t0 = time.perf_counter()
    for pkt in packets:
        for ev in pipe.feed(pkt):
            records += isinstance(ev, AssetRecord)
    records += sum(isinstance(ev, AssetRecord) for ev in pipe.close())
    seconds = time.perf_counter() - t0
    out: dict[str, Any] = {"seconds": seconds, "packets_per_second": len(packets) / seconds}
    if inv is not None:
        found: Counter[str] = Counter()
        for a in inv.assets.values():
            found["with_mac" if a.mac is not None else "ip_only"] += 1
            found["with_vendor"] += a.vendor is not None
            found["with_dhcp_hostname"] += a.hostname is not None
            found["with_mdns_names"] += bool(a.names)
            found["with_ssdp"] += a.ssdp_server is not None or bool(a.usn)
            found["with_services"] += bool(a.services)
        out |= {"asset_records": records, "assets": dict(found), "counters": inv.counters()}
    return out


class _Recorder(AssetTracker):
    """Records every call the pipeline makes on the inventory, in order (to replay alone)."""

    def __init__(self) -> None:
        super().__init__("bench")
        self.calls: list[tuple[str, Any]] = []

    def on_arp(self, pkt: ArpPacket) -> None:
        self.calls.append(("on_arp", pkt))

    def on_packet(self, pkt: Packet) -> None:
        self.calls.append(("on_packet", pkt))

    def on_flow(self, rec: FlowRecord) -> None:
        self.calls.append(("on_flow", rec))

    def on_tick(self, now: float) -> list[AssetRecord]:
        self.calls.append(("on_tick", now))
        return []

    def flush(self, now: float) -> list[AssetRecord]:
        self.calls.append(("flush", now))
        return []


def inventory_alone(calls: list[tuple[str, Any]]) -> float:
    """Seconds the inventory itself takes for the calls a replay makes on it."""
    inv = AssetTracker("bench")
    bound = [(getattr(inv, name), arg) for name, arg in calls]
    t0 = time.perf_counter()
    for fn, arg in bound:
        fn(arg)
    return time.perf_counter() - t0


def main() -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--pcap", type=Path, required=True)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--scorer", action="store_true", help="with the rules-only edge scorer")
    ap.add_argument("--all-cores", action="store_true", help="do not pin to one core")
    add_json_arg(ap)
    args = ap.parse_args()
    if not args.all_cores and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})
    packets = [p for p in PcapSource(args.pcap) if p is not None]
    runs: dict[bool, list[dict[str, Any]]] = {False: [], True: []}
    for _ in range(max(1, args.rounds)):
        for enabled in (False, True):
            runs[enabled].append(replay(packets, enabled, args.scorer))
    rec = _Recorder()
    pipe = Pipeline("bench", _detectors(args.scorer), inventory=rec)
    for pkt in packets:
        pipe.feed(pkt)
    pipe.close()
    alone = min(inventory_alone(rec.calls) for _ in range(max(1, args.rounds)))
    off = max(runs[False], key=lambda r: r["packets_per_second"])
    on = max(runs[True], key=lambda r: r["packets_per_second"])
    result = {
        "pcap": str(args.pcap),
        "packets": len(packets),
        "rounds": args.rounds,
        "scorer": args.scorer,
        "inventory_off_packets_per_second": round(off["packets_per_second"]),
        "inventory_on_packets_per_second": round(on["packets_per_second"]),
        "inventory_cost_percent": round(
            100 * (1 - on["packets_per_second"] / off["packets_per_second"]), 1
        ),
        "inventory_alone_seconds": round(alone, 4),
        "inventory_alone_share_of_pipeline_percent": round(100 * alone / off["seconds"], 1),
        "inventory_calls": dict(Counter(name for name, _ in rec.calls)),
        "all_rounds_pps": {
            "off": [round(r["packets_per_second"]) for r in runs[False]],
            "on": [round(r["packets_per_second"]) for r in runs[True]],
        },
        "asset_records_published": on["asset_records"],
        "assets": on["assets"],
        "counters": on["counters"],
        "load_average": os.getloadavg(),
    }
    print(write_result(args.json, result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
