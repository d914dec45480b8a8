"""benchmarks/dp_utility.py's fed-finetune-job point: the flow store it writes for a node
(the agent's FlowStore) windows and splits exactly as the node's .npz the simulated points
train on, so the shipped job and the simulation see the same train / held-out windows."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from benchmarks.fl_rounds import node_of, split_nodes
from contracts.features import FLOW_FEATURES
from edge_agent.flows.store import FlowStore
from federated.client_app import read_store
from federated.local_data import load_windows
from tests.unit.contracts.samples import flow


def test_each_node_store_gives_the_windows_of_its_npz(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    flows = [
        flow(
            src_ip=f"192.168.1.{i % 9 + 10}",
            flow_id=f"f-{i}",
            end_ts=1_700_000_000.0 + float(rng.uniform(0, 600)),
            features=[float(v) for v in rng.uniform(0, 50, len(FLOW_FEATURES))],
        )
        for i in range(600)
    ]
    lo = np.zeros(len(FLOW_FEATURES), dtype=np.float32)
    hi = np.full(len(FLOW_FEATURES), 4.0, dtype=np.float32)
    checked = 0
    for npz in split_nodes(flows, tmp_path):
        mine = [f for f in flows if node_of(f.src_ip) == npz.stem]
        if not mine:
            continue
        store = FlowStore(tmp_path / npz.stem / "flows.db")
        try:
            store.add(mine)
        finally:
            store.close()
        spec = f"store:{tmp_path / npz.stem / 'flows.db'}"
        got = load_windows(spec, lo, hi, 10, readers={"store": read_store})
        want = load_windows(f"npz:{npz}", lo, hi, 10)
        for x, y in zip(got, want, strict=True):
            assert len(x) > 0
            np.testing.assert_array_equal(x, y)
        checked += 1
    assert checked >= 2
