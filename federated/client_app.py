"""The Flower ``ClientApp`` (Message API) each agent's ``flower-supernode`` runs.

``--node-config`` of the SuperNode: see :mod:`federated.policy` (``node-id``, ``data``,
``state-dir``, ``budget-epsilon`` and the node's privacy policy, which wins over the round
config). The round config is :class:`federated.config.RoundConfig`: a malformed one is
refused with an error reply naming what is wrong (the SuperLink shows it to the server).

Train replies carry the new weights, ``num-examples`` (0 when the node's privacy budget is
spent: it sits the round out and says so), the loss, the node's TOTAL epsilon so far and the
budget left; the node id travels in a ``ConfigRecord`` so the hub can name it in FL events.
They also carry the node's evaluation of the GLOBAL model it received (``global-loss``,
``global-threshold-q995`` on its held-out windows: the threshold of the previous round's
global model, no separate evaluation round trip needed) and where the message's time went
(``t-*`` wall-clock stamps and ``*-s`` durations: process start, imports, evaluation,
training). Evaluation (the one evaluate message of a run, for the last round's model) is
numpy only (:mod:`federated.fast_eval`): it never imports torch or Opacus.

This is the one module of :mod:`federated` that reads the edge's data (the agent's flow
store, the simulator): :data:`EDGE_READERS`.
"""

from __future__ import annotations

import logging
import math
import os
import time
from pathlib import Path

import numpy as np
from flwr.app import ArrayRecord, ConfigRecord, Context, Message, MetricRecord, RecordDict
from flwr.clientapp import ClientApp

from federated import fast_eval
from federated.config import RoundConfig
from federated.errors import LocalDataError, RoundConfigError
from federated.local_data import RawFlows, Reader, load_windows
from federated.policy import NodeSettings
from federated.privacy import PersistentAccountant
from federated.task import FitOutcome, train


def process_started() -> float:
    """Wall-clock time this process was started (from /proc; now, where there is none)."""
    try:
        ticks = int(Path("/proc/self/stat").read_text().rsplit(")", 1)[1].split()[19])
        uptime = float(Path("/proc/uptime").read_text().split()[0])
        return time.time() - (uptime - ticks / os.sysconf("SC_CLK_TCK"))
    except (OSError, ValueError, IndexError):
        return time.time()


T_PROCESS = process_started()
log = logging.getLogger(__name__)
app = ClientApp()


def read_store(path: str) -> RawFlows:
    """The agent's flow store: flows of hosts no detector flagged."""
    from edge_agent.flows.store import FlowStore

    if not Path(path).is_file():
        raise LocalDataError(f"{path}: no flow store (has the agent run with one?)")
    store = FlowStore(Path(path))
    try:
        return store.benign()
    finally:
        store.close()


def read_sim(spec: str) -> RawFlows:
    """Flows of a simulated scenario through the edge's own pipeline."""
    from contracts.events import FlowRecord
    from edge_agent.capture import open_source
    from edge_agent.pipeline import Pipeline

    pipe = Pipeline("fl-local")
    events = [e for p in open_source(f"sim:{spec}") if p is not None for e in pipe.feed(p)]
    flows = [e for e in events + pipe.close() if isinstance(e, FlowRecord)]
    return (
        [f.src_ip for f in flows],
        np.asarray([float(f.end_ts) for f in flows]),
        np.asarray([f.features for f in flows], dtype=np.float32),
    )


EDGE_READERS: dict[str, Reader] = {"store": read_store, "sim": read_sim}


def round_config(record: ConfigRecord | dict[str, object]) -> RoundConfig:
    """The received round config, validated; it must carry the scaler."""
    rc = RoundConfig.from_record(record)
    if not rc.has_scaler:
        raise RoundConfigError("round config has an empty scaler (scaler-lo / scaler-hi)")
    return rc


def node_windows(rc: RoundConfig, node: NodeSettings) -> tuple[np.ndarray, np.ndarray]:
    lo = np.asarray(rc.scaler_lo, dtype=np.float32)
    hi = np.asarray(rc.scaler_hi, dtype=np.float32)
    return load_windows(
        node.data, lo, hi, rc.window, cache_dir=node.state_dir, readers=EDGE_READERS
    )


def training_imports(threads: int = 1) -> float:
    """Import what training needs (torch, Opacus, the model) and give torch ``threads``
    intra-op threads: the seconds it took."""
    t0 = time.perf_counter()
    import opacus  # noqa: F401
    import torch

    import models.lstm_ae  # noqa: F401

    torch.set_num_threads(threads)
    return time.perf_counter() - t0


def global_evaluation(weights: list[np.ndarray], held: np.ndarray) -> dict[str, float]:
    """The node's held-out loss and own 99.5 % quantile of the model it was sent."""
    if len(held) == 0:
        return {}
    t0 = time.perf_counter()
    loss, q995 = fast_eval.evaluate(weights, held)
    return {
        "global-loss": loss,
        "global-threshold-q995": q995,
        "held-out": float(len(held)),
        "eval-s": time.perf_counter() - t0,
    }


def train_round(
    asked: RoundConfig, weights: list[np.ndarray], node: NodeSettings
) -> tuple[FitOutcome, dict[str, float]]:
    """One round as the node's policy allows it: (outcome, the reply's metrics): the
    evaluation of the received global model on the held-out windows, then the training."""
    rc = node.apply(asked)
    train_w, held = node_windows(rc, node)
    before = global_evaluation(weights, held)
    imported = training_imports(node.train_threads)
    accountant = (
        PersistentAccountant(node.state_dir / "privacy.json", rc.delta, node.budget(rc))
        if rc.dp
        else None
    )
    out = train(weights, train_w, rc, accountant, node.min_noise_multiplier)
    if out.budget_exhausted:
        log.warning(
            "fl %s: privacy budget spent (epsilon %.3f); sitting this round out",
            node.node_id,
            out.epsilon or 0,
        )
    metrics: dict[str, float] = {
        "num-examples": out.samples,
        "loss": 0.0 if math.isnan(out.loss) else out.loss,
        "duration-s": out.duration_s,
        "budget-exhausted": float(out.budget_exhausted),
        "dp-forced": float(rc.dp and not asked.dp),
        "import-s": imported,
    } | before
    if accountant is not None:
        metrics |= {
            "epsilon": float(out.epsilon or 0.0),
            "delta": rc.delta,
            "budget-epsilon": float(accountant.budget or 0.0),
            "budget-left": float(accountant.budget_left() or 0.0),
            "noise-multiplier": float(out.noise_multiplier or 0.0),
        }
    return out, metrics


def _parts(msg: Message, context: Context) -> tuple[RoundConfig, list[np.ndarray], NodeSettings]:
    rc = round_config(msg.content.config_records["config"])
    weights = msg.content.array_records["arrays"].to_numpy_ndarrays()
    return rc, weights, NodeSettings.from_node_config(context.node_config, context.node_id)


def _stamps(t_handler: float) -> dict[str, float]:
    """Wall-clock stamps of this message's life in the node (the hub derives the breakdown)."""
    return {
        "t-process": T_PROCESS,
        "t-app-import": T_APP_IMPORT,
        "t-handler": t_handler,
        "t-reply": time.time(),
    }


def _served(context: Context) -> None:
    """Count, in the run's ``Context.state`` (the SuperNode keeps it between the one-message
    processes of a run), the messages this node served. The privacy accountant and the
    window cache stay on disk: ``Context.state`` is lost when the SuperNode restarts."""
    rec = context.state.config_records.get("fednids")
    n = int(rec.get("messages", 0)) if rec is not None else 0  # type: ignore[arg-type]
    context.state.config_records["fednids"] = ConfigRecord({"messages": n + 1})


@app.train()
def train_fn(msg: Message, context: Context) -> Message:
    t_handler = time.time()
    rc, weights, node = _parts(msg, context)
    out, metrics = train_round(rc, weights, node)
    _served(context)
    content = RecordDict(
        {
            "arrays": ArrayRecord([np.asarray(w) for w in out.weights]),
            "metrics": MetricRecord(metrics | _stamps(t_handler)),  # type: ignore[arg-type]
            "node": ConfigRecord({"node-id": node.node_id}),
        }
    )
    return Message(content=content, reply_to=msg)


@app.evaluate()
def evaluate_fn(msg: Message, context: Context) -> Message:
    """The held-out loss and threshold of the model sent (numpy: no torch, no Opacus; with
    ``eval-impl = "torch"`` in the config, the torch model as before, for the benchmark's
    old path)."""
    t_handler = time.time()
    rc, weights, node = _parts(msg, context)
    _, held = node_windows(node.apply(rc), node)
    t0 = time.perf_counter()
    if msg.content.config_records["config"].get("eval-impl") == "torch":
        from federated.task import evaluate

        loss, q995 = evaluate(weights, held, rc)
    else:
        loss, q995 = fast_eval.evaluate(weights, held)
    metrics = {"num-examples": len(held), "loss": loss, "threshold-q995": q995}
    metrics |= {"eval-s": time.perf_counter() - t0} | _stamps(t_handler)
    _served(context)
    content = RecordDict(
        {
            "metrics": MetricRecord(metrics),  # type: ignore[arg-type]
            "node": ConfigRecord({"node-id": node.node_id}),
        }
    )
    return Message(content=content, reply_to=msg)


T_APP_IMPORT = time.time()
"""When this module (the app) was imported: the process had started, loaded Flower and
pulled its message."""
