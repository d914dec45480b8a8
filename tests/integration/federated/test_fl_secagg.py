"""SecAgg+ on a real deployment: the aggregate equals plain FedAvg's within SecAgg+'s
quantisation error, while the hub never sees an individual update."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from models.lstm_ae import LstmConfig, build_model, get_weights
from tests.harness.flower import SECAGG_APP_DIR, FlowerDeployment

pytestmark = pytest.mark.integration


def _weights(npz: Path) -> list[np.ndarray]:
    d = np.load(npz)
    return [d[k] for k in sorted(d.files, key=lambda k: int(k.split("_")[1]))]


def test_secagg_plus_aggregate_equals_fedavg(tmp_path):
    # prepare: 3 nodes with their own simulated benign data, no DP (deterministic updates)
    dep = FlowerDeployment(tmp_path / "flower", port=19600)
    # (secagg-max-weight bounds a node's sample count: the smaller, the finer the quantisation)
    common = {"num-rounds": 1, "min-nodes": 3, "dp": False, "hidden": 8, "round-timeout": 120.0}
    try:
        dep.start_superlink()
        for i in range(3):
            dep.start_supernode(
                f"sa{i}",
                f"sim:benign?seed={40 + i}&hosts=5&duration=40&net=10.{40 + i}.0",
                {"dp-required": False},  # provisioned without DP: the run compares raw sums
            )
        # execute: the same round, plain FedAvg then SecAgg+
        dep.run(common | {"summary-path": str(tmp_path / "plain.json")})
        dep.run(
            common | {"summary-path": str(tmp_path / "secagg.json"), "secagg-max-weight": 2000.0},
            app=SECAGG_APP_DIR,
        )
    finally:
        dep.stop()
    # assert
    plain, secagg = _weights(tmp_path / "plain.npz"), _weights(tmp_path / "secagg.npz")
    initial = get_weights(build_model(LstmConfig(hidden=8)))
    assert [w.shape for w in plain] == [w.shape for w in secagg] == [w.shape for w in initial]
    moved = max(float(np.abs(p - i).max()) for p, i in zip(plain, initial, strict=True))
    diff = max(float(np.abs(p - s).max()) for p, s in zip(plain, secagg, strict=True))
    assert moved > 1e-3, "training did not change the model"
    assert diff < 1e-3 < moved, f"SecAgg+ differs from FedAvg by {diff} (moved {moved})"
