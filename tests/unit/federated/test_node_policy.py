"""The node's provisioned privacy policy wins over the server's round config: the real
ClientApp, a real train Message, the node's own (small) flows."""

from __future__ import annotations

import json

import pytest
from flwr.app import ArrayRecord, Context, RecordDict

from federated.client_app import app as client_app
from federated.config import RoundConfig
from federated.errors import PolicyError
from federated.policy import NodeSettings
from federated.task import initial_weights

F = 49


def _round(**kw: object) -> RoundConfig:
    base = {
        "hidden": 4, "local_epochs": 1, "batch_size": 16, "planned_rounds": 3,
        "scaler_lo": [0.0] * F, "scaler_hi": [4.0] * F, "server_round": 1,
    }  # fmt: skip
    return RoundConfig.model_validate(base | kw)


def _train(make_message, tmp_path, node_data, rc: RoundConfig, **policy: object) -> dict:  # type: ignore[no-untyped-def]
    node = {"node-id": "pi-1", "data": f"npz:{node_data}", "state-dir": str(tmp_path / "state")}
    ctx = Context(run_id=1, node_id=7, node_config=node | policy, state=RecordDict(), run_config={})  # type: ignore[arg-type]
    content = RecordDict({"arrays": ArrayRecord(initial_weights(rc, F)), "config": rc.to_record()})
    reply = client_app(make_message(content), ctx)
    return dict(reply.content.metric_records["metrics"])


def test_a_server_sending_dp_false_gets_a_dp_update(make_message, tmp_path, node_data):
    # prepare: the server asks for no DP; the node was provisioned with the default policy
    rc = _round(dp=False)
    # execute
    metrics = _train(make_message, tmp_path, node_data, rc)
    # assert: DP-SGD ran anyway, and its spending is on the node's books
    assert metrics["dp-forced"] == 1.0
    assert metrics["epsilon"] > 0 and metrics["noise-multiplier"] > 0
    history = json.loads((tmp_path / "state" / "privacy.json").read_text())["history"]
    assert len(history) == 1 and history[0][0] == pytest.approx(metrics["noise-multiplier"])


def test_the_node_s_epsilon_cap_and_noise_floor_win(make_message, tmp_path, node_data):
    # prepare: the server asks for a loose budget; the node allows epsilon 2 and noise >= 4
    rc = _round(target_epsilon=50.0, delta=0.1)
    # execute
    metrics = _train(
        make_message, tmp_path, node_data, rc, **{"max-epsilon": 2.0, "min-noise-multiplier": 4.0}
    )
    # assert
    assert metrics["budget-epsilon"] == 2.0 and 0 < metrics["epsilon"] <= 2.0
    assert metrics["noise-multiplier"] == 4.0
    assert metrics["delta"] == 1e-5  # the node's max-delta, not the server's 0.1


def test_a_node_provisioned_without_dp_trains_raw_when_asked(make_message, tmp_path, node_data):
    metrics = _train(make_message, tmp_path, node_data, _round(dp=False), **{"dp-required": False})
    assert "epsilon" not in metrics and metrics["dp-forced"] == 0.0
    assert not (tmp_path / "state" / "privacy.json").exists()


def test_a_malformed_policy_is_a_clear_error():
    base = {"node-id": "pi-1", "data": "npz:x", "state-dir": "/tmp/x"}
    with pytest.raises(PolicyError, match="max-epsilon"):
        NodeSettings.from_node_config(base | {"max-epsilon": -1.0}, 1)
    with pytest.raises(PolicyError, match="data"):
        NodeSettings.from_node_config({"node-id": "pi-1"}, 1)
