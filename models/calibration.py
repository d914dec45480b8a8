"""Representative windows for int8 calibration from the project's own simulated benign
traffic (never a node's data): what the hub uses when it exports a federated model."""

from __future__ import annotations

from pathlib import Path

import numpy as np

CALIBRATION_SPEC = "sim:benign?seed=901&hosts=12&duration=120&net=10.250.0"


def calibration_windows(lo: np.ndarray, hi: np.ndarray, window: int, cache: Path) -> np.ndarray:
    from edge_agent.fl.local_data import load_windows

    train, held = load_windows(CALIBRATION_SPEC, lo, hi, window, cache_dir=cache)
    return np.concatenate([train, held])
