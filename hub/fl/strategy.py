"""FedAvg weighted by samples, with FL events per round and per client, nodes whose privacy
budget is spent left out of the average, and the federated threshold from the nodes' own
held-out errors."""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable

from flwr.app import ArrayRecord, ConfigRecord, Message, MetricRecord
from flwr.serverapp import Grid
from flwr.serverapp.strategy import FedAvg

from contracts.events import FLEvent
from hub.fl.events import FLEventSink


def _node_name(msg: Message) -> str:
    rec = msg.content.config_records.get("node")
    return str(rec["node-id"]) if rec and "node-id" in rec else f"flwr-{msg.metadata.src_node_id}"


def _metrics(msg: Message) -> dict[str, float]:
    rec = next(iter(msg.content.metric_records.values()))
    return {k: float(v) for k, v in rec.items() if isinstance(v, int | float)}


def _samples(msg: Message) -> int:
    return int(_metrics(msg).get("num-examples", 0))


class FedNidsAvg(FedAvg):
    def __init__(
        self,
        sink: FLEventSink,
        server_node: str = "hub",
        evaluate_round: Callable[[int], bool] | None = None,
        **kwargs: object,
    ) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.sink = sink
        self.evaluate_round = evaluate_round or (lambda _rnd: True)
        self.server_node = server_node
        self.threshold: float | None = None
        self.thresholds_by_node: dict[str, float] = {}
        """each node's own 99.5 % quantile on its held-out windows (last evaluation round)"""
        self.last_loss: float | None = None
        self.epsilons: dict[str, list[float]] = {}
        self.round_seconds: dict[int, float] = {}
        self.update_bytes: int = 0
        self._t_round: float = time.perf_counter()

    def configure_train(
        self, server_round: int, arrays: ArrayRecord, config: ConfigRecord, grid: Grid
    ) -> Iterable[Message]:
        self._t_round = time.perf_counter()
        self.update_bytes = sum(a.numpy().nbytes for a in arrays.values())
        return super().configure_train(server_round, arrays, config, grid)

    def aggregate_train(
        self, server_round: int, replies: Iterable[Message]
    ) -> tuple[ArrayRecord | None, MetricRecord | None]:
        replies = list(replies)
        ok = [m for m in replies if not m.has_error()]
        events: list[FLEvent] = []
        for m in ok:
            met = _metrics(m)
            node = _node_name(m)
            exhausted = bool(met.get("budget-exhausted", 0.0))
            eps = met.get("epsilon")
            if eps is not None:
                self.epsilons.setdefault(node, []).append(eps)
            events.append(
                FLEvent(
                    node_id=node,
                    role="client",
                    round=server_round,
                    phase="budget_exhausted" if exhausted else "fit",
                    loss=None if exhausted else met.get("loss"),
                    samples=int(met.get("num-examples", 0)),
                    duration_s=met.get("duration-s", 0.0),
                    epsilon=eps,
                    delta=met.get("delta"),
                    budget_epsilon=met.get("budget-epsilon"),
                    budget_left=met.get("budget-left"),
                    metrics={"noise_multiplier": met.get("noise-multiplier", 0.0)},
                )
            )
        contributing = [m for m in ok if _samples(m) > 0]
        arrays, metrics = (None, None)
        if contributing:
            arrays, metrics = super().aggregate_train(server_round, contributing)
        samples = sum(_samples(m) for m in contributing)
        loss = metrics.get("loss") if metrics is not None else None
        self.last_loss = float(loss) if isinstance(loss, int | float) else None
        duration = time.perf_counter() - self._t_round
        events.append(
            FLEvent(
                node_id=self.server_node,
                role="server",
                round=server_round,
                phase="aggregate",
                loss=self.last_loss,
                participants=len(contributing),
                samples=samples,
                duration_s=duration,
                metrics={
                    "failures": float(len(replies) - len(ok)),
                    "budget_exhausted": float(len(ok) - len(contributing)),
                    "update_bytes": float(self.update_bytes),
                },
            )
        )
        self.sink.emit(events)
        return arrays, metrics

    def configure_evaluate(
        self, server_round: int, arrays: ArrayRecord, config: ConfigRecord, grid: Grid
    ) -> Iterable[Message]:
        """Federated evaluation (the nodes' held-out errors -> the threshold) only on the
        rounds that need it (the ones whose model is published): it costs a round trip."""
        if not self.evaluate_round(server_round):
            return []
        return super().configure_evaluate(server_round, arrays, config, grid)

    def end_round(self, server_round: int) -> float:
        self.round_seconds[server_round] = time.perf_counter() - self._t_round
        return self.round_seconds[server_round]

    def aggregate_evaluate(
        self, server_round: int, replies: Iterable[Message]
    ) -> MetricRecord | None:
        replies = list(replies)
        by_node: dict[str, float] = {}
        for m in replies:
            if m.has_error():
                continue
            own = _metrics(m).get("threshold-q995")
            if own is not None and math.isfinite(own) and own > 0:
                by_node[_node_name(m)] = float(own)
        self.thresholds_by_node = by_node
        metrics = super().aggregate_evaluate(server_round, replies)
        q = metrics.get("threshold-q995") if metrics is not None else None
        if isinstance(q, int | float):
            self.threshold = float(q)
        return metrics
