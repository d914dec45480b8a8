"""Edge replay benchmark: the agent's own detection stack on a labelled capture, one core.

    python -m benchmarks.edge_replay --pcap P --labels L --train-packets N --json OUT [--lstm DIR] [--reps K]

The stack is what ``fednids agent run`` runs, built by the same function
(``edge_agent.agent.load_detectors``): rules, the node's baseline learned on the device (its
learning period: ``--learn-flows`` / ``--learn-hours``, defaults as shipped), the int8 LSTM
with ``--lstm``, and the host-window escalation, combined by
:class:`edge_agent.detectors.scorer.EdgeScorer`; beside it, as the agent ships (``--extras``,
default all): the IOC detector (with a 100,000-indicator bundle), the passive inventory and
the 32 MiB evidence ring, fed as ``Agent.run`` feeds them. ``--extras-compare`` replays once
more without each of them, and without all, for the cost of each. A packet's score is the scorer's score of the
flow it belongs to (``EdgeScorer.last_score`` when the flow ends). Metrics are computed on
packets N.. only (N = the capture's attack-free prefix; the learning period must end inside it,
``learning_ended_at_packet`` says where it did). The same run replays the capture once more with
the rules alone (the speed baseline). Compare with Kitsune in ../shared/data/PEER_BASELINES.md.

With ``--lstm`` the JSON also holds the LSTM's own metrics (``lstm.alone``: its error over the
node-learned scale). The LSTM model was trained elsewhere (see its metadata.json).
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import resource
import struct
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from contracts.events import FlowRecord
from edge_agent.agent import load_detectors
from edge_agent.capture.l7 import L7Stats
from edge_agent.capture.l7.tap import SHIPPED, Extractors, Starter, Tap, wants
from edge_agent.capture.l7.text import Malformed
from edge_agent.capture.packet import Packet, ParseStats, parse_frame
from edge_agent.capture.pcap import PcapSource
from edge_agent.detectors.ioc import IocDetector, IocMatcher
from edge_agent.detectors.scorer import EdgeScorer
from edge_agent.evidence import FrameRing
from edge_agent.flows import FlowConfig, FlowTable
from edge_agent.flows.community import CommunityIds
from edge_agent.flows.flow import Flow
from edge_agent.inventory import AssetTracker
from edge_agent.pipeline import Pipeline
from edge_agent.settings import AgentSettings


def load_labels(path: Path) -> tuple[np.ndarray, list[str]]:
    labels, attacks = [], []
    with path.open() as f:
        for row in csv.DictReader(f):
            labels.append(int(row["label"]))
            attacks.append(row["attack"])
    return np.array(labels, dtype=np.int8), attacks


def run(
    pcap: Path,
    train_packets: int,
    rules: Path | None,
    lstm_dir: Path | None,
    baseline: bool = True,
    learn_flows: int | None = None,
    learn_hours: float | None = None,
    l7: bool = True,
    extras: frozenset[str] = frozenset(),
    ioc_indicators: int = 100_000,
) -> dict:
    """Replay ``pcap`` through the agent's detectors (``edge_agent.agent.load_detectors``), with
    the parts of ``extras`` on as the agent runs them: ``inventory`` (the passive device
    inventory), ``ioc`` (the IOC detector with a bundle of ``ioc_indicators`` synthetic
    indicators, none of them in the capture: every flow, DNS answer and SNI is looked up, no
    hit event is built) and ``evidence`` (every frame into the agent's default 32 MiB ring). ``scores``: each packet's flow score;
    with ``lstm_dir``: ``lstm_errors`` (the flow's raw LSTM error), ``lstm_scores`` (over the
    node-learned scale) and ``lstm_src`` (the flow's source host) per packet."""
    work = Path(tempfile.mkdtemp(prefix="edge-replay-"))
    extra: dict = {}
    if learn_flows is not None:
        extra["learn_flows"] = learn_flows
    if learn_hours is not None:
        extra["learn_hours"] = learn_hours
    settings = AgentSettings(
        node_id="bench",
        source=f"pcap:{pcap}",
        rules_file=rules,
        model_dir=lstm_dir,
        baseline=baseline,
        outbox_path=work / "outbox.db",
        baseline_path=work / "baseline.json",
        l7=l7,
        inventory="inventory" in extras,
        ioc="ioc" in extras,
        evidence_mb=32.0 if "evidence" in extras else 0.0,
        **extra,
    )
    detectors = load_detectors(settings)
    scorer = next(d for d in detectors if isinstance(d, EdgeScorer))
    for det in detectors:
        if isinstance(det, IocDetector):
            det.install(_ioc_matcher(ioc_indicators))
    lstm = scorer.lstm
    flow_config = FlowConfig(l7=l7, community_id_seed=settings.community_id_seed if l7 else None)
    inventory = AssetTracker("bench") if settings.inventory else None
    ring = FrameRing.megabytes(settings.evidence_mb)
    pipe = Pipeline("bench", detectors, flow_config, inventory=inventory)
    n_flows = [0]  # flows are numbered through Flow.tag
    flow_score: list[float] = []
    flow_lstm: list[float] = []  # the LSTM's raw error of each flow
    flow_src: list[str] = []
    learned_at = [-1]
    packet_i = [0]

    def new_serial(flow: Flow) -> int:
        serial = flow.tag = n_flows[0]
        n_flows[0] += 1
        flow_score.append(0.0)
        flow_lstm.append(0.0)
        flow_src.append("")
        return serial

    def on_flow_end(flow: Flow, rec: FlowRecord) -> None:
        serial = flow.tag if flow.tag >= 0 else new_serial(flow)
        flow_score[serial] = scorer.last_score
        flow_src[serial] = rec.src_ip
        if lstm is not None:
            flow_lstm[serial] = lstm.last_error
        if learned_at[0] < 0 and scorer.baseline_state == "ready":
            learned_at[0] = packet_i[0]

    pipe.on_flow_end = on_flow_end
    src = PcapSource(pcap)
    stats = ParseStats()
    packet_flow: list[int] = []
    table = pipe.table
    t0, c0 = time.perf_counter(), time.process_time()
    for i, (linktype, ts, wirelen, data) in enumerate(src.frames()):
        packet_i[0] = i
        pkt = parse_frame(data, linktype, ts, wirelen, stats)
        if pkt is None:
            packet_flow.append(-1)
            continue
        if ring is not None:  # what Agent.run does before the pipeline sees the packet
            ring.add_packet(pkt, linktype)
        pipe.feed(pkt)
        if not isinstance(pkt, Packet):  # ARP: no flow
            packet_flow.append(-1)
            continue
        flow = table.last
        assert flow is not None  # the flow the packet just went into
        packet_flow.append(flow.tag if flow.tag >= 0 else new_serial(flow))
    pipe.close()
    seconds = time.perf_counter() - t0
    cpu_seconds = time.process_time() - c0
    pf = np.array(packet_flow)
    has_flow = pf >= 0
    scores = np.where(has_flow, np.array(flow_score)[np.maximum(pf, 0)], 0.0)
    b = scorer.baseline
    lstm_scale = b.lstm_scale if b is not None and b.lstm_scale else None
    if lstm is not None and lstm_scale is None:
        lstm_scale = lstm.threshold
    lstm_errors = np.where(has_flow, np.array(flow_lstm)[np.maximum(pf, 0)], 0.0)
    return {
        "scores": scores,
        "lstm_scores": lstm_errors / lstm_scale if lstm is not None and lstm_scale else None,
        "lstm_errors": lstm_errors if lstm is not None else None,
        "lstm_src": np.where(has_flow, np.array(flow_src, dtype=object)[np.maximum(pf, 0)], "")
        if lstm is not None
        else None,
        "lstm": None
        if lstm is None
        else {
            "model_dir": str(lstm_dir),
            "version": lstm.version,
            "flows_scored": lstm.scored,
            "scale": lstm_scale,
            "scale_source": "node-learned p99 of the learning period"
            if b is not None and b.lstm_scale
            else "model threshold",
        },
        "seconds": seconds,
        "cpu_seconds": cpu_seconds,
        "stats": stats.as_dict(),
        "counters": pipe.counters(),
        "extras": sorted(extras),
        "detectors": [str(getattr(d, "name", type(d).__name__)) for d in detectors],
        "evidence_ring": None
        if ring is None
        else {"frames": len(ring), "bytes": ring.nbytes, "evicted": ring.evicted},
        "rule_hits": dict(scorer.rules.hits),
        "baseline": None
        if b is None
        else {
            "state": b.state,
            "learned_flows": b.learned_flows,
            "learned_seconds": round(b.learned_seconds, 1),
            "learning_ended_at_packet": learned_at[0],
            "learn_flows": settings.learn_flows,
            "learn_hours": settings.learn_hours,
        },
        "events_by_detector": dict(pipe.by_detector),
    }


def metrics(y: np.ndarray, s: np.ndarray, att: np.ndarray) -> dict:
    """ROC AUC, detection at 1 % / 5 % FPR, and the AUC of each attack against all benign."""
    from sklearn.metrics import roc_auc_score, roc_curve

    fpr, tpr, _ = roc_curve(y, s)
    benign = y == 0
    per = {}
    for name in sorted(set(att[y == 1])):
        m = (att == name) & (y == 1)
        yy = np.concatenate([np.zeros(benign.sum()), np.ones(m.sum())])
        ss = np.concatenate([s[benign], s[m]])
        per[name] = {"packets": int(m.sum()), "auc": round(float(roc_auc_score(yy, ss)), 4)}
    return {
        "roc_auc": round(float(roc_auc_score(y, s)), 4),
        "detection_rate_at_1pct_fpr": round(detection_at(fpr, tpr, 0.01), 4),
        "detection_rate_at_5pct_fpr": round(detection_at(fpr, tpr, 0.05), 4),
        "auc_per_attack": per,
    }


def detection_at(fpr: np.ndarray, tpr: np.ndarray, f: float) -> float:
    ok = np.where(fpr <= f)[0]
    return float(tpr[ok[-1]]) if len(ok) else 0.0


def best_of(reps: int, replay: Callable[[], dict]) -> dict:
    """The fastest of ``reps`` replays (each one is deterministic: the same scores and
    counters; only the time differs on a shared machine)."""
    best = replay()
    for _ in range(reps - 1):
        again = replay()
        if again["seconds"] < best["seconds"]:
            best = again
    return best


def _signed_bundle(n: int) -> tuple[str, list[bytes], bytes]:
    """The hub's side, run in a child process (its memory is not the agent's): ``n``
    synthetic indicators (the IOC benchmark's bundle, no hits), signed and split into parts:
    (manifest JSON, parts, raw public key)."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    from benchmarks.ioc_match import synthetic_bundle
    from contracts.indicator_wire import sign_bundle

    key = Ed25519PrivateKey.generate()
    manifest, parts = sign_bundle(synthetic_bundle(n, [], hits=False), key)
    raw = key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    return manifest.model_dump_json(), parts, raw


_BUNDLES: dict[int, tuple[str, list[bytes], bytes]] = {}


def _ioc_matcher(n: int) -> IocMatcher:
    """What the agent installs: the signed parts verified and streamed into a matcher
    (``IocUpdater``), the bundle itself made once in a child process."""
    import multiprocessing

    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    from contracts.indicator_wire import BundleManifest, open_bundle
    from contracts.signing import key_id

    if n not in _BUNDLES:
        with multiprocessing.get_context("spawn").Pool(1) as pool:
            _BUNDLES[n] = pool.apply(_signed_bundle, (n,))
    manifest_json, parts, raw = _BUNDLES[n]
    public = Ed25519PublicKey.from_public_bytes(raw)
    manifest = BundleManifest.model_validate_json(manifest_json)
    verified = open_bundle(manifest, parts, {key_id(public): public})
    return IocMatcher.build(manifest.version, verified.indicators())


EXTRAS = ("inventory", "ioc", "evidence")


class _TapHolder:
    """What a :class:`Starter` needs of a flow (the shipped flow table's own flow is not
    handed a tap in this pass: its table runs with L7 off and only says which flow a packet is)."""

    __slots__ = ("dport", "l7", "proto", "sport", "tap")

    def __init__(self, proto: int, sport: int, dport: int) -> None:
        self.proto, self.sport, self.dport = proto, sport, dport
        self.tap: Tap | None = None
        self.l7: Tap | Starter | None = None


_CAUGHT = (Malformed, IndexError, ValueError, struct.error)
"""What the tap catches around its parsers (a call that raised is replayed raising)."""


def extractor_costs(pcap: Path, seed: int, reps: int, full_cpu_seconds: float | None) -> dict:
    """The CPU cost of each L7 extractor and of the Community ID over the replay, separately.

    One pass over ``pcap``: the shipped flow table (L7 off) says which flow each packet belongs
    to; each flow the table would tap gets a shipped :class:`Starter` as the table gives it,
    fed as :meth:`Flow.add` feeds it, with the shipped parsers wrapped to record what each one
    is handed (``Extractors``: no product object is patched). Then each parser is run again on
    its recorded inputs, ``reps`` times (the fastest kept, CPU time), as are the whole taps (a
    fresh one per flow, fed the same packets, with the shipped parsers) and
    :meth:`CommunityIds.of` on each new flow's first packet. ``share``: of the full stack's CPU
    seconds over the same packets (``full_cpu_seconds``; None: another capture's)."""
    calls: dict[str, list[tuple[Any, ...]]] = {name: [] for name in Extractors._fields}

    def recording(name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        record = calls[name].append

        def wrapped(*args: Any) -> Any:
            record(args)
            return fn(*args)

        return wrapped

    recorder = Extractors(**{n: recording(n, f) for n, f in SHIPPED._asdict().items()})
    stats, rec_stats = ParseStats(), L7Stats()
    starter = Starter(rec_stats, recorder)
    table = FlowTable(FlowConfig(l7=False, community_id_seed=None))
    holders: list[_TapHolder | None] = []
    feeds: list[tuple[int, Packet, bool]] = []  # (holder, packet, fwd) as Flow.add feeds taps
    firsts: list[tuple[Packet, object]] = []  # each new flow's first packet and table key
    for linktype, ts, wirelen, data in PcapSource(pcap).frames():
        pkt = parse_frame(data, linktype, ts, wirelen, stats)
        if not isinstance(pkt, Packet):
            continue
        table.add(pkt)
        flow = table.last
        assert flow is not None
        if flow.tag < 0:  # a new flow: what FlowTable.add does when it makes one
            flow.tag = len(holders)
            firsts.append((pkt, flow.key))
            tapped = bool(pkt.data) and wants(pkt.proto, pkt.sport, pkt.dport)
            holders.append(_TapHolder(flow.proto, flow.sport, flow.dport) if tapped else None)
            if tapped:
                holders[-1].l7 = starter  # type: ignore[union-attr]
        h = holders[flow.tag]
        if h is None or h.l7 is None or not pkt.payload:
            continue
        fwd = pkt.src == flow.src and pkt.sport == flow.sport
        feeds.append((flow.tag, pkt, fwd))
        if h.l7.feed(pkt, fwd, h):  # type: ignore[arg-type]
            h.l7 = None
    for h in holders:
        if h is not None and h.tap is not None:
            h.tap.result()

    def cpu(run_once: Callable[[], None]) -> float:
        best = float("inf")
        for _ in range(max(1, reps)):
            c0 = time.process_time()
            run_once()
            best = min(best, time.process_time() - c0)
        return best

    def replay_calls(fn: Callable[..., Any], args_list: list[tuple[Any, ...]]) -> None:
        for args in args_list:
            try:  # noqa: SIM105 - contextlib.suppress would add its own cost to each timed call
                fn(*args)
            except _CAUGHT:
                pass

    def replay_taps() -> None:
        st = Starter(L7Stats())
        hs = [_TapHolder(h.proto, h.sport, h.dport) if h is not None else None for h in holders]
        for h in hs:
            if h is not None:
                h.l7 = st
        for i, pkt, fwd in feeds:
            h = hs[i]
            if h is not None and h.l7 is not None and h.l7.feed(pkt, fwd, h):  # type: ignore[arg-type]
                h.l7 = None
        for h in hs:
            if h is not None and h.tap is not None:
                h.tap.result()

    def replay_cids() -> None:
        of = CommunityIds(seed).of
        for pkt, key in firsts:
            of(pkt, key)

    def row(n: int, seconds: float) -> dict:
        return {
            "calls": n,
            "cpu_seconds": round(seconds, 5),
            "us_per_call": round(seconds / n * 1e6, 2) if n else None,
            "share_of_full_stack": round(seconds / full_cpu_seconds, 4)
            if full_cpu_seconds
            else None,
        }

    out: dict[str, Any] = {
        name: row(len(calls[name]), cpu(lambda fn=fn, a=calls[name]: replay_calls(fn, a)))  # type: ignore[misc]
        for name, fn in SHIPPED._asdict().items()
    }
    out["tap_total"] = row(len(feeds), cpu(replay_taps))
    out["community_id"] = row(len(firsts), cpu(replay_cids))
    return {
        "extractors": out,
        "flows_with_l7": dict(rec_stats.parsed),
        "pcap": str(pcap),
        "full_stack_cpu_seconds": None if full_cpu_seconds is None else round(full_cpu_seconds, 3),
        "method": "one pass: the shipped flow table says each packet's flow, the shipped L7 taps "
        "are fed as Flow.add feeds them with the shipped parsers recording their inputs; then "
        "each parser (tls_hello: ClientHello reassembly, tls_parse: its fields, ja4: the "
        "fingerprint), the whole taps (tap_total, with metadata records) and CommunityIds.of "
        f"(each new flow) replayed on them, fastest of {max(1, reps)}, CPU time",
    }


def main() -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--pcap", type=Path, required=True)
    ap.add_argument("--labels", type=Path)
    ap.add_argument("--train-packets", type=int, default=0, help="metrics from this packet on")
    ap.add_argument("--rules", type=Path)
    ap.add_argument("--lstm", type=Path, help="model dir of the TFLite LSTM detector")
    ap.add_argument("--learn-flows", type=int, help="the agent's learning period (flows)")
    ap.add_argument("--learn-hours", type=float, help="the agent's learning period (hours)")
    ap.add_argument("--json", type=Path, required=True)
    ap.add_argument("--all-cores", action="store_true", help="do not pin to one core")
    ap.add_argument(
        "--reps", type=int, default=1, help="replay each stack this many times, keep the fastest"
    )
    ap.add_argument(
        "--no-l7",
        action="store_true",
        help="no L7 metadata (DNS/TLS/JA4/HTTP/SSH) and no community-id on flows (both runs)",
    )
    ap.add_argument(
        "--extras",
        default=",".join(EXTRAS),
        help="the agent's parts beside detection, on in every full-stack replay (default: all, "
        "as the agent ships): inventory, ioc (a 100,000-indicator bundle), evidence (32 MiB ring); "
        "'' for none",
    )
    ap.add_argument(
        "--extras-compare",
        action="store_true",
        help="replay once more with each extra off, and once with none: the cost of each",
    )
    ap.add_argument(
        "--l7-compare",
        action="store_true",
        help="replay once more with L7 metadata and community-id off: l7_off_packets_per_second",
    )
    ap.add_argument(
        "--no-extractor-costs",
        action="store_true",
        help="skip the pass that times each L7 extractor and the Community ID separately",
    )
    ap.add_argument(
        "--extractor-pcap",
        type=Path,
        help="time the extractors on this capture instead (e.g. one with TLS; no share then)",
    )
    args = ap.parse_args()
    if not args.all_cores and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})
    l7 = not args.no_l7
    rules_only = best_of(
        args.reps,
        lambda: run(args.pcap, args.train_packets, args.rules, None, baseline=False, l7=l7),
    )

    extras = frozenset(x for x in args.extras.split(",") if x)
    if extras - set(EXTRAS):
        ap.error(f"unknown extras {sorted(extras - set(EXTRAS))}; choose from {', '.join(EXTRAS)}")

    def full(l7_on: bool, on: frozenset[str] = extras) -> dict:
        return run(
            args.pcap,
            args.train_packets,
            args.rules,
            args.lstm,
            True,
            args.learn_flows,
            args.learn_hours,
            l7=l7_on,
            extras=on,
        )

    res = best_of(args.reps, lambda: full(l7))
    l7_off = best_of(args.reps, lambda: full(False)) if args.l7_compare and l7 else None
    without: dict[str, float] = {}
    if args.extras_compare and extras:
        for name in [*sorted(extras), "all_extras"]:
            on = frozenset() if name == "all_extras" else extras - {name}
            r = best_of(args.reps, lambda on=on: full(l7, on))  # type: ignore[misc]
            without[name] = r["seconds"]
    # peak of the replays themselves (the metrics below import scikit-learn, which the agent never does)
    peak_rss_mb = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    # after the peak is read: the pass keeps every extractor's inputs, which the agent never does
    costs = None
    if l7 and not args.no_extractor_costs:
        seed = AgentSettings(node_id="bench", source=f"pcap:{args.pcap}").community_id_seed
        other = args.extractor_pcap
        costs = extractor_costs(
            other or args.pcap, seed, args.reps, None if other else res["cpu_seconds"]
        )
        if other is None:  # the pass tapped the flows the replay did
            c = res["counters"]
            replay = {k[3:]: v for k, v in c.items() if k.startswith("l7_") and "skipped" not in k}
            costs["same_flows_as_replay"] = replay == costs["flows_with_l7"]
    n = len(res["scores"])
    pps = round(n / res["seconds"])
    rules_pps = round(n / rules_only["seconds"])
    out: dict = {
        "pcap": str(args.pcap),
        "packets": n,
        "stack": "edge_agent.agent.load_detectors: rules + baseline (learned on the capture)"
        + (" + int8 LSTM" if args.lstm else "")
        + " + host-window escalation"
        + "".join(f" + {x}" for x in sorted(extras)),
        "seconds": round(res["seconds"], 3),
        "cpu_seconds": round(res["cpu_seconds"], 3),
        "reps": args.reps,
        "packets_per_second": pps,
        "rules_only_packets_per_second": rules_pps,
        "speed_vs_rules_only": round(pps / max(rules_pps, 1), 3),
        "l7_metadata_and_community_id": l7,
        "extras": sorted(extras),
        "evidence_ring": res["evidence_ring"],
        **(
            {
                "without_extra_packets_per_second": {k: round(n / v) for k, v in without.items()},
                "extra_cost_us_per_packet": {
                    k: round((res["seconds"] - v) / n * 1e6, 2) for k, v in without.items()
                },
            }
            if without
            else {}
        ),
        **(
            {
                "l7_off_packets_per_second": round(n / l7_off["seconds"]),
                "speed_vs_l7_off": round(pps / max(round(n / l7_off["seconds"]), 1), 3),
            }
            if l7_off is not None
            else {}
        ),
        "peak_rss_mb": peak_rss_mb,
        **({"l7_extractor_costs": costs} if costs is not None else {}),
        "train_packets": args.train_packets,
        "baseline": res["baseline"],
        "lstm": res["lstm"],
        "parse": res["stats"],
        "pipeline": res["counters"],
        "rule_hits": res["rule_hits"],
        "events_by_detector": res["events_by_detector"],
        "machine": {
            "python": platform.python_version(),
            "cpu": platform.processor() or platform.machine(),
            "cores_used": 1 if not args.all_cores else os.cpu_count(),
        },
    }
    if args.labels:
        labels, attacks = load_labels(args.labels)
        if len(labels) != n:
            print(f"labels have {len(labels)} rows, the capture {n} frames", file=sys.stderr)
            return 2
        sel = np.arange(n) >= args.train_packets
        out.update(metrics(labels[sel], res["scores"][sel], np.array(attacks)[sel]))
        out["scored_packets"] = int(sel.sum())
        out["rules_only"] = metrics(labels[sel], rules_only["scores"][sel], np.array(attacks)[sel])
        if res["lstm"] is not None:
            lstm_alone = metrics(labels[sel], res["lstm_scores"][sel], np.array(attacks)[sel])
            out["lstm"] = {**res["lstm"], "alone": lstm_alone}
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(out, indent=2) + "\n")
    print(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
