"""GNN propagation predictor vs a degree/neighbour heuristic on held-out scenarios.

    python -m benchmarks.predictor_eval --json OUT [--model DIR] [--scenarios N] [--plot PNG]

Held out from training (``fednids hub train-gnn``: seeds 0..199, 30-60 hosts in 2-4 subnets):
seeds from 100000 on and larger networks (60-120 hosts in 3-6 subnets). A snapshot is
everything observed up to one step of a scenario; positives are hosts not yet seen attacking
that are attacked (or, with ``--target compromised``, compromised) within the next 3 steps
(ground truth from the generator). Both rankers
see the same snapshots, in the same run. Reported per family of scenario too, plus a second,
stronger baseline for context: hosts ranked by how many compromised hosts already attacked
them ("attacked_by" heuristic), and the calibration of the GNN's probabilities on these
held-out snapshots (Brier score, predicted vs observed rate per probability decile).
The same predictor on a real capture: ``benchmarks/predictor_real.py``.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from benchmarks.common import add_json_arg, write_result
from hub.services.settings import ServicesSettings
from models.gnn.model import HostGraph, Predictor, load_predictor
from models.gnn.propagation_sim import KINDS, simulate
from models.gnn.train import TARGET, Snapshot, at_k, evaluate, snapshots


def attacked_by_scores(g: HostGraph) -> np.ndarray:
    comp = g.compromised()
    return np.asarray(
        [
            sum(1 for a in g.attackers[i] if comp[a]) + 0.1 * len(g.attackers[i])
            for i in range(len(g.hosts))
        ],
        float,
    )


def calibration(pred: Predictor, snaps: list[Snapshot]) -> dict[str, object]:
    p = np.concatenate([pred.scores(s.graph)[s.cand] for s in snaps])
    y = np.concatenate([s.y[s.cand] for s in snaps]).astype(float)
    bins = np.clip((p * 10).astype(int), 0, 9)
    return {
        "brier": float(np.mean((p - y) ** 2)),
        "base_rate": float(y.mean()),
        "mean_probability": float(p.mean()),
        "deciles": [
            {
                "predicted": float(p[bins == b].mean()),
                "observed": float(y[bins == b].mean()),
                "n": int((bins == b).sum()),
            }
            for b in range(10)
            if (bins == b).any()
        ],
    }


def main() -> int:
    ap = argparse.ArgumentParser()
    add_json_arg(ap, required=True)
    ap.add_argument("--model", type=Path, default=ServicesSettings().gnn_model)
    ap.add_argument("--scenarios", type=int, default=150)
    ap.add_argument("--plot", type=Path)
    ap.add_argument("--target", choices=("attacked", "compromised"), default=TARGET)
    args = ap.parse_args()
    pred = load_predictor(args.model)
    t0 = time.time()
    by_kind: dict[str, list[Snapshot]] = {k: [] for k in KINDS}
    for i in range(args.scenarios):
        kind = KINDS[i % len(KINDS)]
        sc = simulate(100_000 + i, kind=kind, n_hosts=(60, 120), n_subnets=(3, 6))
        by_kind[kind].extend(snapshots(sc, target=args.target))
    allsnaps = [s for v in by_kind.values() for s in v]
    base = evaluate(pred, allsnaps)
    res: dict[str, object] = dict(base)
    ab = [at_k(attacked_by_scores(s.graph), s, 5) for s in allsnaps]
    res["attacked_by_precision_at_5"] = float(np.mean([p for p, _ in ab]))
    res["attacked_by_recall_at_5"] = float(np.mean([r for _, r in ab]))
    res["per_kind"] = {k: evaluate(pred, v) for k, v in by_kind.items() if v}
    res["target"] = args.target
    res["calibration"] = calibration(pred, allsnaps)
    res["ratio_precision_at_5"] = base["gnn_precision_at_5"] / max(
        base["heuristic_precision_at_5"], 1e-9
    )
    curves: dict[str, list[float]] = {"gnn": [], "heuristic": []}
    ks = list(range(1, 11))
    for k in ks:
        r = evaluate(pred, allsnaps, k)
        curves["gnn"].append(r[f"gnn_precision_at_{k}"])
        curves["heuristic"].append(r[f"heuristic_precision_at_{k}"])
    res["precision_at_k_curve"] = {"k": ks, **curves}
    res["model"] = str(args.model)
    res["scenarios"] = args.scenarios
    res["seconds"] = round(time.time() - t0, 1)
    plot = args.plot or args.json.with_suffix(".png")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    ax.plot(ks, curves["gnn"], "o-", label="GNN (GraphSAGE)")
    ax.plot(ks, curves["heuristic"], "s--", label="degree/neighbour heuristic")
    ax.set_xlabel("k")
    ax.set_ylabel("precision@k (held-out scenarios)")
    ax.set_title(f"Next-compromised-host prediction, {len(allsnaps)} snapshots")
    ax.legend()
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(plot, dpi=100)
    res["plot"] = str(plot)
    print(write_result(args.json, res))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
