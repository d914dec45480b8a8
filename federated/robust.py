"""The hub's defences against a hostile node, as numpy over the replies' arrays.

A node keeps a valid certificate and can send whatever Flower accepts. So, per round:

* a reply is checked before it counts: one array record with exactly the global model's
  arrays (names, shapes), every value finite; the sample count a finite number, capped at
  ``max_samples``; a threshold finite and in ``(0, max_threshold]``. Anything else is
  refused with its reason (the run goes on without that reply);
* each update (the node's weights minus the round's global weights) is clipped to an L2
  bound over all arrays: ``clip_norm`` if set, and ``clip_factor`` x the median norm of the
  round's updates (a bound no honest majority exceeds, and no single node can move);
* the aggregate is FedAvg (sample-weighted mean), the coordinate-wise trimmed mean or the
  median (Flower's ``FedTrimmedAvg`` / ``FedMedian``, which ignore the self-reported counts).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np

Aggregator = Literal["fedavg", "trimmed-mean", "median"]


@dataclass(frozen=True)
class Defences:
    aggregator: Aggregator = "fedavg"
    trim_beta: float = 0.2
    clip_norm: float = 0.0
    """Absolute L2 bound on a node's update (0 = none)."""
    clip_factor: float = 5.0
    """Bound = this x the round's median update norm (0 = none)."""
    max_samples: int = 200_000
    max_threshold: float = 1.0


class Refused(ValueError):
    """A reply that cannot count; the message is the reason (it goes into the FL event)."""


def check_arrays(arrays: dict[str, np.ndarray], reference: dict[str, np.ndarray]) -> None:
    if set(arrays) != set(reference):
        raise Refused(f"arrays {sorted(arrays)[:4]} are not the model's {sorted(reference)[:4]}")
    for k, ref in reference.items():
        a = arrays[k]
        if a.shape != ref.shape:
            raise Refused(f"array {k} has shape {a.shape}, the model's is {ref.shape}")
        if not np.issubdtype(a.dtype, np.floating) or not np.isfinite(a).all():
            raise Refused(f"array {k} is not finite floating point")


def check_count(value: object, cap: int) -> tuple[int, bool]:
    """(the count to use, whether it was capped)."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise Refused(f"num-examples {value!r} is not a finite number")
    if value < 0:
        raise Refused(f"num-examples {value!r} is negative")
    return min(int(value), cap), value > cap


def check_threshold(value: object, bound: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise Refused(f"threshold {value!r} is not a finite number")
    if not 0 < value <= bound:
        raise Refused(f"threshold {value!r} is outside (0, {bound}]")
    return float(value)


def update_norm(arrays: dict[str, np.ndarray], base: dict[str, np.ndarray]) -> float:
    return math.sqrt(sum(float(np.sum((arrays[k] - base[k]) ** 2)) for k in base))


def clip_bound(norms: list[float], d: Defences) -> float:
    bounds = [d.clip_norm] if d.clip_norm > 0 else []
    if d.clip_factor > 0 and norms:
        bounds.append(d.clip_factor * float(np.median(norms)))
    return min(bounds) if bounds else math.inf


def clipped(
    arrays: dict[str, np.ndarray], base: dict[str, np.ndarray], norm: float, bound: float
) -> dict[str, np.ndarray]:
    if norm <= bound or norm == 0:
        return arrays
    s = bound / norm
    return {k: (base[k] + (arrays[k] - base[k]) * s).astype(base[k].dtype) for k in base}


def aggregate(
    updates: list[dict[str, np.ndarray]], samples: list[int], d: Defences
) -> dict[str, np.ndarray]:
    if d.aggregator == "fedavg":
        return _weighted_mean(updates, samples)
    out: dict[str, np.ndarray] = {}
    for k in updates[0]:
        stack = np.stack([u[k] for u in updates])
        if d.aggregator == "median":
            agg = np.median(stack, axis=0)
        else:
            from flwr.serverapp.strategy.fedtrimmedavg import trim_mean

            agg = trim_mean(stack, d.trim_beta)
        out[k] = np.asarray(agg, dtype=updates[0][k].dtype)
    return out


def _weighted_mean(
    updates: list[dict[str, np.ndarray]], samples: list[int]
) -> dict[str, np.ndarray]:
    """FedAvg, in the order and precision of Flower's ``aggregate_arrayrecords``."""
    total = float(sum(samples))
    factors = [n / total for n in samples] if total > 0 else [1.0 / len(samples)] * len(samples)
    out: dict[str, np.ndarray] = {}
    for u, f in zip(updates, factors, strict=True):
        for k, v in u.items():
            out[k] = v * f if k not in out else out[k] + v * f
    return out


def combine_thresholds(values: list[float], samples: list[int], d: Defences) -> float | None:
    """The fleet threshold: the sample-weighted mean (FedAvg) or the median (robust)."""
    if not values:
        return None
    if d.aggregator != "fedavg":
        return float(np.median(values))
    total = float(sum(samples))
    if total <= 0:
        return float(np.mean(values))
    return float(sum(v * (n / total) for v, n in zip(values, samples, strict=True)))
