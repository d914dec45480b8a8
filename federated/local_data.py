"""A node's own benign windows for federated training.

Data specs (the SuperNode's ``--node-config data=...``):

* ``npz:PATH`` - arrays ``src`` (N,), ``end_ts`` (N,), ``features`` (N, F) of raw flows
  (read here);
* ``store:PATH`` - the agent's flow store (unflagged hosts) and ``sim:SPEC`` - flows of a
  simulated scenario (``sim:benign?seed=3&net=10.3.0``): read by the readers the client app
  passes in (:data:`federated.client_app.EDGE_READERS`), the only code of this package that
  reads the edge's data structures.

Windows use the scaler the server sends (:mod:`contracts.scaling`), so every node feeds the
model the same scale. The first call per (spec, scaler) is cached in the node's state
directory (never for ``store:``, which grows).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from pathlib import Path

import numpy as np

from contracts.scaling import Scaler, windows_from_arrays
from federated.errors import LocalDataError

RawFlows = tuple[list[str], np.ndarray, np.ndarray]
"""(source hosts, end times, raw features (N, F))"""

Reader = Callable[[str], RawFlows]
MIN_WINDOWS = 10
__all__ = ["LocalDataError", "RawFlows", "Reader", "load_windows", "read_npz", "shuffled"]


def read_npz(path: str) -> RawFlows:
    try:
        d = np.load(path, allow_pickle=False)
        return [str(s) for s in d["src"]], d["end_ts"], d["features"]
    except (OSError, KeyError, ValueError) as exc:
        raise LocalDataError(f"{path}: not a flows .npz: {exc}") from exc


def _raw(spec: str, readers: Mapping[str, Reader]) -> RawFlows:
    kind, _, rest = spec.partition(":")
    known = {"npz": read_npz, **readers}
    if kind not in known:
        raise LocalDataError(
            f"unknown data spec {spec!r}: use {', '.join(f'{k}:...' for k in sorted(known))}"
        )
    return known[kind](rest)


def windows_from_raw(
    src: list[str],
    end_ts: np.ndarray,
    feats: np.ndarray,
    lo: np.ndarray,
    hi: np.ndarray,
    length: int,
) -> np.ndarray:
    """Sliding windows of each host's flows in end-time order, scaled as the edge does
    (:func:`contracts.scaling.windows_from_arrays`)."""
    return windows_from_arrays(src, end_ts, feats, Scaler.from_arrays(lo, hi), length)


def shuffled(windows: np.ndarray) -> np.ndarray:
    """The windows in the fixed order every split of this module uses (seed 0)."""
    return windows[np.random.default_rng(0).permutation(len(windows))]


def load_windows(
    spec: str,
    lo: np.ndarray,
    hi: np.ndarray,
    length: int,
    cache_dir: Path | None = None,
    readers: Mapping[str, Reader] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """(train, held-out) windows of this node: a fixed 80/20 split."""
    key = hashlib.sha256(
        f"{spec}|{length}".encode()
        + lo.astype(np.float32).tobytes()
        + hi.astype(np.float32).tobytes()
    ).hexdigest()[:16]
    cache = cache_dir / f"windows-{key}.npy" if cache_dir else None
    if cache is not None and cache.is_file() and not spec.startswith("store:"):
        windows = np.load(cache)
    else:
        windows = windows_from_raw(*_raw(spec, readers or {}), lo, hi, length)
        if cache is not None:
            cache.parent.mkdir(parents=True, exist_ok=True)
            np.save(cache, windows)
    if len(windows) < MIN_WINDOWS:
        raise LocalDataError(
            f"{spec}: only {len(windows)} benign windows; need at least {MIN_WINDOWS}"
        )
    order = shuffled(windows)
    cut = int(len(windows) * 0.8)
    return order[:cut], order[cut:]
