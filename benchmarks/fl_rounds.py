"""Federated learning on a real deployment: round time, update size, and the accuracy the
federated LSTM autoencoder keeps under differential privacy, against a central model.

    python -m benchmarks.fl_rounds --pcap replay_bench.pcap --labels replay_bench_labels.csv \
        --train-packets 22472 --json out.json

(make the capture with ``../shared/tools/make_replay_bench.py``). Benign training data: the
flows that ended within the first ``--train-packets`` packets, split by source host across
three nodes (each node's own hosts). For each epsilon in ``--epsilons`` (``inf`` = no DP) a
fresh ``flower-superlink`` + 3 ``flower-supernode`` processes (TLS, registered node keys)
run ``--rounds`` rounds of the fednids app; the exported int8 TFLite model is then scored by
the edge pipeline on the rest of the capture (per-packet labels, as ``edge_replay.py``),
each packet's error divided by the threshold of the node that sees its flow's source (the
node's own 99.5 % quantile on its held-out benign windows, carried in the signed model's
``thresholds_by_node``: what each agent alarms against); the old one-scale protocol is
reported beside it (``*_global_scale``). The central model: the same windows pooled, trained
without DP for rounds x local epochs, calibrated per node the same way, exported the same
way, for every seed of ``--central-seeds`` (its AUC swings with the seed). Writes the JSON and a PNG beside it.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import sys
import tempfile
import time
import zlib
from pathlib import Path

import numpy as np

from benchmarks.common import add_json_arg, write_result
from contracts.events import FlowRecord
from contracts.signing import generate_keypair
from demo.federation import FederationError
from edge_agent.capture.packet import ParseStats, parse_frame
from edge_agent.capture.pcap import PcapSource
from edge_agent.flows.flow import Flow
from edge_agent.pipeline import Pipeline

NODES = 3
CALIBRATION_SPEC = "sim:benign?seed=901&hosts=12&duration=120&net=10.250.0"
"""The base model's int8 calibration windows: the project's own simulated benign traffic."""


def training_flows(pcap: Path, train_packets: int) -> list[FlowRecord]:
    """Flows that ended within the first ``train_packets`` packets (as edge_replay trains)."""
    pipe = Pipeline("fl-bench", [])
    flows: list[FlowRecord] = []

    def on_end(_flow: Flow, rec: FlowRecord) -> None:
        flows.append(rec)

    pipe.on_flow_end = on_end
    stats = ParseStats()
    for i, (linktype, ts, wirelen, data) in enumerate(PcapSource(pcap).frames()):
        if i == train_packets:
            break
        pkt = parse_frame(data, linktype, ts, wirelen, stats)
        if pkt is not None:
            pipe.feed(pkt)
    return flows


def node_of(src_ip: str) -> str:
    """The node that sees a source host: each host belongs to one node only."""
    return f"node{zlib.crc32(src_ip.encode()) % NODES + 1}"


def split_nodes(flows: list[FlowRecord], out: Path) -> list[Path]:
    """One ``<node>.npz`` per node (``node1`` ... in order), each with its own hosts' flows."""
    parts: dict[str, list[FlowRecord]] = {f"node{i + 1}": [] for i in range(NODES)}
    for f in flows:
        parts[node_of(f.src_ip)].append(f)
    paths = []
    for name, part in parts.items():
        p = out / f"{name}.npz"
        np.savez(
            p,
            src=np.asarray([f.src_ip for f in part]),
            end_ts=np.asarray([f.end_ts for f in part], dtype=np.float64),
            features=np.asarray([f.features for f in part], dtype=np.float32),
        )
        paths.append(p)
    return paths


def calibration_windows(lo: np.ndarray, hi: np.ndarray, window: int) -> np.ndarray:
    """Windows of :data:`CALIBRATION_SPEC` in this scaler (the base model ships them)."""
    from federated.client_app import EDGE_READERS
    from federated.local_data import load_windows

    train, held = load_windows(CALIBRATION_SPEC, lo, hi, window, readers=EDGE_READERS)
    return np.concatenate([train, held])


def base_model(flows: list[FlowRecord], out: Path, window: int) -> tuple[np.ndarray, np.ndarray]:
    """A base model dir (no model: its scaler, window and int8 calibration windows)."""
    from contracts.scaling import Scaler
    from models.export_tflite import calibration_bytes, calibration_entry

    scaler = Scaler.fit(np.asarray([f.features for f in flows], dtype=np.float32))
    out.mkdir(parents=True, exist_ok=True)
    npy = calibration_bytes(calibration_windows(scaler.lo, scaler.hi, window))
    (out / "calibration.npy").write_bytes(npy)
    meta = {
        "version": 1,
        "window": window,
        "scaler": scaler.to_json(),
        "calibration": calibration_entry(npy, CALIBRATION_SPEC),
    }
    (out / "metadata.json").write_text(json.dumps(meta))
    return scaler.lo, scaler.hi


def score(model_dir: Path, pcap: Path, labels: Path, train_packets: int) -> dict:
    """The LSTM alone, per packet, on the held-out part. Headline: per-node calibration, as a
    deployment runs (each node's agent divides its error by its OWN threshold from the model's
    ``thresholds_by_node``); ``global_scale``: one scale for every packet (the 99th
    percentile of the training flows' errors), the protocol used before 2026-12-01."""
    from benchmarks import edge_replay

    y, attacks = edge_replay.load_labels(labels)
    sel = np.arange(len(y)) >= train_packets
    att = np.asarray(attacks)[sel]
    meta = json.loads((model_dir / "metadata.json").read_text())
    own = {str(k): float(v) for k, v in (meta.get("thresholds_by_node") or {}).items()}
    fleet = float(meta["threshold"])
    res = edge_replay.run(pcap, train_packets, None, model_dir)
    out = edge_replay.metrics(y[sel], res["lstm_scores"][sel], att)
    if not own:
        return {**out, "calibration": "global scale (no per-node thresholds)"}
    scale = {src: own.get(node_of(src), fleet) for src in set(res["lstm_src"]) if src}
    per_node = np.asarray(
        [
            e / scale[src] if src else 0.0
            for e, src in zip(res["lstm_errors"], res["lstm_src"], strict=True)
        ]
    )
    return {
        **edge_replay.metrics(y[sel], per_node[sel], att),
        "calibration": "per node",
        "thresholds_by_node": own,
        "global_scale": {k: out[k] for k in ("roc_auc", "detection_rate_at_1pct_fpr")}
        | {"auc_per_attack": {a: v["auc"] for a, v in out["auc_per_attack"].items()}},
    }


PATHS: dict[str, tuple[bool, bool]] = {"old": (True, False), "new": (False, True)}
"""(``eval-wave``, the deployment's SuperExec poll). ``old``: an evaluation round trip (torch) after each publishing round, Flower's SuperExec
poll (1 s); ``new``: thresholds in the training replies, one numpy evaluation round for the
last model, the deployment's SuperExec poll (``demo.federation.SUPEREXEC_POLL_S``)."""


def deploy(
    eps: str,
    args: argparse.Namespace,
    run_dir: Path,
    node_data: list[Path],
    base: Path,
    port: int,
    path: str = "new",
) -> tuple[dict, float]:
    """One fresh SuperLink + 3 SuperNodes, ``flwr run``: (the run's summary, wall seconds)."""
    from tests.harness.flower import FlowerDeployment

    key, _ = generate_keypair(run_dir / "keys")
    dep = FlowerDeployment(run_dir / "flower", port=port)
    eval_wave, fast_superexec = PATHS[path]
    if not fast_superexec:
        dep.superexec_poll_s = None
    t0 = time.perf_counter()
    try:
        dep.start_superlink()
        for i, data in enumerate(node_data):
            # a node's policy requires DP unless it is provisioned without (the inf run)
            policy: dict[str, object] = {"dp-required": False} if eps == "inf" else {}
            dep.start_supernode(f"node{i + 1}", f"npz:{data}", policy)
        summary_path = run_dir / "summary.json"
        dep.run(
            {
                "num-rounds": args.rounds,
                "min-nodes": NODES,
                "local-epochs": args.local_epochs,
                "dp": eps != "inf",
                "target-epsilon": 1.0 if eps == "inf" else float(eps),
                "base-model": str(base),
                "registry-dir": str(run_dir / "registry"),
                "signing-key": str(key),
                "summary-path": str(summary_path),
                "hidden": args.hidden,
                "publish-every": args.publish_every,
                "eval-wave": eval_wave,
                "round-timeout": args.round_timeout,
            },
            timeout=3600,
        )
    finally:
        dep.stop()
    return json.loads(summary_path.read_text()), time.perf_counter() - t0


def federated(
    eps: str, args: argparse.Namespace, work: Path, node_data: list[Path], base: Path, port: int
) -> dict:
    run_dir = work / f"eps-{eps}"
    summary, wall = deploy(eps, args, run_dir, node_data, base, port)
    version = summary["published"][-1]
    model_dir = run_dir / "registry" / "versions" / str(version)
    result = score(model_dir, args.pcap, args.labels, args.train_packets)
    return {
        "round_seconds": list(summary["round_seconds"].values()),
        "timing": round_timing(summary),
        "update_bytes": summary["update_bytes"],
        "losses": summary["losses"],
        "epsilon_by_node": {n: v[-1] for n, v in summary["epsilons"].items()},
        "threshold": summary["threshold"],
        "run_wall_seconds": round(wall, 1),
        "model_bytes": (model_dir / "model.tflite").stat().st_size,
        **result,
    }


def round_rows(summary: dict) -> list[dict]:
    """Per round: its seconds, the training exchange alone, the evaluation exchange (when
    there was one) and the breakdown of the node each exchange waited for."""
    from federated.timing import critical

    rows = []
    for rnd, secs in summary["round_seconds"].items():
        t = summary.get("timings", {}).get(rnd, {})
        row = {"n": int(rnd), "round": round(secs, 2), **critical(t.get("train", {}))}
        train_s = summary.get("train_seconds", {}).get(rnd)
        row["train_exchange"] = round(train_s, 2) if train_s is not None else row["round"]
        if "evaluate" in t:
            row["evaluate_exchange"] = round(secs - row["train_exchange"], 2)
            row["evaluate_critical"] = critical(t["evaluate"])
        rows.append(row)
    return rows


def timing_table(rows: list[dict]) -> dict:
    """Median and p95 over all rounds, the training-only ones (no evaluation round trip) and
    the ones with an evaluation round trip."""
    from federated.timing import summarise

    with_eval = [r for r in rows if "evaluate_exchange" in r]
    return {
        "all": summarise(rows),
        "training_only": summarise([r for r in rows if "evaluate_exchange" not in r]),
        "with_evaluation": summarise(with_eval),
        "evaluation_exchange_s": [r["evaluate_exchange"] for r in with_eval],
        "evaluation_critical": [r["evaluate_critical"] for r in with_eval],
    }


def round_timing(summary: dict) -> dict:
    rows = round_rows(summary)
    return {"rounds": rows, **timing_table(rows), "update_bytes": summary["update_bytes"]}


def timing_only(args: argparse.Namespace, work: Path, node_data: list[Path]) -> dict:
    """Rounds only (no scoring, no central model): the old and the new path in one run, at
    the first epsilon of ``--epsilons``, alternating ``--repeats`` times."""
    eps = args.epsilons.split(",")[0]
    paths = args.paths.split(",")
    runs: dict[str, list[dict]] = {p: [] for p in paths}
    failed: list[dict] = []
    k = 0
    for rep in range(args.repeats):
        for path in paths:
            print(f"fl_rounds: {path} path, run {rep + 1} ...", file=sys.stderr, flush=True)
            try:
                summary, wall = deploy(
                    eps,
                    args,
                    work / f"{path}-{rep}",
                    node_data,
                    work / "base",
                    args.port + 100 * k,
                    path,
                )
            except FederationError as exc:  # one failed run does not lose the others
                print(f"fl_rounds: {path} run {rep + 1} failed: {exc}", file=sys.stderr)
                failed.append({"path": path, "run": rep + 1, "error": str(exc)[-2000:]})
                continue
            finally:
                k += 1
            runs[path].append({**round_timing(summary), "run_wall_seconds": round(wall, 1)})
            if args.partial:  # what is done so far survives a run stopped on the way
                args.partial.write_text(json.dumps({"runs": runs, "failed": failed}, indent=1))
            print(f"fl_rounds: {path}: {runs[path][-1]['all'].get('round')}", file=sys.stderr)
    return {
        path: {
            **timing_table([r for run in got for r in run["rounds"]]),
            "update_bytes": got[0]["update_bytes"] if got else None,
            "runs": got,
            "failed": [f for f in failed if f["path"] == path],
        }
        for path, got in runs.items()
    }


def central(
    args: argparse.Namespace,
    work: Path,
    node_data: list[Path],
    lo: np.ndarray,
    hi: np.ndarray,
    seed: int = 0,
) -> dict:
    from federated.config import RoundConfig
    from federated.export import export_global
    from federated.local_data import load_windows
    from models.lstm_ae import (
        LstmConfig,
        build_model,
        get_weights,
        reconstruction_errors,
        train_epochs,
    )

    trains, helds = [], []
    for data in node_data:  # the same train/held-out split each node uses
        tr, he = load_windows(f"npz:{data}", lo, hi, args.window)
        trains.append(tr)
        helds.append(he)
    train, held = np.concatenate(trains), np.concatenate(helds)
    cfg = LstmConfig(
        window=args.window,
        features=len(lo),
        hidden=args.hidden,
        epochs=args.rounds * args.local_epochs,
        batch_size=64,
        lr=RoundConfig().lr,  # the federation's default
        seed=seed,
    )
    model = build_model(cfg)
    train_epochs(model, train, cfg)
    threshold = float(np.quantile(reconstruction_errors(model, held), 0.995))
    # the same per-node calibration the federated nodes report (their held-out 99.5 %)
    own = {
        data.stem: float(np.quantile(reconstruction_errors(model, he), 0.995))
        for data, he in zip(node_data, helds, strict=True)
        if len(he)
    }
    out = work / f"central-seed-{seed}"
    export_global(
        get_weights(model),
        args.window,
        args.hidden,
        lo,
        hi,
        threshold,
        out,
        work / "base",
        extra={"thresholds_by_node": own},
    )
    return {"train_windows": len(train), **score(out, args.pcap, args.labels, args.train_packets)}


def plot(out: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    eps = list(out["auc_by_epsilon"])
    fig, ax = plt.subplots(1, 2, figsize=(11, 4))
    ax[0].bar(eps, [out["auc_by_epsilon"][e] for e in eps], color="#4c72b0")
    ax[0].axhline(out["central_auc"], color="#dd8452", ls="--", label="central, no DP")
    ax[0].set_ylim(min(0.5, *out["auc_by_epsilon"].values()) - 0.02, 1.0)
    ax[0].set_xlabel("epsilon per node (inf = no DP)")
    ax[0].set_ylabel("ROC AUC on the replay capture")
    ax[0].set_title("Federated LSTM-AE: AUC vs privacy")
    ax[0].legend()
    attacks = sorted(out["central"]["auc_per_attack"])
    x = np.arange(len(attacks))
    for k, e in enumerate(eps):
        per = out["runs"][e]["auc_per_attack"]
        ax[1].bar(x + k * 0.18, [per[a]["auc"] for a in attacks], 0.18, label=f"eps {e}")
    ax[1].set_xticks(x + 0.27, attacks, rotation=30, ha="right", fontsize=8)
    ax[1].set_ylabel("AUC per attack")
    ax[1].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def add_setup_args(ap: argparse.ArgumentParser) -> None:
    """The capture and the federation's shape (``dp_utility`` simulates the same one)."""
    ap.add_argument("--pcap", type=Path, required=True)
    ap.add_argument("--labels", type=Path, required=True)
    ap.add_argument("--train-packets", type=int, default=22472)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--local-epochs", type=int, default=3)
    ap.add_argument("--hidden", type=int, default=16)
    ap.add_argument("--window", type=int, default=10)


def main() -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    add_setup_args(ap)
    ap.add_argument("--epsilons", default="1,3,8,inf")
    ap.add_argument("--port", type=int, default=19500)
    ap.add_argument("--central-seeds", default="0,1,2", help="seeds of the central reference")
    ap.add_argument("--publish-every", type=int, default=0, help="publish every N rounds")
    ap.add_argument("--timing-only", action="store_true", help="rounds only, old vs new path")
    ap.add_argument("--paths", default="old,new", help="with --timing-only: old, new or both")
    ap.add_argument("--repeats", type=int, default=1, help="with --timing-only")
    ap.add_argument(
        "--round-timeout", type=float, default=600.0, help="a loaded machine's stragglers count"
    )
    add_json_arg(ap, required=True)
    args = ap.parse_args()
    # a SIGTERM still stops the SuperLink and SuperNodes (their own sessions) on the way out
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="fl-bench-") as tmp:
        work = Path(tmp)
        flows = training_flows(args.pcap, args.train_packets)
        node_data = split_nodes(flows, work)
        lo, hi = base_model(flows, work / "base", args.window)
        if args.timing_only:
            args.partial = args.json.with_suffix(".partial.json")
            timing = timing_only(args, work, node_data)
            return _write_timing(args, timing, time.perf_counter() - t0)
        runs = {}
        for k, eps in enumerate(args.epsilons.split(",")):
            print(f"fl_rounds: federated run at epsilon {eps} ...", file=sys.stderr, flush=True)
            runs[eps] = federated(eps, args, work, node_data, work / "base", args.port + 100 * k)
            print(f"fl_rounds: epsilon {eps}: AUC {runs[eps]['roc_auc']}", file=sys.stderr)
        cens = {}
        for seed in [int(v) for v in args.central_seeds.split(",")]:
            print(f"fl_rounds: central model, seed {seed} ...", file=sys.stderr, flush=True)
            cens[seed] = central(args, work, node_data, lo, hi, seed)
        cen = cens[min(cens)]  # the federation runs with seed 0
    all_rounds = [s for r in runs.values() for s in r["round_seconds"]]
    out = {
        "round_seconds": round(statistics.median(all_rounds), 2),
        "round_seconds_all": [round(s, 2) for s in all_rounds],
        "update_bytes": next(iter(runs.values()))["update_bytes"],
        "auc_by_epsilon": {e: r["roc_auc"] for e, r in runs.items()},
        "central_auc": cen["roc_auc"],
        "central_auc_by_seed": {str(k): c["roc_auc"] for k, c in cens.items()},
        "central_auc_mean": round(statistics.mean(c["roc_auc"] for c in cens.values()), 4),
        "gap_to_central": {e: round(cen["roc_auc"] - r["roc_auc"], 4) for e, r in runs.items()},
        "calibration": "per node (each node's threshold from its held-out benign windows)",
        "auc_by_epsilon_global_scale": {
            e: r.get("global_scale", r)["roc_auc"] for e, r in runs.items()
        },
        "central_auc_global_scale": cen.get("global_scale", cen)["roc_auc"],
        "per_attack_auc": {
            "central": {a: v["auc"] for a, v in cen["auc_per_attack"].items()},
            **{e: {a: v["auc"] for a, v in r["auc_per_attack"].items()} for e, r in runs.items()},
        },
        "runs": runs,
        "central": cen,
        "setup": {
            "nodes": NODES,
            "rounds": args.rounds,
            "local_epochs": args.local_epochs,
            "hidden": args.hidden,
            "train_flows": len(flows),
            "train_packets": args.train_packets,
            "deployment": "flower-superlink + 3 flower-supernode processes, TLS, node auth",
        },
        "seconds": round(time.perf_counter() - t0, 1),
    }
    write_result(args.json, out)
    plot(out, args.json.with_suffix(".png"))
    print(
        json.dumps(
            {
                k: out[k]
                for k in (
                    "round_seconds",
                    "update_bytes",
                    "auc_by_epsilon",
                    "central_auc",
                    "central_auc_mean",
                    "auc_by_epsilon_global_scale",
                    "central_auc_global_scale",
                )
            },
            indent=2,
        )
    )
    return 0


def _write_timing(args: argparse.Namespace, timing: dict, seconds: float) -> int:
    out = {
        "paths": timing,
        "setup": {
            "nodes": NODES,
            "rounds": args.rounds,
            "repeats": args.repeats,
            "local_epochs": args.local_epochs,
            "epsilon": args.epsilons.split(",")[0],
            "publish_every": args.publish_every,
            "deployment": "flower-superlink + 3 flower-supernode processes, TLS, node auth",
            "load_average": list(os.getloadavg()),
        },
        "seconds": round(seconds, 1),
    }
    write_result(args.json, out)
    brief = {
        p: {k: t[k] for k in ("all", "training_only", "evaluation_exchange_s", "update_bytes")}
        for p, t in timing.items()
    }
    print(json.dumps(brief, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
