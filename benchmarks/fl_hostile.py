"""One hostile SuperNode in a real federation, against the same federation without it.

    python -m benchmarks.fl_hostile --json reports/bench/fl_hostile.json [--rounds 1]

A real ``flower-superlink`` and 4 honest ``flower-supernode`` processes (TLS, registered node
keys; each trains on its own simulated benign traffic, no DP so runs repeat exactly), then
one hostile SuperNode added (``tests/harness/hostile_app``: it keeps its registered key and
runs its own ClientApp: the real training, then the update scaled x100, 10^9 samples and a
threshold of 10^6 reported). For each aggregator (FedAvg with the defences, trimmed mean,
median) the fleet runs once honest-only and once with the hostile node, same seeds; one more
hostile run with the defences turned off (no update clip, count and threshold caps out of
reach) shows what they stop.

Per run: the L2 distance of the final global weights from the honest-only run of the same
aggregator (and from the honest FedAvg run), the fleet threshold and ``thresholds_by_node``
of the signed model, the refused and clipped replies, and detection after the round: the
exported int8 model, loaded and scored by the edge's own detector
(``edge_agent.detectors.lstm.LstmDetector``, flow by flow in the pipeline's order, features
scaled by ``contracts.scaling`` inside it) on held-out simulator traffic with attacks
(``--eval`` spec, a seed and network no node trained on): ROC AUC over flows (attack-labelled
= positive), and the alarm rate (error > the model's fleet threshold, the detector's own rule)
on attack and benign flows.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import tempfile
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.common import add_json_arg, write_result

HONEST = 4
EVAL = "sim:mixed?seed=7301&hosts=12&duration=120&net=10.88.0"
UNDEFENDED = {
    "aggregator": "fedavg",
    "clip-update-factor": 0.0,
    "clip-update-norm": 0.0,
    "max-samples": 10**12,
    "max-threshold": 1e12,
}
CONFIGS: dict[str, dict[str, object]] = {
    "fedavg": {"aggregator": "fedavg"},
    "trimmed-mean": {"aggregator": "trimmed-mean"},
    "median": {"aggregator": "median"},
}


def node_data(i: int) -> str:
    return f"sim:benign?seed={60 + i}&hosts=10&duration=120&net=10.{60 + i}.0"


def eval_flows(spec: str) -> tuple[list[Any], list[str]]:
    """The held-out flows (in the pipeline's order) and their labels ('benign' or the attack)."""
    from contracts.events import FlowRecord
    from edge_agent.capture import open_source
    from edge_agent.pipeline import Pipeline

    pipe = Pipeline("bench-eval")
    events = [e for p in open_source(spec) if p is not None for e in pipe.feed(p)]
    flows = [e for e in events + pipe.close() if isinstance(e, FlowRecord)]
    return flows, [f.label or "benign" for f in flows]


def detection(model_dir: Path, flows: list[Any], labels: list[str]) -> dict[str, Any]:
    """The edge detector's scores of the held-out flows: ROC AUC (all attack flows against
    the benign ones, and the mean over attack types), alarm rates at the model's threshold."""
    from sklearn.metrics import roc_auc_score

    from edge_agent.detectors.lstm import LstmDetector

    det = LstmDetector.load(model_dir)
    s = np.asarray([det.score_flow(f) for f in flows])
    lab = np.asarray(labels)
    y = lab != "benign"
    alarm = s > det.threshold
    per = {
        t: round(float(roc_auc_score(y[m], s[m])), 4)
        for t in sorted(set(labels) - {"benign"})
        if (m := (lab == t) | ~y).sum() > (~y).sum()
    }
    return {
        "roc_auc": round(float(roc_auc_score(y, s)), 4),
        "roc_auc_mean_over_attack_types": round(float(np.mean(list(per.values()))), 4),
        "auc_per_attack": per,
        "alarm_rate_attack": round(float(alarm[y].mean()), 4),
        "alarm_rate_benign": round(float(alarm[~y].mean()), 4),
    }


def weights(summary: Path) -> list[np.ndarray]:
    with np.load(summary.with_suffix(".npz")) as z:
        return [z[f"arr_{i}"] for i in range(len(z.files))]


def l2(a: list[np.ndarray], b: list[np.ndarray]) -> float:
    return float(np.sqrt(sum(float(np.sum((x - y) ** 2)) for x, y in zip(a, b, strict=True))))


def initial() -> list[np.ndarray]:
    from federated.config import RoundConfig
    from federated.settings import SHIPPED_MODEL
    from federated.task import initial_weights

    meta = json.loads((SHIPPED_MODEL / "metadata.json").read_text())
    return initial_weights(RoundConfig(window=int(meta["window"])), len(meta["scaler"]["lo"]))


class Bench:
    def __init__(self, args: argparse.Namespace, work: Path) -> None:
        from contracts.signing import generate_keypair

        self.args, self.work = args, work
        self.key, _ = generate_keypair(work / "keys")
        self.flows, self.labels = eval_flows(args.eval)
        self.results: dict[str, dict[str, Any]] = {}
        self.final: dict[str, list[np.ndarray]] = {}

    def run(self, dep: Any, name: str, nodes: int, config: dict[str, object]) -> None:
        d = self.work / name
        t0 = time.perf_counter()
        dep.run(
            {
                "num-rounds": self.args.rounds,
                "min-nodes": nodes,
                "round-timeout": 300.0,
                "dp": False,
                "local-epochs": self.args.local_epochs,
                "batch-size": self.args.batch_size,
                "seed": self.args.seed,
                "registry-dir": str(d / "registry"),
                "signing-key": str(self.key),
                "summary-path": str(d / "summary.json"),
                **config,
            },
            timeout=3600,
        )
        wall = time.perf_counter() - t0
        s = json.loads((d / "summary.json").read_text())
        model_dir = d / "registry" / "versions" / str(s["published"][-1])
        self.final[name] = weights(d / "summary.json")
        self.results[name] = {
            "nodes": nodes,
            "config": config,
            "threshold": s["threshold"],
            "thresholds_by_node": s["thresholds_by_node"],
            "refused": s["refused"],
            "clipped": s["clipped"],
            "round_seconds": list(s["round_seconds"].values()),
            "run_wall_seconds": round(wall, 1),
            **detection(model_dir, self.flows, self.labels),
        }
        print(f"fl_hostile: {name}: {self.results[name]}", file=sys.stderr, flush=True)

    def distances(self) -> None:
        w0 = initial()
        for name, r in self.results.items():
            agg = name.split(":", 1)[1]
            ref = "honest:" + ("fedavg" if agg == "fedavg-undefended" else agg)
            r["l2_from_honest_same_aggregator"] = round(l2(self.final[name], self.final[ref]), 4)
            r["l2_from_honest_fedavg"] = round(l2(self.final[name], self.final["honest:fedavg"]), 4)
            r["update_norm_from_initial"] = round(l2(self.final[name], w0), 4)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_json_arg(ap, required=True)
    ap.add_argument("--rounds", type=int, default=1)
    ap.add_argument("--local-epochs", type=int, default=20)
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--eval", default=EVAL, help="held-out simulator spec with attacks")
    ap.add_argument("--port", type=int, default=19150)
    ap.add_argument("--work", type=Path, default=None)
    args = ap.parse_args()

    from tests.harness.hostile_app import POISON, HostileDeployment

    work = args.work or Path(tempfile.mkdtemp(prefix="fl-hostile-"))
    bench = Bench(args, work)
    policy: dict[str, object] = {"dp-required": False}
    dep = HostileDeployment.with_test_pki(work / "flower", port=args.port)
    t0 = time.perf_counter()
    try:
        dep.start_superlink()
        for i in range(HONEST):
            dep.start_supernode(f"node{i + 1}", node_data(i), policy)
        for agg, cfg in CONFIGS.items():
            bench.run(dep, f"honest:{agg}", HONEST, cfg)
        dep.start_hostile_supernode("hostile", node_data(9), POISON, policy)
        for agg, cfg in {**CONFIGS, "fedavg-undefended": UNDEFENDED}.items():
            bench.run(dep, f"hostile:{agg}", HONEST + 1, cfg)
    finally:
        dep.stop()
    bench.distances()
    out = {
        "benchmark": "fl_hostile",
        "command": " ".join(["python -m benchmarks.fl_hostile", *sys.argv[1:]]),
        "machine": f"{platform.machine()}, {platform.python_version()}; loaded (shared cores)",
        "honest_nodes": [node_data(i) for i in range(HONEST)],
        "hostile": {"data": node_data(9), "attack": asdict(POISON)},
        "rounds": args.rounds,
        "local_epochs": args.local_epochs,
        "batch_size": args.batch_size,
        "dp": False,
        "eval": {
            "spec": args.eval,
            "flows": len(bench.labels),
            "benign_flows": bench.labels.count("benign"),
        },
        "wall_seconds": round(time.perf_counter() - t0, 1),
        "runs": bench.results,
    }
    print(write_result(args.json, out))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
