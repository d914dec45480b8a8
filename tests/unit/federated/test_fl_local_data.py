"""The agent keeps its flows in a local store; the FL client windows them for training."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from edge_agent.agent import Agent
from edge_agent.flows.store import FlowStore
from edge_agent.settings import AgentSettings
from federated.client_app import EDGE_READERS
from federated.local_data import LocalDataError, load_windows


def _scaler() -> tuple[np.ndarray, np.ndarray]:
    return np.zeros(49, dtype=np.float32), np.full(49, 12.0, dtype=np.float32)


def test_the_agent_fills_its_flow_store_and_flagged_hosts_stay_out(tmp_path):
    # prepare: an agent on a simulated network with an attack, memory:// uplink
    store_path = tmp_path / "flows.db"
    settings = AgentSettings(
        node_id="fl-store",
        source="sim:mixed?seed=4&hosts=6&duration=120",
        mqtt_url="memory://fl-store",
        outbox_path=tmp_path / "outbox.db",
        flow_store_path=store_path,
    )
    # execute
    result = Agent(settings).run(threading.Event(), drain_timeout=0.5)
    # assert
    store = FlowStore(store_path)
    total = len(store)
    hosts, _, feats = store.benign()
    store.close()
    assert total == result["flows"] > 0
    assert 0 < len(hosts) < total  # flows of flagged hosts are kept out of the training set
    assert feats.shape == (len(hosts), 49)
    lo, hi = _scaler()
    train, held = load_windows(f"store:{store_path}", lo, hi, 10, readers=EDGE_READERS)
    assert train.shape[1:] == (10, 49) and len(held) > 0
    assert float(train.min()) >= 0.0 and float(train.max()) <= 1.0


def test_sim_windows_are_cached_and_split_stably(tmp_path):
    lo, hi = _scaler()
    spec = "sim:benign?seed=2&hosts=6&duration=120"
    a_train, a_held = load_windows(spec, lo, hi, 10, cache_dir=tmp_path, readers=EDGE_READERS)
    b_train, b_held = load_windows(spec, lo, hi, 10, cache_dir=tmp_path, readers=EDGE_READERS)
    assert len(list(tmp_path.glob("windows-*.npy"))) == 1
    assert np.array_equal(a_train, b_train) and np.array_equal(a_held, b_held)


def test_bad_data_specs_are_clear_errors(tmp_path):
    lo, hi = _scaler()
    with pytest.raises(LocalDataError, match="unknown data spec"):
        load_windows("ftp://x", lo, hi, 10, readers=EDGE_READERS)
    with pytest.raises(LocalDataError, match="no flow store"):
        load_windows(f"store:{tmp_path / 'none.db'}", lo, hi, 10, readers=EDGE_READERS)
    (tmp_path / "bad.npz").write_bytes(b"garbage")
    with pytest.raises(LocalDataError, match="npz"):
        load_windows(f"npz:{tmp_path / 'bad.npz'}", lo, hi, 10)
