"""One hostile SuperNode among honest ones, at the strategy, with real Flower ``Message``s:
a scaled update, a huge sample count, a huge threshold, another node's id and malformed
replies. Compared with Flower's plain FedAvg (what the hub ran before the defences)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from flwr.app import ArrayRecord, ConfigRecord, MetricRecord, RecordDict
from flwr.proto.node_pb2 import NodeInfo
from flwr.serverapp.strategy import FedAvg

from federated.config import RoundConfig
from federated.events import FLEventSink
from federated.robust import Defences
from federated.strategy import FedNidsAvg
from federated.task import initial_weights

pytestmark = pytest.mark.usefixtures("server_task")
HONEST = {1: ("n1", 400), 2: ("n2", 900), 3: ("n3", 1500), 4: ("n4", 700)}
EVIL = 9
GLOBAL = initial_weights(RoundConfig(), 49)
NO_DEFENCE = Defences(clip_factor=0.0, max_samples=2**62, max_threshold=math.inf)


class Grid:
    """Node ids and their registered names ('' without node authentication), as the
    SuperLink's grid gives them."""

    def __init__(self, names: dict[int, str]) -> None:
        self.names = names

    def get_node_ids(self) -> list[int]:
        return list(self.names)

    def get_nodes(self) -> list[NodeInfo]:
        return [NodeInfo(node_id=i, name=n) for i, n in self.names.items()]


def _weights(seed: int, scale: float = 1.0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [w + scale * rng.normal(0, 0.01, w.shape).astype(w.dtype) for w in GLOBAL]


def _reply(make_message, src, name, weights, samples, **metrics):  # type: ignore[no-untyped-def]
    content = RecordDict(
        {
            "arrays": ArrayRecord([np.asarray(w) for w in weights]),
            "metrics": MetricRecord({"num-examples": samples, "loss": 0.1, **metrics}),
            "node": ConfigRecord({"node-id": name}),
        }
    )
    return make_message(content, src_node_id=src)


def _honest(make_message) -> list:  # type: ignore[no-untyped-def]
    return [_reply(make_message, i, n, _weights(i), s) for i, (n, s) in HONEST.items()]


def _strategy(defences: Defences, names: dict[int, str] | None = None) -> FedNidsAvg:
    strategy = FedNidsAvg(FLEventSink(None), defences=defences, min_available_nodes=1)
    everyone = {i: n for i, (n, _) in HONEST.items()} | {EVIL: "evil"}
    grid = Grid(everyone if names is None else names)
    assert grid.names, "a grid needs nodes (FedAvg waits for them)"
    list(strategy.configure_train(1, ArrayRecord(GLOBAL), ConfigRecord({}), grid))  # type: ignore[arg-type]
    return strategy


def _flat(arrays: ArrayRecord) -> np.ndarray:
    return np.concatenate([a.ravel() for a in arrays.to_numpy_ndarrays()])


def _honest_aggregate(make_message) -> np.ndarray:  # type: ignore[no-untyped-def]
    arrays, _ = FedAvg().aggregate_train(1, _honest(make_message))
    assert arrays is not None
    return _flat(arrays)


@pytest.mark.parametrize("aggregator", ["fedavg", "trimmed-mean", "median"])
def test_a_scaled_update_with_a_huge_count_is_bounded(make_message, aggregator, capsys):
    # prepare: the honest aggregate, and the same round with one hostile node added
    honest = _honest_aggregate(make_message)

    def round_with_attacker() -> list:  # type: ignore[type-arg]
        evil = _reply(make_message, EVIL, "evil", _weights(99, scale=100.0), 10**9)
        return [*_honest(make_message), evil]

    # execute: Flower's FedAvg as before, and the defended strategy
    plain, _ = FedAvg().aggregate_train(1, round_with_attacker())
    strategy = _strategy(Defences(aggregator=aggregator))
    defended, _ = strategy.aggregate_train(1, round_with_attacker())
    # assert
    assert plain is not None and defended is not None
    d_plain = float(np.linalg.norm(_flat(plain) - honest))
    d_defended = float(np.linalg.norm(_flat(defended) - honest))
    honest_update = float(np.linalg.norm(honest - np.concatenate([w.ravel() for w in GLOBAL])))
    with capsys.disabled():
        print(
            f"\n[{aggregator}] L2 from the honest aggregate: plain FedAvg {d_plain:.4f}, "
            f"defended {d_defended:.4f} (honest update norm {honest_update:.4f})"
        )
    base = np.concatenate([w.ravel() for w in GLOBAL])
    median_norm = float(
        np.median(
            [
                np.linalg.norm(np.concatenate([w.ravel() for w in _weights(i)]) - base)
                for i in HONEST
            ]
        )
    )
    assert [c[1] for c in strategy.clipped] == ["evil"]
    assert d_plain > 50 * honest_update  # the attacker owns plain FedAvg
    if aggregator == "fedavg":  # bounded by the clip (5 x the median update norm), not removed
        assert d_defended <= 1.01 * Defences().clip_factor * median_norm
    else:  # a robust aggregate stays within the honest nodes' own spread
        assert d_defended < honest_update


def test_a_huge_threshold_does_not_move_the_fleet_threshold(make_message):
    # prepare: evaluation replies, one hostile
    def evaluation() -> list:  # type: ignore[type-arg]
        def rec(src: int, name: str, n: int, q: float):  # type: ignore[no-untyped-def]
            content = RecordDict(
                {
                    "metrics": MetricRecord({"num-examples": n, "loss": 0.05, "threshold-q995": q}),
                    "node": ConfigRecord({"node-id": name}),
                }
            )
            return make_message(content, message_type="evaluate", src_node_id=src)

        honest = [rec(i, n, s, 0.1 + 0.01 * i) for i, (n, s) in HONEST.items()]
        return [*honest, rec(EVIL, "evil", 10**9, 1e6)]

    # execute
    plain = FedAvg().aggregate_evaluate(1, evaluation())
    strategy = _strategy(Defences())
    strategy.aggregate_evaluate(1, evaluation())
    # assert
    assert plain is not None and float(plain["threshold-q995"]) > 1e5  # type: ignore[arg-type]
    assert strategy.threshold is not None and 0.1 < strategy.threshold < 0.15
    assert "evil" not in strategy.thresholds_by_node and len(strategy.thresholds_by_node) == 4
    assert [r[1] for r in strategy.refused] == ["evil"] and "threshold" in strategy.refused[0][2]


def test_a_node_claiming_another_nodes_id_is_refused(make_message):
    # prepare: the hostile node (registered as "evil") names itself n1, with n1's real reply in
    def replies() -> list:  # type: ignore[type-arg]
        return [*_honest(make_message), _reply(make_message, EVIL, "n1", _weights(7), 5000)]

    # execute: with registered names, then without node authentication (first claim binds)
    strategy = _strategy(Defences())
    arrays, _ = strategy.aggregate_train(1, replies())
    unauth = _strategy(Defences(), names=dict.fromkeys([*HONEST, EVIL], ""))
    unauth_arrays, _ = unauth.aggregate_train(1, replies())
    # assert
    honest = _honest_aggregate(make_message)
    assert arrays is not None and unauth_arrays is not None
    assert np.allclose(_flat(arrays), honest) and np.allclose(_flat(unauth_arrays), honest)
    assert strategy.refused[0][1:] == ("evil", "claims node id 'n1', registered as 'evil'")
    assert unauth.refused[0][1] == "n1" and "another Flower node" in unauth.refused[0][2]


def test_malformed_replies_are_refused_and_the_round_goes_on(make_message):
    # prepare: every way a reply can be wrong, beside the honest ones
    def replies() -> list:  # type: ignore[type-arg]
        nan = _weights(5)
        nan[0] = nan[0].copy()
        nan[0].flat[0] = np.nan
        missing = RecordDict({"node": ConfigRecord({"node-id": "m4"})})
        two = RecordDict(
            {
                "arrays": ArrayRecord(_weights(6)),
                "a": MetricRecord({"num-examples": 5}),
                "b": MetricRecord({"num-examples": 5}),
                "node": ConfigRecord({"node-id": "m5"}),
            }
        )
        return [
            *_honest(make_message),
            _reply(make_message, 11, "m1", [w[..., :1] for w in _weights(3)], 100),
            _reply(make_message, 12, "m2", nan, 100),
            _reply(make_message, 13, "m3", _weights(4)[:-1], 100),
            make_message(missing, src_node_id=14),
            make_message(two, src_node_id=15),
            _reply(make_message, 16, "m6", _weights(8), float("inf")),
            _reply(make_message, 17, "m7", _weights(9), -3),
        ]

    names = {i: n for i, (n, _) in HONEST.items()} | {10 + k: f"m{k}" for k in range(1, 8)}
    # execute
    with pytest.raises(Exception):  # noqa: B017 - Flower's FedAvg gives up on the round
        FedAvg().aggregate_train(1, replies())
    strategy = _strategy(Defences(), names=names)
    arrays, metrics = strategy.aggregate_train(1, replies())
    # assert: the honest aggregate, every bad reply refused with a reason
    assert arrays is not None and metrics is not None
    assert np.allclose(_flat(arrays), _honest_aggregate(make_message))
    reasons = {node: why for _, node, why in strategy.refused}
    assert set(reasons) == {"m1", "m2", "m3", "m4", "m5", "m6", "m7"}, reasons
    assert "shape" in reasons["m1"] and "finite" in reasons["m2"]
    assert "metric records" in reasons["m4"] and "metric records" in reasons["m5"]
    assert "finite" in reasons["m6"] and "negative" in reasons["m7"]
