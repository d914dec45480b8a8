"""The node's privacy accountant across rounds, and the budget that stops training."""

from __future__ import annotations

import itertools
import json

import numpy as np
import pytest

from federated.config import RoundConfig
from federated.privacy import PersistentAccountant, PrivacyStateError, rdp_epsilon
from federated.task import evaluate, initial_weights, noise_for_plan, train


def _windows(n: int = 96, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    base = rng.uniform(0.2, 0.4, size=(1, 10, 49)).astype(np.float32)
    return np.clip(base + rng.normal(0, 0.02, size=(n, 10, 49)), 0, 1).astype(np.float32)


def _weights(cfg: RoundConfig) -> list[np.ndarray]:
    return initial_weights(cfg, 49)


def _cfg(**kw: object) -> RoundConfig:
    """The tests' plan (small and quick): 1 local epoch, batch 32, lr 5e-3, clip 1.0."""
    base: dict[str, object] = {
        "local_epochs": 1,
        "batch_size": 32,
        "lr": 5e-3,
        "max_grad_norm": 1.0,
    }
    return RoundConfig.model_validate(base | kw)


def test_epsilon_accumulates_across_rounds_and_restarts(tmp_path):
    # prepare
    cfg = _cfg(hidden=4, batch_size=16, planned_rounds=3, target_epsilon=3.0)
    path = tmp_path / "privacy.json"
    weights, data, seen = _weights(cfg), _windows(), []
    # execute: three rounds, each with a NEW accountant object reading the file (a restart)
    for rnd in range(1, 4):
        acc = PersistentAccountant(path, cfg.delta, budget=cfg.target_epsilon)
        out = train(weights, data, cfg.model_copy(update={"server_round": rnd}), acc)
        weights = out.weights
        seen.append(out.epsilon)
    # assert
    assert all(b > a for a, b in itertools.pairwise(seen)), seen
    history = [tuple(h) for h in json.loads(path.read_text())["history"]]
    assert len(history) == 3
    assert rdp_epsilon(history, cfg.delta) == pytest.approx(seen[-1])
    assert seen[-1] == pytest.approx(cfg.target_epsilon, rel=0.05)  # the plan spends the budget


def test_dp_round_reports_the_node_s_window_count_not_a_poisson_batch_sum():
    # prepare: Poisson sampling makes every epoch's row count random
    cfg = _cfg(hidden=4, batch_size=16, local_epochs=2, planned_rounds=3, target_epsilon=3.0)
    data = _windows(96)
    # execute
    out = train(_weights(cfg), data, cfg.model_copy(update={"server_round": 1}), None)
    # assert: FedAvg weighs the node by its data, so the count is the node's windows
    assert out.samples == len(data)


def test_a_spent_budget_stops_training_and_says_so(tmp_path):
    # prepare: a plan of 2 rounds against a budget, then a third round
    cfg = _cfg(hidden=4, batch_size=16, planned_rounds=2, target_epsilon=2.0)
    acc = PersistentAccountant(tmp_path / "privacy.json", cfg.delta, budget=2.0)
    w, data = _weights(cfg), _windows()
    for rnd in (1, 2):
        w = train(w, data, cfg.model_copy(update={"server_round": rnd}), acc).weights
    spent = acc.epsilon()
    # execute
    out = train(w, data, cfg.model_copy(update={"server_round": 3}), acc)
    # assert
    assert out.budget_exhausted and out.samples == 0
    assert acc.epsilon() == pytest.approx(spent)  # nothing more was spent
    assert all(np.array_equal(a, b) for a, b in zip(out.weights, w, strict=True))


def test_noise_is_constant_for_the_plan_and_larger_for_smaller_budgets():
    cfg3 = _cfg(target_epsilon=3.0, planned_rounds=5)
    cfg1 = _cfg(target_epsilon=1.0, planned_rounds=5)
    assert noise_for_plan(cfg1, 1000) > noise_for_plan(cfg3, 1000) > 0


def test_unreadable_or_mismatched_state_is_refused(tmp_path):
    bad = tmp_path / "privacy.json"
    bad.write_text("{not json")
    with pytest.raises(PrivacyStateError):
        PersistentAccountant(bad, 1e-5)
    bad.write_text(json.dumps({"delta": 1e-6, "history": []}))
    with pytest.raises(PrivacyStateError, match="delta"):
        PersistentAccountant(bad, 1e-5)


def test_non_private_training_reduces_the_held_out_error():
    cfg = _cfg(hidden=8, batch_size=16, dp=False, local_epochs=8, lr=1e-2)
    data = _windows(160)
    w0 = _weights(cfg)
    before, _ = evaluate(w0, data[128:], cfg)
    out = train(w0, data[:128], cfg, None)
    after, q = evaluate(out.weights, data[128:], cfg)
    assert out.epsilon is None
    assert after < before * 0.5
    assert q >= after
