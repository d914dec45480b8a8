"""Edge replay benchmark: parse -> flows -> features -> rules + learned novelty (-> LSTM),
on one core, no network. Per-packet scores against per-packet labels.

    python benchmarks/edge_replay.py --pcap P --labels L --train-packets N --json OUT

A packet's score is the score of its flow: rule hits plus the novelty model (a per-feature
robust range model of edge_agent/detectors/novelty.py, fitted only on the flows that ended
within the first N packets, which must be attack-free). Metrics are computed on packets N..
only. Compare with Kitsune in ../shared/data/PEER_BASELINES.md.

``--lstm MODEL_DIR`` adds the int8 TFLite LSTM detector: its error is scaled by its 99th
percentile on the training flows, and what exceeds 1 is added to the flow score. The JSON
then also holds the LSTM's own metrics (``lstm.alone``). The LSTM model itself was trained
elsewhere (see its metadata.json), not on this capture.
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

from contracts.events import FlowRecord
from edge_agent.capture.packet import ParseStats, parse_frame
from edge_agent.capture.pcap import PcapSource
from edge_agent.detectors.base import Detector
from edge_agent.detectors.novelty import NoveltyModel
from edge_agent.flows.flow import Flow
from edge_agent.pipeline import Pipeline
from edge_agent.rules import RuleEngine
from edge_agent.rules.loader import BeaconRule, FlowRule

HOST_WINDOW_S = 60.0


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
) -> dict:
    """With ``lstm_dir``: ``lstm_scores`` is each packet's flow error over one scale (the 99th
    percentile of the training flows' errors); ``lstm_errors`` and ``lstm_src`` (the raw error
    and the flow's source host, per packet) let a caller calibrate per node instead."""
    engine = RuleEngine(rules)
    detectors: list[Detector] = [engine]
    lstm = None
    lstm_last = [0.0]  # the LSTM's reconstruction error of the flow it just scored
    if lstm_dir is not None:
        from edge_agent.detectors.lstm import LstmDetector

        lstm = LstmDetector.load(lstm_dir)
        raw_score = lstm.model.score

        def recording_score(window: np.ndarray) -> float:
            lstm_last[0] = raw_score(window)
            return lstm_last[0]

        lstm.model.score = recording_score  # type: ignore[method-assign]
        detectors.append(lstm)
    pipe = Pipeline("bench", detectors)
    n_flows = [0]  # flows are numbered through Flow.tag
    flow_score: list[float] = []
    flow_lstm: list[float] = []  # the LSTM's raw error of each flow (0: not scored)
    flow_src: list[str] = []  # each flow's source host
    train_flows: list[FlowRecord] = []
    train_lstm: list[float] = []
    lstm_scale = [1.0]
    model: NoveltyModel | None = None
    state = {"training": True}
    host_alarm: dict[tuple[bytes, int], float] = {}
    weights = {"info": 0.5, "low": 1.0, "medium": 5.0, "high": 10.0, "critical": 10.0}
    rules_all: list[FlowRule | BeaconRule] = [*engine.flow_rules, *engine.beacon_rules]
    severity_weight = {r.id: weights[r.severity] for r in rules_all}

    def on_flow_end(flow: Flow, rec: FlowRecord) -> None:
        serial = flow.tag
        if serial < 0:
            serial = flow.tag = n_flows[0]
            n_flows[0] += 1
            flow_score.append(0.0)
            flow_lstm.append(0.0)
            flow_src.append("")
        if state["training"]:
            train_flows.append(rec)
            if lstm is not None:
                train_lstm.append(lstm_last[0])
            return
        if lstm is not None:
            flow_lstm[serial] = lstm_last[0]
            flow_src[serial] = rec.src_ip
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
            if train_lstm:  # the LSTM's scale: its 99th percentile on the training flows
                lstm_scale[0] = max(float(np.quantile(train_lstm, 0.99)), 1e-9)
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
        assert flow is not None  # the flow the packet just went into
        serial = flow.tag
        if serial < 0:
            serial = flow.tag = n_flows[0]
            n_flows[0] += 1
            flow_score.append(0.0)
            flow_lstm.append(0.0)
            flow_src.append("")
        packet_flow.append(serial)
    pipe.close()
    pf = np.array(packet_flow)
    has_flow = pf >= 0
    scores = np.where(has_flow, np.array(flow_score)[np.maximum(pf, 0)], 0.0)
    lstm_errors = np.where(has_flow, np.array(flow_lstm)[np.maximum(pf, 0)], 0.0)
    lstm_scores = lstm_errors / lstm_scale[0]
    # window score: a packet of a host whose window a rule flagged scores at least 0.9 x that
    for i, hw in enumerate(packet_hosts):
        if hw is not None and host_alarm:
            a = max(host_alarm.get((hw[0], hw[2]), 0.0), host_alarm.get((hw[1], hw[2]), 0.0))
            if a * 0.9 > scores[i]:
                scores[i] = a * 0.9
    seconds = time.perf_counter() - t0
    if lstm is not None:  # combined: the LSTM adds what exceeds its training 99th percentile
        lstm_only = lstm_scores
        scores = scores + np.maximum(lstm_scores - 1.0, 0.0)
    return {
        "scores": scores,
        "lstm_scores": lstm_only if lstm is not None else None,
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
            "calibration_p99_on_training_flows": lstm_scale[0],
        },
        "seconds": seconds,
        "fit_seconds": fit_s,
        "stats": stats.as_dict(),
        "counters": pipe.counters(),
        "rule_hits": dict(engine.hits),
        "train_flows": len(train_flows),
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
    # peak of the replay itself (the metrics below import scikit-learn, which the agent never does)
    peak_rss_mb = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    n = len(res["scores"])
    out: dict = {
        "pcap": str(args.pcap),
        "packets": n,
        "seconds": round(res["seconds"], 3),
        "packets_per_second": round(n / res["seconds"]),
        "peak_rss_mb": peak_rss_mb,
        "train_packets": args.train_packets,
        "train_flows": res["train_flows"],
        "novelty_fit_seconds": round(res["fit_seconds"], 3),
        "parse": res["stats"],
        "pipeline": res["counters"],
        "rule_hits": res["rule_hits"],
        "scorer": "flow score = novelty / its threshold (+3 for a service port never seen in training) + the weight of the most severe rule the flow matched (low 1, medium 5, high/critical 10); window score: every packet of a host in a 60 s window where a rule flagged one of its flows scores at least 0.9 x that flow"
        + ("; + max(0, LSTM error / its training p99 - 1)" if args.lstm else ""),
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
        if res["lstm"] is not None:
            lstm_alone = metrics(labels[sel], res["lstm_scores"][sel], np.array(attacks)[sel])
            out["lstm"] = {**res["lstm"], "alone": lstm_alone}
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(out, indent=2) + "\n")
    print(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
