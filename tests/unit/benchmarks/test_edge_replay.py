"""edge_replay runs the agent's parts beside detection as the agent ships them: the IOC
detector (with a bundle), the passive inventory and the evidence ring, each of which can be
turned off for its cost; the detection scores do not depend on them."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from benchmarks.edge_replay import EXTRAS, run
from edge_agent.capture.frames import write_pcap
from edge_agent.capture.sim import SimConfig, simulate


def _capture(tmp_path: Path) -> Path:
    sim = simulate(SimConfig(scenario="mixed", seed=5, hosts=6, duration=60.0))
    path = tmp_path / "sim.pcap"
    write_pcap(path, sim.frames)
    return path


def test_the_extras_run_as_the_agent_runs_them_and_leave_the_scores_alone(tmp_path):
    # prepare
    pcap = _capture(tmp_path)
    # execute
    bare = run(pcap, 0, None, None, baseline=False)
    full = run(pcap, 0, None, None, baseline=False, extras=frozenset(EXTRAS), ioc_indicators=500)
    # assert: the ring holds frames, the inventory and the IOC detector counted, the scores
    # (rules, no LSTM) are the same with and without them
    assert bare["evidence_ring"] is None and bare["extras"] == []
    ring = full["evidence_ring"]
    assert ring is not None and ring["frames"] > 0 and ring["bytes"] > 0
    assert full["extras"] == sorted(EXTRAS)
    assert full["counters"]["inventory_assets"] > 0 and "inventory_assets" not in bare["counters"]
    assert "ioc" in full["detectors"] and "ioc" not in bare["detectors"]
    np.testing.assert_array_equal(full["scores"], bare["scores"])
