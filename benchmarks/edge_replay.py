"""Edge replay benchmark: parse -> flows -> features -> rules + learned novelty (-> LSTM),
on one core, no network. Per-packet scores against per-packet labels.

    python benchmarks/edge_replay.py --pcap P --labels L --train-packets N --json OUT

A packet's score is the score of its flow: rule hits plus the novelty model (fitted only
on the flows that ended within the first N packets, which must be attack-free). Metrics are
computed on packets N.. only. Compare with Kitsune in ../shared/data/PEER_BASELINES.md.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import resource
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from edge_agent.capture.packet import ParseStats, parse_frame
from edge_agent.capture.pcap import PcapSource
from edge_agent.detectors.novelty import NoveltyModel
from edge_agent.pipeline import Pipeline
from edge_agent.rules import RuleEngine

HOST_WINDOW_S = 60.0


def load_labels(path: Path) -> tuple[np.ndarray, list[str]]:
    labels, attacks = [], []
    with path.open() as f:
        for row in csv.DictReader(f):
            labels.append(int(row["label"]))
            attacks.append(row["attack"])
    return np.array(labels, dtype=np.int8), attacks


def run(pcap: Path, train_packets: int, rules: Path | None, lstm_dir: Path | None) -> dict:
    engine = RuleEngine(rules)
    detectors: list = [engine]
    lstm = None
    if lstm_dir is not None:
        from edge_agent.detectors.lstm import LstmDetector  # type: ignore[import-not-found]

        lstm = LstmDetector.load(lstm_dir)  # pragma: no cover - when the LSTM exists
        detectors.append(lstm)
    pipe = Pipeline("bench", detectors)
    flow_serial: dict[int, int] = {}
    keep: list = []  # keeps flow objects alive so id() stays unique
    flow_score: list[float] = []
    train_flows: list = []
    model: NoveltyModel | None = None
    state = {"training": True}
    host_alarm: dict[tuple[bytes, int], float] = {}
    weights = {"info": 0.5, "low": 1.0, "medium": 5.0, "high": 10.0, "critical": 10.0}
    severity_weight = {
        r.id: weights[r.severity] for r in [*engine.flow_rules, *engine.beacon_rules]
    }

    def on_flow_end(flow, rec) -> None:
        serial = flow_serial.get(id(flow))
        if serial is None:
            serial = flow_serial[id(flow)] = len(keep)
            keep.append(flow)
            flow_score.append(0.0)
        if state["training"]:
            train_flows.append(rec)
            return
        s = model.flow_score(rec) if model else 0.0
        if engine.last_matches:
            s += max(severity_weight[r] for r in engine.last_matches)
            # the host windows this flow spans are flagged with its score
            for host in (flow.src, flow.dst):
                for w in range(
                    int(flow.first_ts // HOST_WINDOW_S), int(flow.last_ts // HOST_WINDOW_S) + 1
                )[:10]:
                    if s > host_alarm.get((host, w), 0.0):
                        host_alarm[(host, w)] = s
        flow_score[serial] = s

    pipe.on_flow_end = on_flow_end
    src = PcapSource(pcap)
    stats = ParseStats()
    packet_flow: list[int] = []
    packet_hosts: list[tuple[bytes, bytes, int] | None] = []
    table = pipe.table
    t0 = time.perf_counter()
    fit_s = 0.0
    for i, (linktype, ts, wirelen, data) in enumerate(src.frames()):
        if i == train_packets:
            f0 = time.perf_counter()
            model = NoveltyModel.fit_flows(train_flows) if len(train_flows) >= 10 else None
            fit_s = time.perf_counter() - f0
            state["training"] = False
        pkt = parse_frame(data, linktype, ts, wirelen, stats)
        if pkt is None:
            packet_flow.append(-1)
            packet_hosts.append(None)
            continue
        packet_hosts.append((pkt.src, pkt.dst, int(pkt.ts // HOST_WINDOW_S)))
        pipe.feed(pkt)
        flow = table.last
        serial = flow_serial.get(id(flow))
        if serial is None:
            serial = flow_serial[id(flow)] = len(keep)
            keep.append(flow)
            flow_score.append(0.0)
        packet_flow.append(serial)
    pipe.close()
    scores_by_flow = np.array(flow_score)
    pf = np.array(packet_flow)
    scores = np.where(pf >= 0, scores_by_flow[np.maximum(pf, 0)], 0.0)
    # window score: a packet of a host whose window a rule flagged scores at least 0.9 x that
    for i, hw in enumerate(packet_hosts):
        if hw is not None and host_alarm:
            a = max(host_alarm.get((hw[0], hw[2]), 0.0), host_alarm.get((hw[1], hw[2]), 0.0))
            if a * 0.9 > scores[i]:
                scores[i] = a * 0.9
    seconds = time.perf_counter() - t0
    return {
        "scores": scores,
        "seconds": seconds,
        "fit_seconds": fit_s,
        "stats": stats.as_dict(),
        "counters": pipe.counters(),
        "rule_hits": dict(engine.hits),
        "train_flows": len(train_flows),
    }


def detection_at(fpr: np.ndarray, tpr: np.ndarray, f: float) -> float:
    ok = np.where(fpr <= f)[0]
    return float(tpr[ok[-1]]) if len(ok) else 0.0


def main() -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--pcap", type=Path, required=True)
    ap.add_argument("--labels", type=Path)
    ap.add_argument("--train-packets", type=int, default=0)
    ap.add_argument("--rules", type=Path)
    ap.add_argument("--lstm", type=Path, help="model dir of the TFLite LSTM detector")
    ap.add_argument("--json", type=Path, required=True)
    ap.add_argument("--all-cores", action="store_true", help="do not pin to one core")
    args = ap.parse_args()
    if not args.all_cores and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})
    res = run(args.pcap, args.train_packets, args.rules, args.lstm)
    n = len(res["scores"])
    out: dict = {
        "pcap": str(args.pcap),
        "packets": n,
        "seconds": round(res["seconds"], 3),
        "packets_per_second": round(n / res["seconds"]),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "train_packets": args.train_packets,
        "train_flows": res["train_flows"],
        "novelty_fit_seconds": round(res["fit_seconds"], 3),
        "parse": res["stats"],
        "pipeline": res["counters"],
        "rule_hits": res["rule_hits"],
        "scorer": "flow score = novelty / its threshold (+3 for a service port never seen in training) + the weight of the most severe rule the flow matched (low 1, medium 5, high/critical 10); window score: every packet of a host in a 60 s window where a rule flagged one of its flows scores at least 0.9 x that flow",
        "machine": {
            "python": platform.python_version(),
            "cpu": platform.processor() or platform.machine(),
            "cores_used": 1 if not args.all_cores else os.cpu_count(),
        },
    }
    if args.labels:
        from sklearn.metrics import roc_auc_score, roc_curve

        labels, attacks = load_labels(args.labels)
        if len(labels) != n:
            print(f"labels have {len(labels)} rows, the capture {n} frames", file=sys.stderr)
            return 2
        sel = np.arange(n) >= args.train_packets
        y, s = labels[sel], res["scores"][sel]
        fpr, tpr, _ = roc_curve(y, s)
        out["roc_auc"] = round(float(roc_auc_score(y, s)), 4)
        out["detection_rate_at_1pct_fpr"] = round(detection_at(fpr, tpr, 0.01), 4)
        out["detection_rate_at_5pct_fpr"] = round(detection_at(fpr, tpr, 0.05), 4)
        att = np.array(attacks)[sel]
        benign = y == 0
        per = {}
        for name in sorted(set(att[y == 1])):
            m = (att == name) & (y == 1)
            yy = np.concatenate([np.zeros(benign.sum()), np.ones(m.sum())])
            ss = np.concatenate([s[benign], s[m]])
            per[name] = {"packets": int(m.sum()), "auc": round(float(roc_auc_score(yy, ss)), 4)}
        out["auc_per_attack"] = per
        out["scored_packets"] = int(sel.sum())
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(out, indent=2) + "\n")
    print(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
