"""The Flower ``ClientApp`` (Message API) each agent's ``flower-supernode`` runs.

``--node-config`` of the SuperNode: ``node-id`` (the agent's node id), ``data`` (where its
benign flows are, see :mod:`edge_agent.fl.local_data`), ``state-dir`` (privacy accountant,
window cache) and optionally ``budget-epsilon`` (default: the run's target epsilon).

Train replies carry the new weights, ``num-examples`` (0 when the node's privacy budget is
spent: it sits the round out and says so), the loss, the node's TOTAL epsilon so far and the
budget left; the node id travels in a ``ConfigRecord`` so the hub can name it in FL events.
"""

from __future__ import annotations

import logging
import math
from pathlib import Path
from typing import Any

import numpy as np
from flwr.app import ArrayRecord, ConfigRecord, Context, Message, MetricRecord, RecordDict
from flwr.clientapp import ClientApp

from edge_agent.fl.accountant import PersistentAccountant
from edge_agent.fl.dp_train import FitConfig, evaluate, fit
from edge_agent.fl.local_data import load_windows

log = logging.getLogger(__name__)
app = ClientApp()


def _parts(msg: Message) -> tuple[dict[str, Any], list[np.ndarray]]:
    cfg = dict(msg.content.config_records["config"])
    arrays = msg.content.array_records["arrays"].to_numpy_ndarrays()
    return cfg, arrays


def fit_config(cfg: dict[str, Any]) -> FitConfig:
    return FitConfig(
        window=int(cfg.get("window", 10)),
        hidden=int(cfg.get("hidden", 16)),
        epochs=int(cfg.get("local-epochs", 1)),
        batch_size=int(cfg.get("batch-size", 32)),
        lr=float(cfg.get("lr", 5e-3)),
        dp=bool(cfg.get("dp", True)),
        target_epsilon=float(cfg.get("target-epsilon", 3.0)),
        delta=float(cfg.get("delta", 1e-5)),
        max_grad_norm=float(cfg.get("max-grad-norm", 1.0)),
        planned_rounds=int(cfg.get("planned-rounds", 3)),
    )


def node_settings(context: Context) -> tuple[str, str, Path, float | None]:
    nc = context.node_config
    node_id = str(nc.get("node-id", f"node-{context.node_id}"))
    state = Path(str(nc.get("state-dir", f"/var/lib/fednids/fl/{node_id}")))
    budget = nc.get("budget-epsilon")
    return node_id, str(nc["data"]), state, None if budget is None else float(budget)


def _windows(
    cfg: dict[str, Any], fc: FitConfig, data: str, state: Path
) -> tuple[np.ndarray, np.ndarray]:
    lo = np.asarray(cfg["scaler-lo"], dtype=np.float32)
    hi = np.asarray(cfg["scaler-hi"], dtype=np.float32)
    return load_windows(data, lo, hi, fc.window, cache_dir=state)


@app.train()
def train(msg: Message, context: Context) -> Message:
    cfg, weights = _parts(msg)
    fc = fit_config(cfg)
    node_id, data, state, budget = node_settings(context)
    train_w, _ = _windows(cfg, fc, data, state)
    accountant = (
        PersistentAccountant(
            state / "privacy.json", fc.delta, budget if budget is not None else fc.target_epsilon
        )
        if fc.dp
        else None
    )
    out = fit(weights, train_w, fc, accountant, int(cfg.get("server-round", 0)))
    if out.budget_exhausted:
        log.warning(
            "fl %s: privacy budget spent (epsilon %.3f); sitting this round out",
            node_id,
            out.epsilon or 0,
        )
    metrics: dict[str, float] = {
        "num-examples": out.samples,
        "loss": 0.0 if math.isnan(out.loss) else out.loss,
        "duration-s": out.duration_s,
        "budget-exhausted": float(out.budget_exhausted),
    }
    if fc.dp and accountant is not None:
        metrics |= {
            "epsilon": float(out.epsilon or 0.0),
            "delta": fc.delta,
            "budget-epsilon": float(accountant.budget or 0.0),
            "budget-left": float(accountant.budget_left() or 0.0),
            "noise-multiplier": float(out.noise_multiplier or 0.0),
        }
    content = RecordDict(
        {
            "arrays": ArrayRecord([np.asarray(w) for w in out.weights]),
            "metrics": MetricRecord(metrics),  # type: ignore[arg-type]
            "node": ConfigRecord({"node-id": node_id}),
        }
    )
    return Message(content=content, reply_to=msg)


@app.evaluate()
def evaluate_fn(msg: Message, context: Context) -> Message:
    cfg, weights = _parts(msg)
    fc = fit_config(cfg)
    node_id, data, state, _ = node_settings(context)
    _, held = _windows(cfg, fc, data, state)
    loss, q995 = evaluate(weights, held, fc)
    content = RecordDict(
        {
            "metrics": MetricRecord(
                {"num-examples": len(held), "loss": loss, "threshold-q995": q995}
            ),
            "node": ConfigRecord({"node-id": node_id}),
        }
    )
    return Message(content=content, reply_to=msg)
