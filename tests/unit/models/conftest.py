"""One tiny exported model for the whole models test run (TensorFlow is slow to import)."""

from __future__ import annotations

import pytest

from edge_agent.capture import open_source
from edge_agent.pipeline import Pipeline


def sim_flows(spec: str) -> list:
    pipe = Pipeline("t")
    events = [e for p in open_source(spec) for e in pipe.feed(p)] + pipe.close()
    return [e for e in events if e.kind == "flow"]


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory):
    from models.lstm_ae import LstmConfig
    from models.train import train_and_export

    out = tmp_path_factory.mktemp("lstm") / "v1"
    flows = sim_flows("sim:benign?seed=5&hosts=12&duration=300")
    meta = train_and_export(flows, out, LstmConfig(epochs=3, hidden=8))
    return out, meta
