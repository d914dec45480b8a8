"""The DP utility options of one round: FedProx's proximal pull, the PRV accountant, and the
fixed-noise ablation (clipping only)."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from federated.config import RoundConfig
from federated.errors import PolicyError
from federated.policy import NodeSettings
from federated.privacy import PersistentAccountant, PrivacyStateError, epsilon_of
from federated.settings import FLServerSettings
from federated.task import evaluate, fine_tune, initial_weights, noise_for_plan, train


def _windows(n: int = 96, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    base = rng.uniform(0.2, 0.4, size=(1, 10, 49)).astype(np.float32)
    return np.clip(base + rng.normal(0, 0.02, size=(n, 10, 49)), 0, 1).astype(np.float32)


def _cfg(**kw: object) -> RoundConfig:
    base: dict[str, object] = {"hidden": 4, "local_epochs": 2, "batch_size": 16, "lr": 2e-2}
    return RoundConfig.model_validate(base | {"max_grad_norm": 1.0} | kw)


def _drift(a: list[np.ndarray], b: list[np.ndarray]) -> float:
    return math.sqrt(sum(float(np.sum((x - y) ** 2)) for x, y in zip(a, b, strict=True)))


@pytest.mark.parametrize("dp", [False, True])
def test_fedprox_keeps_the_update_closer_to_the_global_weights(dp):
    # prepare: the same round with and without the proximal term
    cfg = _cfg(dp=dp, planned_rounds=3, server_round=1)
    w0, data = initial_weights(cfg, 49), _windows()
    # execute
    plain = train(w0, data, cfg, None)
    prox = train(w0, data, cfg.model_copy(update={"prox_mu": 20.0}), None)
    # assert: the pull towards w0 shortens the update, the round still trains
    assert _drift(prox.weights, w0) < 0.7 * _drift(plain.weights, w0)
    assert _drift(prox.weights, w0) > 0


def test_prox_mu_travels_in_the_round_config_and_is_bounded():
    rc = RoundConfig(prox_mu=0.5)
    assert RoundConfig.from_record(rc.to_record()).prox_mu == 0.5
    assert "prox-mu" in RoundConfig.wire_keys()
    with pytest.raises(ValueError):
        RoundConfig(prox_mu=-1.0)


def test_a_run_sets_prox_mu_and_the_server_sends_it():
    # prepare: the run config's key, as `flwr run --run-config "prox-mu=1.0"` gives it
    settings = FLServerSettings.model_validate({"prox-mu": 1.0})
    # execute
    sent = RoundConfig.from_record(settings.round_config(10, [0.0] * 49, [1.0] * 49).to_record())
    # assert
    assert sent.prox_mu == 1.0
    assert FLServerSettings().round_config(10, [0.0] * 49, [1.0] * 49).prox_mu == 0.0
    with pytest.raises(ValueError):
        FLServerSettings.model_validate({"prox-mu": -0.5})


def test_the_node_bounds_torch_s_training_threads():
    node = {"node-id": "n1", "data": "sim:benign", "state-dir": "/tmp/n1"}
    assert NodeSettings.from_node_config(node, 1).train_threads == 1
    assert NodeSettings.from_node_config(node | {"train-threads": 4}, 1).train_threads == 4
    with pytest.raises(PolicyError, match="train-threads"):
        NodeSettings.from_node_config(node | {"train-threads": 0}, 1)


def test_prv_accountant_composes_across_rounds_and_enforces_the_budget(tmp_path):
    # prepare: PRV-planned rounds, a fresh accountant object each round (a restart)
    cfg = _cfg(planned_rounds=2, target_epsilon=2.0)
    path, w, data, seen = tmp_path / "privacy.json", initial_weights(cfg, 49), _windows(), []
    # execute
    for rnd in (1, 2, 3):
        acc = PersistentAccountant(path, cfg.delta, budget=2.0, kind="prv")
        out = train(w, data, cfg.model_copy(update={"server_round": rnd}), acc)
        w, _ = out.weights, seen.append(out)
    # assert: it composes, spends the planned budget, refuses the third round
    history = [tuple(h) for h in json.loads(path.read_text())["history"]]
    assert seen[1].epsilon > seen[0].epsilon
    assert epsilon_of(history, cfg.delta, "prv") == pytest.approx(seen[1].epsilon)
    assert seen[1].epsilon == pytest.approx(2.0, rel=0.05)
    assert seen[2].budget_exhausted and seen[2].samples == 0 and len(history) == 2


def test_prv_is_tighter_than_rdp_so_it_plans_less_noise(tmp_path):
    cfg = _cfg(planned_rounds=5, target_epsilon=3.0)
    history = [(1.0, 0.1, 100)]
    assert epsilon_of(history, 1e-5, "prv") < epsilon_of(history, 1e-5, "rdp")
    assert noise_for_plan(cfg, 700, "prv") < noise_for_plan(cfg, 700, "rdp")


def test_state_of_another_accountant_is_refused(tmp_path):
    # prepare: a history written by the PRV accountant
    path = tmp_path / "privacy.json"
    PersistentAccountant(path, 1e-5, kind="prv").record([(1.0, 0.1, 10)])
    # execute / assert: read back as RDP it is refused, as PRV it is the same
    with pytest.raises(PrivacyStateError, match="prv"):
        PersistentAccountant(path, 1e-5)
    assert PersistentAccountant(path, 1e-5, kind="prv").entries == [(1.0, 0.1, 10)]


def test_a_fixed_noise_ablation_trains_without_accountant_only(tmp_path):
    cfg = _cfg(planned_rounds=2, server_round=1)
    w0, data = initial_weights(cfg, 49), _windows()
    out = train(w0, data, cfg, None, noise_multiplier=0.0)
    assert out.noise_multiplier == 0.0 and out.samples == len(data)
    acc = PersistentAccountant(tmp_path / "p.json", cfg.delta, budget=3.0)
    with pytest.raises(ValueError, match="without accountant"):
        train(w0, data, cfg, acc, noise_multiplier=0.0)


def test_fine_tune_fits_the_node_better_without_touching_the_privacy_state(tmp_path):
    # prepare: a DP round's global model and the node's accountant after it
    cfg = _cfg(planned_rounds=1, server_round=1, target_epsilon=1.0)
    data, held = _windows(96), _windows(32, seed=1)
    acc = PersistentAccountant(tmp_path / "privacy.json", cfg.delta, budget=1.0)
    glob = train(initial_weights(cfg, 49), data, cfg, acc).weights
    spent = acc.epsilon()
    # execute
    local = fine_tune(glob, data, cfg, epochs=4)
    # assert: the local model fits the node's held-out windows better; no epsilon spent
    assert evaluate(local, held, cfg)[0] < evaluate(glob, held, cfg)[0]
    assert acc.epsilon() == pytest.approx(spent)
    assert len(json.loads((tmp_path / "privacy.json").read_text())["history"]) == 1
