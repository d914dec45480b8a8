"""Training and evaluation of the propagation GNN on simulated scenarios.

A snapshot is the host graph of everything observed up to step ``k`` of a scenario; its
positives are the hosts not yet seen attacking that are compromised by step ``k + horizon``
(ground truth, including hosts already infected but still silent). Training scenarios use
seeds ``[seed, seed + n)`` and 30-60 hosts; evaluation uses other seeds and other sizes.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from hub.services.gnn import FEATURES, HostGraph, Predictor, SageNet, candidates, heuristic_scores
from hub.services.propagation_sim import Scenario, simulate

HORIZON = 3


@dataclass(slots=True)
class Snapshot:
    graph: HostGraph
    x: torch.Tensor
    ei: torch.Tensor
    y: np.ndarray
    cand: np.ndarray


def snapshots(sc: Scenario, horizon: int = HORIZON) -> list[Snapshot]:
    g = HostGraph()
    infected_at: dict[str, int] = {}
    for k, st in enumerate(sc.steps):
        for _, victim in st.infections:
            infected_at.setdefault(victim, k)
    out: list[Snapshot] = []
    for k, st in enumerate(sc.steps):
        for s, d, p, b in st.flows:
            g.add_flow(s, d, p, b, st.t)
        for s, d, _ in st.attacks:
            g.add_attack(s, d, st.t)
        if k < 2 or k + horizon >= len(sc.steps):
            continue
        cand = candidates(g)
        y = np.asarray([infected_at.get(h, 10**9) <= k + horizon for h in g.hosts], bool) & cand
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
        "train_scenarios": scenarios,
        "train_seeds": [seed, seed + scenarios],
        "epochs": epochs,
        "train_snapshots": len(snaps),
        "trained_at": time.time(),
        "train_seconds": round(time.time() - t0, 1),
    }
    pred = Predictor(net, meta)
    meta["validation_heldout_seeds"] = evaluate(pred, val)
    pred.meta = meta
    pred.save(out)
    return meta
