"""The one typed round config: what the server writes is what the node reads, the app's
pyproject and the server's settings share its defaults, and a node refuses a malformed one."""

from __future__ import annotations

import json
import tomllib

import numpy as np
import pytest
from flwr.app import ArrayRecord, ConfigRecord, Context, RecordDict

from federated import APP_DIR, SECAGG_APP_DIR
from federated.client_app import app as client_app
from federated.config import RoundConfig
from federated.errors import RoundConfigError
from federated.settings import FLServerSettings

LO, HI = [0.0] * 49, [12.0] * 49


def _sent() -> RoundConfig:
    return FLServerSettings().round_config(10, LO, HI)


def test_to_record_and_from_record_round_trip():
    # prepare: a config unlike the defaults in every field
    rc = RoundConfig(
        server_round=4, window=8, hidden=12, local_epochs=2, batch_size=16, lr=0.001, dp=False,
        target_epsilon=1.5, delta=1e-6, max_grad_norm=0.5, planned_rounds=7, seed=3,
        scaler_lo=[0.0, 1.0], scaler_hi=[2.0, 3.5],
    )  # fmt: skip
    # execute
    record = rc.to_record()
    back = RoundConfig.from_record(record)
    legacy = RoundConfig.from_record(rc.to_scalars())
    # assert
    assert isinstance(record, ConfigRecord) and set(record) == set(RoundConfig.wire_keys())
    assert back == rc and legacy == rc
    assert all(not isinstance(v, list) for v in rc.to_scalars().values())


def test_the_server_s_defaults_are_the_round_config_s_and_the_app_s():
    # prepare
    apps = {
        d.name: tomllib.loads((d / "pyproject.toml").read_text())["tool"]["flwr"]["app"]
        for d in (APP_DIR, SECAGG_APP_DIR)
    }
    # execute
    settings = FLServerSettings().model_dump(by_alias=True)
    sent = _sent()
    # assert: one set of defaults
    for name, app in apps.items():
        assert app["components"]["serverapp"].startswith("federated."), name
        assert app["components"]["clientapp"].startswith("federated."), name
        for key, value in app["config"].items():
            assert settings[key] == value, (name, key)
    defaults = RoundConfig().model_dump(exclude={"scaler_lo", "scaler_hi", "planned_rounds"})
    assert sent.model_dump(exclude={"scaler_lo", "scaler_hi", "planned_rounds"}) == defaults
    assert sent.planned_rounds == FLServerSettings().num_rounds


def _content(config: dict[str, object]) -> RecordDict:
    return RecordDict(
        {"arrays": ArrayRecord([np.zeros(3, dtype=np.float32)]), "config": ConfigRecord(config)}  # type: ignore[arg-type]
    )


def _context(tmp_path) -> Context:  # type: ignore[no-untyped-def]
    node = {"node-id": "n1", "data": "sim:benign?seed=1", "state-dir": str(tmp_path)}
    return Context(run_id=1, node_id=7, node_config=node, state=RecordDict(), run_config={})  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("change", "error"),
    [
        ({"lr": "fast"}, "lr: Input should be a valid number"),
        ({"lr": -1.0}, "lr: Input should be greater than 0"),
        ({"dp": "no"}, "dp: Input should be a valid boolean"),
        ({"batch-size": 0}, "batch-size: Input should be greater than or equal to 1"),
        ({"target-epsilon": float("nan")}, "target-epsilon: Input should be a finite number"),
        ({"scaler-hi": HI[:3]}, "same length"),
        ({"scaler-lo": [], "scaler-hi": []}, "empty scaler"),
        ({"scaler-lo": HI, "scaler-hi": LO}, "above scaler-lo"),
        ({"dp": None}, "missing dp"),
    ],
)
def test_the_client_refuses_a_malformed_round_config(tmp_path, make_message, change, error):
    # prepare: what the server sends, with one thing wrong (None: the key left out)
    config = dict(_sent().to_record())
    config |= {k: v for k, v in change.items() if v is not None}
    for k in [k for k, v in change.items() if v is None]:
        del config[k]
    # execute / assert: the ClientApp refuses before touching data or training
    with pytest.raises(RoundConfigError, match=error):
        client_app(make_message(_content(config)), _context(tmp_path))
    assert not list(tmp_path.iterdir())


def test_a_legacy_scaler_that_is_not_json_is_refused():
    scalars = _sent().to_scalars() | {"scaler": "{not json"}
    with pytest.raises(RoundConfigError, match="scaler"):
        RoundConfig.from_record(scalars)
    scalars["scaler"] = json.dumps({"lo": 1, "hi": 2})
    with pytest.raises(RoundConfigError, match="lists"):
        RoundConfig.from_record(scalars)
