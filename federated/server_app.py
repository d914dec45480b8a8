"""The Flower ``ServerApp`` (Message API) the hub's ``flower-superlink`` runs for ``flwr run``.

Rounds of FedAvg (weighted by samples) over the agents' DP-trained LSTM autoencoders; each
round's server and client metrics go out as FL events; after the last round (or every N
rounds) the global model is exported to int8 TFLite, signed and announced to the fleet.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from flwr.app import ArrayRecord, ConfigRecord, Context, MetricRecord
from flwr.serverapp import Grid, ServerApp

from contracts.events import FLEvent
from federated.events import FLEventSink
from federated.fast_grid import FastPollGrid
from federated.settings import FLServerSettings
from federated.strategy import FedNidsAvg
from federated.task import initial_weights

log = logging.getLogger(__name__)
app = ServerApp()


@dataclass
class FLRunSummary:
    rounds: int = 0
    round_seconds: dict[int, float] = field(default_factory=dict)
    train_seconds: dict[int, float] = field(default_factory=dict)
    """round -> seconds of its training exchange alone (without an evaluation round)"""
    timings: dict[int, dict[str, dict[str, dict[str, float]]]] = field(default_factory=dict)
    """round -> "train" / "evaluate" -> node -> where the time went (federated/timing.py)"""
    global_loss: dict[int, float] = field(default_factory=dict)
    """round -> the nodes' held-out loss of that round's global model"""
    losses: dict[int, float | None] = field(default_factory=dict)
    epsilons: dict[str, list[float]] = field(default_factory=dict)
    threshold: float | None = None
    thresholds_by_node: dict[str, float] = field(default_factory=dict)
    update_bytes: int = 0
    published: list[int] = field(default_factory=list)
    refused: list[tuple[int, str, str]] = field(default_factory=list)
    """(round, node, reason) of replies that did not count"""
    clipped: list[tuple[int, str, float]] = field(default_factory=list)
    """(round, node, update norm before clipping)"""
    events_failed: int = 0
    fp_feedback: list[dict[str, Any]] = field(default_factory=list)
    """Per published model: the false positives applied per node, the resulting thresholds
    (``federated/feedback.py``; empty when ``feedback-db`` is off)."""
    final_weights: list[np.ndarray] = field(default_factory=list, repr=False)


def _registry(s: FLServerSettings) -> Any:
    if not (s.publish and s.registry_dir and s.signing_key):
        return None
    from contracts.transports import TransportOptions
    from hub.registry import ModelRegistry, RegistryConfig

    opts = TransportOptions(
        client_id="hub-model-registry",
        ca_file=Path(s.mqtt_ca) if s.mqtt_ca else None,
        cert_file=Path(s.mqtt_cert) if s.mqtt_cert else None,
        key_file=Path(s.mqtt_key) if s.mqtt_key else None,
    )
    return ModelRegistry(
        RegistryConfig(
            state_dir=Path(s.registry_dir),
            signing_key=Path(s.signing_key),
            mqtt_url=s.mqtt_url or None,
            mqtt_options=opts,
            # the announcement goes to a broker; a jsonl: file of FL events (the demo) is not one
            events_url=s.events_url if "://" in s.events_url else None,
            fleet_id=s.fleet_id or None,
        )
    )


def run_federation(grid: Grid, s: FLServerSettings) -> FLRunSummary:
    meta = json.loads((s.base_model_dir / "metadata.json").read_text())
    lo = np.asarray(meta["scaler"]["lo"], dtype=np.float32)
    hi = np.asarray(meta["scaler"]["hi"], dtype=np.float32)
    window = int(meta["window"])
    round_config = s.round_config(window, [float(v) for v in lo], [float(v) for v in hi])
    initial = initial_weights(round_config, len(lo))
    sink = FLEventSink(s.events_url or None)
    registry = _registry(s)

    def publish_due(rnd: int) -> bool:
        return rnd == s.num_rounds or bool(s.publish_every and rnd % s.publish_every == 0)

    def evaluate_due(rnd: int) -> bool:
        """An evaluation round trip: old path, every publishing round; else only the last
        round's model needs one (the others are evaluated in the next round's replies)."""
        if registry is None:
            return False
        return publish_due(rnd) if s.eval_wave else rnd == s.num_rounds and publish_due(rnd)

    strategy = FedNidsAvg(
        sink,
        server_node=s.server_node,
        evaluate_round=evaluate_due,
        defences=s.defences(),
        fraction_train=s.fraction_train,
        fraction_evaluate=s.fraction_evaluate,
        min_train_nodes=s.min_nodes,
        min_evaluate_nodes=s.min_nodes if s.fraction_evaluate > 0 else 0,
        min_available_nodes=s.min_nodes,
    )
    config = round_config.to_record()
    eval_config = ConfigRecord(dict(config) | {"eval-impl": "torch"}) if s.eval_wave else config
    summary = FLRunSummary()
    previous: dict[int, ArrayRecord] = {}

    def to_publish(rnd: int, arrays: ArrayRecord) -> list[tuple[int, ArrayRecord]]:
        """(round, global model) to publish now: a publishing round's model once its nodes'
        thresholds are known (the next round's replies; the last round: its evaluation)."""
        due = [(rnd, arrays)] if publish_due(rnd) and (s.eval_wave or rnd == s.num_rounds) else []
        if not s.eval_wave and rnd - 1 in previous and publish_due(rnd - 1):
            due.insert(0, (rnd - 1, previous[rnd - 1]))
        previous.clear()
        previous[rnd] = arrays
        return due

    def after_round(rnd: int, arrays: ArrayRecord) -> MetricRecord | None:
        if rnd == 0:
            return None
        summary.rounds = rnd
        summary.losses[rnd] = strategy.last_loss
        strategy.end_round(rnd)
        for r, model in to_publish(rnd, arrays) if registry is not None else []:
            known = strategy.thresholds_for(r)
            if known is None:
                log.warning("fl: round %d's model has no thresholds, not published", r)
                continue
            strategy.threshold, strategy.thresholds_by_node = known[0], dict(known[1])
            _publish(
                registry,
                model,
                r,
                window,
                lo,
                hi,
                strategy,
                s,
                sink,
                summary,
                int(meta.get("version", 0)),
            )
        return None

    result = strategy.start(
        grid=FastPollGrid(grid, s.poll_s),
        initial_arrays=ArrayRecord([np.asarray(w) for w in initial]),
        num_rounds=s.num_rounds,
        timeout=s.round_timeout_s,
        train_config=config,
        evaluate_config=eval_config,
        evaluate_fn=after_round,
    )
    summary.round_seconds = dict(strategy.round_seconds)
    summary.train_seconds = dict(strategy.train_seconds)
    summary.timings = dict(strategy.timings)
    summary.global_loss = dict(strategy.global_loss)
    summary.epsilons = strategy.epsilons
    summary.threshold = strategy.threshold
    summary.thresholds_by_node = dict(strategy.thresholds_by_node)
    summary.update_bytes = strategy.update_bytes
    summary.refused = list(strategy.refused)
    summary.clipped = list(strategy.clipped)
    summary.events_failed = sink.failed
    summary.final_weights = result.arrays.to_numpy_ndarrays() if result.arrays else []
    sink.close()
    if s.summary_path:
        data = {k: v for k, v in asdict(summary).items() if k != "final_weights"}
        Path(s.summary_path).write_text(json.dumps(data, indent=2))
        if summary.final_weights:
            np.savez(Path(s.summary_path).with_suffix(".npz"), *summary.final_weights)
    return summary


def _publish(
    registry: Any,
    arrays: ArrayRecord,
    rnd: int,
    window: int,
    lo: np.ndarray,
    hi: np.ndarray,
    strategy: FedNidsAvg,
    s: FLServerSettings,
    sink: FLEventSink,
    summary: FLRunSummary,
    base_version: int,
) -> None:
    from federated.export import export_global
    from federated.feedback import feedback_for_export, fleet_metrics, node_events

    t0 = time.perf_counter()
    staging = Path(s.registry_dir) / "staging" / f"round-{rnd}"
    eps = {n: v[-1] for n, v in strategy.epsilons.items() if v}
    by_node, fleet = dict(strategy.thresholds_by_node), strategy.threshold or 0.0
    fb = None
    if s.feedback_db:  # false positives marked on the hub raise the thresholds (bounded)
        name = registry.config.model_name
        fb = feedback_for_export(s.feedback_db, by_node, fleet, name, s.feedback_bounds())
        by_node, fleet = fb.thresholds_by_node, fb.threshold
    export_global(
        arrays.to_numpy_ndarrays(),
        window,
        s.hidden,
        lo,
        hi,
        fleet,
        staging,
        s.base_model_dir,
        extra={
            "fl_round": rnd,
            "epsilon_by_node": eps,
            "delta": s.delta if s.dp else None,
            # each agent alarms against its own calibration of the global model (the agents
            # pick theirs by node id); the fleet threshold stays for nodes not listed
            "thresholds_by_node": by_node,
            **({"fp_feedback": fb.metadata()} if fb is not None else {}),
        },
    )
    ann = registry.publish(staging, floor=base_version)
    summary.published.append(ann.version)
    version = f"{ann.model_name}-{ann.version}"
    if fb is not None:
        summary.fp_feedback.append({"round": rnd, "version": ann.version, **fb.summary()})
    sink.emit(
        [
            FLEvent(
                node_id=strategy.server_node,
                role="server",
                round=rnd,
                phase="model_published",
                model_version=version,
                duration_s=time.perf_counter() - t0,
                metrics=fleet_metrics(fb) if fb is not None else {},
            ),
            *(node_events(fb, rnd, version) if fb is not None else []),
        ]
    )
    log.info("fl: round %d model published as version %d", rnd, ann.version)


@app.main()
def main(grid: Grid, context: Context) -> None:
    run_federation(grid, FLServerSettings.model_validate(dict(context.run_config)))
