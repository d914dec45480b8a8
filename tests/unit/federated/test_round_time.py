"""A round without a separate evaluation round trip: the real ClientApp evaluates the global
model it receives inside its training reply (the threshold the hub signs for it), stamps
where the message's time went, and the strategy keeps those thresholds as the previous
round's and derives each node's breakdown."""

from __future__ import annotations

import math

import numpy as np
import pytest
from flwr.app import ArrayRecord, ConfigRecord, Context, MetricRecord, RecordDict

from federated import fast_eval
from federated.client_app import app as client_app
from federated.client_app import node_windows
from federated.config import RoundConfig
from federated.events import FLEventSink
from federated.fast_grid import Exchange
from federated.policy import NodeSettings
from federated.strategy import FedNidsAvg
from federated.task import initial_weights
from federated.timing import breakdown, critical, p95, summarise

F = 49


def test_the_training_reply_carries_the_received_model_s_threshold(
    make_message, tmp_path, node_data
):
    # prepare: a round of the real ClientApp from the initial (global) model
    rc = RoundConfig.model_validate(
        {"hidden": 4, "local_epochs": 1, "batch_size": 16, "planned_rounds": 3,
         "scaler_lo": [0.0] * F, "scaler_hi": [4.0] * F, "server_round": 1}
    )  # fmt: skip
    weights = initial_weights(rc, F)
    config = {"node-id": "pi-1", "data": f"npz:{node_data}", "state-dir": str(tmp_path / "s")}
    ctx = Context(run_id=1, node_id=7, node_config=config, state=RecordDict(), run_config={})  # type: ignore[arg-type]
    content = RecordDict({"arrays": ArrayRecord(weights), "config": rc.to_record()})
    # execute
    reply = client_app(make_message(content), ctx)
    # assert: the threshold is the received model's on the held-out windows, not the new one's
    met = dict(reply.content.metric_records["metrics"])
    _, held = node_windows(rc, NodeSettings.from_node_config(config, 7))
    loss, q995 = fast_eval.evaluate(weights, held)
    assert met["global-threshold-q995"] == pytest.approx(q995)
    assert met["global-loss"] == pytest.approx(loss) and met["held-out"] == len(held)
    new = reply.content.array_records["arrays"].to_numpy_ndarrays()
    assert fast_eval.evaluate(new, held)[1] != pytest.approx(q995)
    # the stamps are in order, and the run's Context.state counts the message
    stamps = [met[k] for k in ("t-process", "t-app-import", "t-handler", "t-reply")]
    assert stamps == sorted(stamps) and met["import-s"] >= 0 and met["duration-s"] > 0
    assert ctx.state.config_records["fednids"]["messages"] == 1


def _reply(make_message, src: int, q: float, t0: float) -> object:  # type: ignore[no-untyped-def]
    w = [np.zeros(3, dtype=np.float32)]
    met = {
        "num-examples": 100, "loss": 0.1, "global-loss": 0.2, "global-threshold-q995": q,
        "held-out": 25.0, "duration-s": 2.0, "import-s": 1.5, "eval-s": 0.1,
        "t-process": t0 + 1.0, "t-app-import": t0 + 3.0, "t-handler": t0 + 3.0, "t-reply": t0 + 7.0,
    }  # fmt: skip
    content = RecordDict(
        {
            "arrays": ArrayRecord(w),
            "metrics": MetricRecord(met),
            "node": ConfigRecord({"node-id": f"n{src}"}),
        }  # type: ignore[arg-type]
    )
    return make_message(content, src_node_id=src)


class _Grid:
    def __init__(self, last: Exchange) -> None:
        self.last = last


def test_the_strategy_keeps_in_band_thresholds_and_each_node_s_breakdown(make_message):
    # prepare: round 2's replies (they evaluated round 1's global model); one threshold is absurd
    t0 = 1_000_000.0
    strategy = FedNidsAvg(FLEventSink(None))
    strategy._global = {"0": np.zeros(3, dtype=np.float32)}
    strategy._grid = _Grid(Exchange(pushed=t0, received={1: t0 + 8.0, 2: t0 + 9.0, 3: t0 + 9.5}))  # type: ignore[assignment]
    replies = [_reply(make_message, 1, 0.10, t0), _reply(make_message, 2, 0.20, t0)]
    replies.append(_reply(make_message, 3, 1e6, t0))
    # execute
    arrays, _ = strategy.aggregate_train(2, replies)  # type: ignore[arg-type]
    # assert: round 1's model gets the honest nodes' thresholds; the absurd one is not used
    assert arrays is not None and strategy.thresholds_for(1) is not None
    fleet, own = strategy.thresholds_for(1)  # type: ignore[misc]
    assert own == {"n1": 0.10, "n2": 0.20} and fleet == pytest.approx(0.15)
    assert [r[1] for r in strategy.refused] == ["n3"] and "threshold" in strategy.refused[0][2]
    assert strategy.epsilons == {} and len(strategy.timings[2]["train"]) == 3
    assert strategy.global_loss[1] == pytest.approx(0.2)
    assert strategy.thresholds_for(0) is None and strategy.thresholds_for(5) is None
    # n2's message: 1 s to its process, 2 s start, 1.5 s import, 2 s training, 2 s back
    b = strategy.timings[2]["train"]["n2"]
    assert b["to_node"] == 1.0 and b["process_start"] == 2.0 and b["import"] == 1.5
    assert b["training"] == 2.0 and b["back"] == 2.0 and b["total"] == 9.0
    assert (
        b["other"] == pytest.approx(0.4) and critical(strategy.timings[2]["train"])["total"] == 9.5
    )


def test_breakdown_without_stamps_and_the_summary():
    # prepare / execute
    empty = breakdown({"duration-s": 1.0}, 10.0, 20.0)
    rows = [{"round": float(v)} for v in range(1, 21)]
    table = summarise(rows)
    # assert
    assert empty == {} and breakdown({}, 0.0, 0.0) == {}
    assert table["round"] == {"median": 10.5, "p95": 19.0}
    assert math.isnan(p95([]))
