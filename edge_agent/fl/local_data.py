"""A node's own benign windows for federated training: from its flow store, or (tests, demo,
benchmarks) from the simulator.

Data specs (the SuperNode's ``--node-config data=...``):

* ``store:PATH`` - the agent's :class:`~edge_agent.fl.flow_store.FlowStore` (unflagged hosts);
* ``sim:SPEC`` - flows of a simulated scenario (``sim:benign?seed=3&net=10.3.0``);
* ``npz:PATH`` - arrays ``src`` (N,), ``end_ts`` (N,), ``features`` (N, F) of raw flows.

Windows use the scaler the server sends, so every node feeds the model the same scale. The
first call per (spec, scaler) is cached in the node's state directory.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np

from contracts.events import FlowRecord
from contracts.scaling import Scaler, windows_from_arrays
from edge_agent.capture.errors import EdgeAgentError


class LocalDataError(EdgeAgentError):
    """The node's training data cannot be read."""


def _raw(spec: str) -> tuple[list[str], np.ndarray, np.ndarray]:
    kind, _, rest = spec.partition(":")
    if kind == "store":
        from edge_agent.fl.flow_store import FlowStore

        if not Path(rest).is_file():
            raise LocalDataError(f"{rest}: no flow store (has the agent run with one?)")
        store = FlowStore(Path(rest))
        try:
            return store.benign()
        finally:
            store.close()
    if kind == "npz":
        try:
            d = np.load(rest, allow_pickle=False)
            return [str(s) for s in d["src"]], d["end_ts"], d["features"]
        except (OSError, KeyError, ValueError) as exc:
            raise LocalDataError(f"{rest}: not a flows .npz: {exc}") from exc
    if kind == "sim":
        from edge_agent.capture import open_source
        from edge_agent.pipeline import Pipeline

        pipe = Pipeline("fl-local")
        events = [e for p in open_source(spec) if p is not None for e in pipe.feed(p)]
        flows = [e for e in events + pipe.close() if isinstance(e, FlowRecord)]
        return (
            [f.src_ip for f in flows],
            np.asarray([float(f.end_ts) for f in flows]),
            np.asarray([f.features for f in flows], dtype=np.float32),
        )
    raise LocalDataError(f"unknown data spec {spec!r}: use store:PATH, sim:SPEC or npz:PATH")


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


def load_windows(
    spec: str, lo: np.ndarray, hi: np.ndarray, length: int, cache_dir: Path | None = None
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
        windows = windows_from_raw(*_raw(spec), lo, hi, length)
        if cache is not None:
            cache.parent.mkdir(parents=True, exist_ok=True)
            np.save(cache, windows)
    if len(windows) < 10:
        raise LocalDataError(f"{spec}: only {len(windows)} benign windows; need at least 10")
    idx = np.random.default_rng(0).permutation(len(windows))
    cut = int(len(windows) * 0.8)
    return windows[idx[:cut]], windows[idx[cut:]]
