"""FedAvg (or a robust aggregator) over checked, clipped updates, with FL events per round and
per client, nodes whose privacy budget is spent left out of the average, and the federated
threshold from the nodes' own held-out errors.

A reply counts only once :mod:`federated.robust` has checked it, and only under the node's
own name: the name the SuperNode's key was registered with (``flwr supernode register
--name``), or without node authentication the first name a Flower node claimed in the run.
A reply claiming another node's name, or malformed in any way, is refused with its reason
(an FL event with ``metrics.refused = 1``) and the round goes on without it.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Iterable

import grpc
import numpy as np
from flwr.app import Array, ArrayRecord, ConfigRecord, Message, MetricRecord
from flwr.serverapp import Grid
from flwr.serverapp.strategy import FedAvg

from contracts.events import FLEvent
from federated.events import FLEventSink
from federated.fast_grid import Exchange
from federated.robust import (
    Defences,
    Refused,
    aggregate,
    check_arrays,
    check_count,
    check_threshold,
    clip_bound,
    clipped,
    combine_thresholds,
    update_norm,
)
from federated.timing import breakdown

log = logging.getLogger(__name__)


def _metrics(msg: Message) -> dict[str, float]:
    recs = list(msg.content.metric_records.values())
    if len(recs) != 1:
        raise Refused(f"{len(recs)} metric records, expected 1")
    return {k: float(v) for k, v in recs[0].items() if isinstance(v, int | float)}


def _claimed(msg: Message) -> str | None:
    rec = msg.content.config_records.get("node")
    value = rec.get("node-id") if rec is not None else None
    return str(value) if isinstance(value, str) and value else None


def registered_names(grid: Grid) -> dict[int, str]:
    """Flower node id -> the name its key was registered with ('' when unauthenticated)."""
    try:
        return {int(n.node_id): str(n.name) for n in grid.get_nodes() if n.name}
    except (grpc.RpcError, NotImplementedError, AttributeError, RuntimeError) as exc:
        # a grid without node infos: identities fall back to the first claims
        log.debug("fl: no node names from the grid: %s", exc)
        return {}


class FedNidsAvg(FedAvg):
    def __init__(
        self,
        sink: FLEventSink,
        server_node: str = "hub",
        evaluate_round: Callable[[int], bool] | None = None,
        defences: Defences | None = None,
        **kwargs: object,
    ) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.sink = sink
        self.evaluate_round = evaluate_round or (lambda _rnd: True)
        self.server_node = server_node
        self.defences = defences or Defences()
        self.threshold: float | None = None
        self.thresholds_by_node: dict[str, float] = {}
        """each node's own 99.5 % quantile on its held-out windows (last evaluation round)"""
        self.last_loss: float | None = None
        self.epsilons: dict[str, list[float]] = {}
        self.round_seconds: dict[int, float] = {}
        self.update_bytes: int = 0
        self.refused: list[tuple[int, str, str]] = []
        """(round, node, reason) of every reply that did not count"""
        self.clipped: list[tuple[int, str, float]] = []
        """(round, node, the update's L2 norm before clipping)"""
        self.thresholds_of: dict[int, tuple[float, dict[str, float]]] = {}
        """round -> (fleet threshold, each node's own) of that round's GLOBAL model: from the
        next round's training replies (each node evaluates the model it receives) or from an
        evaluation round"""
        self.global_loss: dict[int, float] = {}
        """round -> the nodes' held-out loss of that round's global model (sample-weighted)"""
        self.timings: dict[int, dict[str, dict[str, dict[str, float]]]] = {}
        """round -> "train" / "evaluate" -> node -> :func:`federated.timing.breakdown`"""
        self.train_seconds: dict[int, float] = {}
        """round -> seconds from sending the training messages to the aggregate"""
        self._grid: Grid | None = None
        self._held_losses: dict[int, list[tuple[float, int]]] = {}
        self._t_round: float = time.perf_counter()
        self._global: dict[str, np.ndarray] = {}
        self._names: dict[int, str] = {}
        self._claims: dict[str, int] = {}

    def configure_train(
        self, server_round: int, arrays: ArrayRecord, config: ConfigRecord, grid: Grid
    ) -> Iterable[Message]:
        self._t_round = time.perf_counter()
        self.update_bytes = sum(a.numpy().nbytes for a in arrays.values())
        self._global = {k: a.numpy() for k, a in arrays.items()}
        self._names = registered_names(grid)
        self._grid = grid
        return super().configure_train(server_round, arrays, config, grid)

    def identity(self, msg: Message) -> str:
        """The reply's node name, checked against the registered one (or the first claim)."""
        src = int(msg.metadata.src_node_id)
        claimed = _claimed(msg)
        registered = self._names.get(src)
        if registered is not None:
            if claimed is not None and claimed != registered:
                raise Refused(f"claims node id {claimed!r}, registered as {registered!r}")
            return registered
        name = claimed or f"flwr-{src}"
        owner = self._claims.setdefault(name, src)
        if owner != src:
            raise Refused(f"claims node id {name!r}, already used by another Flower node")
        return name

    def _sender(self, msg: Message) -> str:
        """Who sent a refused reply: its registered name, never the id it claims (an
        impersonating reply must not be recorded against its victim)."""
        return self._names.get(int(msg.metadata.src_node_id)) or _claimed(msg) or "unknown"

    def _refuse(self, rnd: int, node: str, reason: str) -> FLEvent:
        log.warning("fl round %d: reply of %s refused: %s", rnd, node, reason)
        self.refused.append((rnd, node, reason))
        return FLEvent(
            node_id=node, role="client", round=rnd, phase="fit", metrics={"refused": 1.0}
        )

    def _checked_train(
        self, rnd: int, msg: Message
    ) -> tuple[str, dict[str, float], dict[str, np.ndarray] | None, int]:
        node = self.identity(msg)
        met = _metrics(msg)
        samples, capped = check_count(met.get("num-examples", math.nan), self.defences.max_samples)
        if capped:
            log.warning(
                "fl round %d: %s reported %s samples, capped", rnd, node, met["num-examples"]
            )
        if samples == 0:
            return node, met, None, 0
        recs = list(msg.content.array_records.values())
        if len(recs) != 1:
            raise Refused(f"{len(recs)} array records, expected 1")
        arrays = {k: a.numpy() for k, a in recs[0].items()}
        check_arrays(arrays, self._global)
        return node, met, arrays, samples

    def aggregate_train(
        self, server_round: int, replies: Iterable[Message]
    ) -> tuple[ArrayRecord | None, MetricRecord | None]:
        replies = list(replies)
        ok = [m for m in replies if not m.has_error()]
        events: list[FLEvent] = []
        good: list[tuple[str, dict[str, float], dict[str, np.ndarray], int]] = []
        exhausted = 0
        inband: dict[str, tuple[float, int]] = {}
        for m in ok:
            try:
                node, met, arrays, samples = self._checked_train(server_round, m)
            except (Refused, ValueError, TypeError, KeyError) as exc:
                events.append(self._refuse(server_round, self._sender(m), str(exc)))
                continue
            self._timed(server_round, "train", node, m, met)
            self._inband(server_round, node, met, inband)
            eps = met.get("epsilon")
            if eps is not None and math.isfinite(eps):
                self.epsilons.setdefault(node, []).append(eps)
            events.append(self._client_event(server_round, node, met, samples, arrays is None))
            if arrays is None:
                exhausted += 1
            else:
                good.append((node, met, arrays, samples))
        if inband:
            self._keep_thresholds(server_round - 1, inband)
        arrays_out, metrics = self._combine(server_round, good)
        duration = time.perf_counter() - self._t_round
        self.train_seconds[server_round] = duration
        events.append(
            FLEvent(
                node_id=self.server_node,
                role="server",
                round=server_round,
                phase="aggregate",
                loss=self.last_loss,
                participants=len(good),
                samples=sum(g[3] for g in good),
                duration_s=duration,
                metrics={
                    "failures": float(len(replies) - len(ok)),
                    "budget_exhausted": float(exhausted),
                    "refused": float(sum(1 for r in self.refused if r[0] == server_round)),
                    "clipped": float(sum(1 for c in self.clipped if c[0] == server_round)),
                    "update_bytes": float(self.update_bytes),
                },
            )
        )
        self.sink.emit(events)
        return arrays_out, metrics

    def _client_event(
        self, rnd: int, node: str, met: dict[str, float], samples: int, sat_out: bool
    ) -> FLEvent:
        exhausted = bool(met.get("budget-exhausted", 0.0)) or sat_out
        return FLEvent(
            node_id=node,
            role="client",
            round=rnd,
            phase="budget_exhausted" if exhausted else "fit",
            loss=None if exhausted else _finite(met.get("loss")),
            samples=samples,
            duration_s=_finite(met.get("duration-s")) or 0.0,
            epsilon=_finite(met.get("epsilon")),
            delta=_finite(met.get("delta")),
            budget_epsilon=_finite(met.get("budget-epsilon")),
            budget_left=_finite(met.get("budget-left")),
            metrics={"noise_multiplier": _finite(met.get("noise-multiplier")) or 0.0}
            | ({"global_loss": g} if (g := _finite(met.get("global-loss"))) is not None else {}),
        )

    def _timed(self, rnd: int, kind: str, node: str, msg: Message, met: dict[str, float]) -> None:
        last = getattr(self._grid, "last", None)
        if not isinstance(last, Exchange):
            return
        got = last.received.get(int(msg.metadata.src_node_id), 0.0)
        parts = breakdown(met, last.pushed, got)
        if parts:
            self.timings.setdefault(rnd, {}).setdefault(kind, {})[node] = parts

    def _inband(
        self, rnd: int, node: str, met: dict[str, float], out: dict[str, tuple[float, int]]
    ) -> None:
        """The node's evaluation of the global model it received (round ``rnd - 1``'s)."""
        if "global-threshold-q995" not in met:
            return
        try:
            q = check_threshold(met["global-threshold-q995"], self.defences.max_threshold)
            n, _ = check_count(met.get("held-out", math.nan), self.defences.max_samples)
        except Refused as exc:
            log.warning("fl round %d: threshold of %s not used: %s", rnd, node, exc)
            self.refused.append((rnd, node, f"threshold: {exc}"))
            return
        out[node] = (q, n)
        loss = _finite(met.get("global-loss"))
        if loss is not None:
            self._held_losses.setdefault(rnd - 1, []).append((loss, n))

    def _keep_thresholds(self, rnd: int, by_node: dict[str, tuple[float, int]]) -> float | None:
        """Combine the nodes' own thresholds of round ``rnd``'s global model, and keep them."""
        values, counts = [v for v, _ in by_node.values()], [n for _, n in by_node.values()]
        q = combine_thresholds(values, counts, self.defences)
        losses = self._held_losses.get(rnd, [])
        if losses and sum(n for _, n in losses) > 0:
            total = sum(n for _, n in losses)
            self.global_loss[rnd] = sum(v * n for v, n in losses) / total
        if q is None:
            return None
        self.thresholds_of[rnd] = (q, {k: v for k, (v, _) in by_node.items()})
        return q

    def thresholds_for(self, rnd: int) -> tuple[float, dict[str, float]] | None:
        """The thresholds of round ``rnd``'s global model, or None: never another model's
        (a model whose own thresholds were all refused is not published with an earlier
        model's, which would alarm on benign traffic or miss attacks)."""
        return self.thresholds_of.get(rnd)

    def _combine(
        self,
        rnd: int,
        good: list[tuple[str, dict[str, float], dict[str, np.ndarray], int]],
    ) -> tuple[ArrayRecord | None, MetricRecord | None]:
        if not good:
            self.last_loss = None
            return None, None
        norms = [update_norm(g[2], self._global) for g in good]
        bound = clip_bound(norms, self.defences)
        updates = []
        for (node, _, weights, _), norm in zip(good, norms, strict=True):
            if norm > bound:
                self.clipped.append((rnd, node, norm))
                log.warning(
                    "fl round %d: %s's update norm %.4g clipped to %.4g", rnd, node, norm, bound
                )
            kept = clipped(weights, self._global, norm, bound)
            updates.append({k: kept[k] for k in self._global})
        samples = [g[3] for g in good]
        agg = aggregate(updates, samples, self.defences)
        total = float(sum(samples))
        losses = [
            (_finite(g[1].get("loss")) or 0.0, n / total)
            for g, n in zip(good, samples, strict=True)
        ]
        self.last_loss = sum(v * f for v, f in losses)
        out = ArrayRecord({k: Array(np.asarray(v)) for k, v in agg.items()})
        return out, MetricRecord({"loss": self.last_loss, "num-examples": int(total)})

    def configure_evaluate(
        self, server_round: int, arrays: ArrayRecord, config: ConfigRecord, grid: Grid
    ) -> Iterable[Message]:
        """Federated evaluation (the nodes' held-out errors -> the threshold) only on the
        rounds that need it (the ones whose model is published): it costs a round trip."""
        if not self.evaluate_round(server_round):
            return []
        self._names = registered_names(grid)
        self._grid = grid
        return super().configure_evaluate(server_round, arrays, config, grid)

    def end_round(self, server_round: int) -> float:
        self.round_seconds[server_round] = time.perf_counter() - self._t_round
        return self.round_seconds[server_round]

    def aggregate_evaluate(
        self, server_round: int, replies: Iterable[Message]
    ) -> MetricRecord | None:
        by_node: dict[str, tuple[float, int]] = {}
        refused: list[FLEvent] = []
        for m in replies:
            if m.has_error():
                continue
            try:
                node = self.identity(m)
                met = _metrics(m)
                n, _ = check_count(met.get("num-examples", math.nan), self.defences.max_samples)
                own = check_threshold(
                    met.get("threshold-q995", math.nan), self.defences.max_threshold
                )
            except (Refused, ValueError, TypeError, KeyError) as exc:
                refused.append(self._refuse(server_round, self._sender(m), str(exc)))
                continue
            by_node[node] = (own, n)
            self._timed(server_round, "evaluate", node, m, met)
            loss = _finite(met.get("loss"))
            if loss is not None:
                self._held_losses.setdefault(server_round, []).append((loss, n))
        if refused:
            self.sink.emit(refused)
        self.thresholds_by_node = {k: v for k, (v, _) in by_node.items()}
        q = self._keep_thresholds(server_round, by_node)
        if q is None:
            return None
        self.threshold = q
        return MetricRecord(
            {"threshold-q995": q, "num-examples": sum(n for _, n in by_node.values())}
        )


def _finite(v: float | None) -> float | None:
    return v if v is not None and math.isfinite(v) else None
