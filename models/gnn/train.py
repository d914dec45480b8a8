"""Training and evaluation of the propagation GNN on simulated scenarios.

A snapshot is the host graph of everything observed up to step ``k`` of a scenario; its
positives are the candidate hosts (``gnn.candidates``) that are attacked or compromised in
steps ``k+1 .. k+horizon`` (``target="attacked"``, the default: what the hub sees and what
``benchmarks/predictor_real.py`` scores on real captures), or, with ``target="compromised"``,
compromised by then (ground truth only the generator knows). Training scenarios use seeds
``[seed, seed + n)`` and 30-60 hosts; the Platt calibration is fitted on seeds from 50000
(40 scenarios); ``benchmarks/predictor_eval.py`` uses seeds from 100000 and larger networks.
No capture is used for training.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from models.gnn.model import (
    FEATURES,
    HostGraph,
    Predictor,
    SageNet,
    candidates,
    heuristic_scores,
    platt,
)
from models.gnn.propagation_sim import Scenario, simulate

HORIZON = 3
TARGET = "attacked"


@dataclass(slots=True)
class Snapshot:
    graph: HostGraph
    x: torch.Tensor
    ei: torch.Tensor
    y: np.ndarray
    cand: np.ndarray


def snapshots(sc: Scenario, horizon: int = HORIZON, target: str = TARGET) -> list[Snapshot]:
    """``target="attacked"``: positive if the host is attacked (scanned, brute-forced,
    exploited) or compromised in the next ``horizon`` steps, which is what the hub can see
    and what the real-capture benchmark scores; ``"compromised"``: compromised by then
    (ground truth only the generator knows, including hosts still silent)."""
    if target not in ("attacked", "compromised"):
        raise ValueError(f"unknown target {target!r}")
    g = HostGraph()
    infected_at: dict[str, int] = {}
    attacked_at: dict[str, list[int]] = {}
    for k, st in enumerate(sc.steps):
        for _, victim in st.infections:
            infected_at.setdefault(victim, k)
            attacked_at.setdefault(victim, []).append(k)
        for _, victim, _ in st.attacks:
            attacked_at.setdefault(victim, []).append(k)
    out: list[Snapshot] = []
    for k, st in enumerate(sc.steps):
        for s, d, p, b in st.flows:
            g.add_flow(s, d, p, b, st.t)
        for s, d, _ in st.attacks:
            g.add_attack(s, d, st.t)
        if k < 2 or k + horizon >= len(sc.steps):
            continue
        cand = candidates(g)
        if target == "compromised":
            y = np.asarray([infected_at.get(h, 10**9) <= k + horizon for h in g.hosts], bool)
        else:
            y = np.asarray(
                [any(k < a <= k + horizon for a in attacked_at.get(h, ())) for h in g.hosts], bool
            )
        y &= cand
        if not y.any():
            continue
        snap_g = _copy(g)
        out.append(
            Snapshot(
                snap_g,
                torch.from_numpy(snap_g.features()),
                torch.from_numpy(snap_g.edge_index()),
                y,
                cand,
            )
        )
    return out


def _copy(g: HostGraph) -> HostGraph:
    import copy

    return copy.deepcopy(g)


def make_set(seeds: range, **sim_kw: Any) -> list[Snapshot]:
    snaps: list[Snapshot] = []
    for s in seeds:
        snaps.extend(snapshots(simulate(s, **sim_kw)))
    return snaps


def train(
    snaps: list[Snapshot], epochs: int, seed: int, hidden: int = 48, layers: int = 3
) -> SageNet:
    torch.manual_seed(seed)
    net = SageNet(len(FEATURES), hidden, layers)
    opt = torch.optim.Adam(net.parameters(), lr=3e-3, weight_decay=1e-5)
    rng = np.random.default_rng(seed)
    for _ in range(epochs):
        net.train()
        for i in rng.permutation(len(snaps)):
            sn = snaps[int(i)]
            logit = net(sn.x, sn.ei)
            mask = torch.from_numpy(sn.cand)
            y = torch.from_numpy(sn.y.astype(np.float32))
            pos = float(y[mask].sum())
            w = torch.tensor(max(1.0, (float(mask.sum()) - pos) / max(pos, 1.0)))
            loss = torch.nn.functional.binary_cross_entropy_with_logits(
                logit[mask], y[mask], pos_weight=w
            )
            opt.zero_grad()
            loss.backward()
            opt.step()
    return net.eval()


def at_k(scores: np.ndarray, sn: Snapshot, k: int) -> tuple[float, float]:
    idx = np.flatnonzero(sn.cand)
    top = idx[np.argsort(-scores[idx], kind="stable")][:k]
    hits = int(sn.y[top].sum())
    return hits / k, hits / int(sn.y.sum())


def evaluate(pred: Predictor, snaps: list[Snapshot], k: int = 5) -> dict[str, float]:
    g_p, g_r, h_p, h_r = [], [], [], []
    for sn in snaps:
        p, r = at_k(pred.scores(sn.graph), sn, k)
        g_p.append(p)
        g_r.append(r)
        p, r = at_k(heuristic_scores(sn.graph), sn, k)
        h_p.append(p)
        h_r.append(r)
    return {
        f"gnn_precision_at_{k}": float(np.mean(g_p)),
        f"heuristic_precision_at_{k}": float(np.mean(h_p)),
        f"gnn_recall_at_{k}": float(np.mean(g_r)),
        f"heuristic_recall_at_{k}": float(np.mean(h_r)),
        "snapshots": len(snaps),
    }


def calibrate(pred: Predictor, snaps: list[Snapshot]) -> dict[str, Any]:
    """Platt scaling of the candidates' logits on held-out snapshots (other seeds than the
    training ones): the network is trained with a positive class weight, so its sigmoid
    over-states the probability; after this, ``probability`` is the rate at which such a
    host is attacked within the horizon in held-out scenarios."""
    z = np.concatenate([pred.logits(sn.graph)[sn.cand] for sn in snaps])
    y = np.concatenate([sn.y[sn.cand] for sn in snaps])
    cal: dict[str, Any] = dict(platt(z, y))
    p = 1.0 / (1.0 + np.exp(-(cal["a"] * z + cal["b"])))
    bins = np.clip((p * 10).astype(int), 0, 9)
    cal["reliability"] = [
        [
            round(float(p[bins == b].mean()), 3),
            round(float(y[bins == b].mean()), 3),
            int((bins == b).sum()),
        ]
        for b in range(10)
        if (bins == b).any()
    ]
    return cal


def training_data(scenarios: int, seed: int) -> list[dict[str, Any]]:
    """The description of the training data kept in the artifact's metadata."""
    return [
        {
            "kind": "propagation-simulator",
            "generator": "models.gnn.propagation_sim",
            "scenarios": scenarios,
            "seeds": [seed, seed + scenarios],
            "calibration_seeds": [seed + 50_000, seed + 50_000 + 40],
            "captures": None,
        }
    ]


def train_and_save(out: Path, scenarios: int, epochs: int, seed: int) -> dict[str, Any]:
    t0 = time.time()
    snaps = make_set(range(seed, seed + scenarios))
    net = train(snaps, epochs, seed)
    val = make_set(range(seed + 50_000, seed + 50_000 + 40))  # held out: other seeds
    meta: dict[str, Any] = {
        "kind": "graphsage-propagation",
        "features": list(FEATURES),
        "hidden": 48,
        "layers": 3,
        "horizon_steps": HORIZON,
        "target": TARGET,
        "train_scenarios": scenarios,
        "train_seeds": [seed, seed + scenarios],
        "epochs": epochs,
        "train_snapshots": len(snaps),
        "trained_at": time.time(),
        "train_seconds": round(time.time() - t0, 1),
    }
    meta["training_data"] = training_data(scenarios, seed)
    pred = Predictor(net, meta)
    meta["calibration"] = calibrate(pred, val)
    meta["validation_heldout_seeds"] = evaluate(pred, val)
    pred.meta = meta
    pred.save(out)
    return meta
