"""The numpy evaluation (what a node signs as its threshold, without torch) equals the torch
model's, on an initial and on a trained model; wrong weights are refused."""

from __future__ import annotations

import numpy as np
import pytest

from federated import fast_eval
from federated.config import RoundConfig
from federated.task import evaluate, initial_weights, train


def _windows(n: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    base = rng.uniform(0.2, 0.4, size=(1, 10, 49)).astype(np.float32)
    return np.clip(base + rng.normal(0, 0.05, size=(n, 10, 49)), 0, 1).astype(np.float32)


@pytest.mark.parametrize("trained", [False, True])
def test_numpy_evaluation_equals_the_torch_model(trained):
    # prepare: the initial model, or one trained a round (so the two LSTM copies moved)
    cfg = RoundConfig(hidden=8, local_epochs=1, batch_size=32, dp=False, seed=3)
    weights = initial_weights(cfg, 49)
    if trained:
        weights = train(weights, _windows(96, seed=1), cfg, None).weights
    held = _windows(40, seed=2)
    # execute
    loss_np, q_np = fast_eval.evaluate(weights, held)
    loss_t, q_t = evaluate(weights, held, cfg)
    # assert
    assert loss_np == pytest.approx(loss_t, rel=1e-4)
    assert q_np == pytest.approx(q_t, rel=1e-4)


def test_weights_of_another_model_are_refused():
    # prepare
    cfg = RoundConfig(hidden=8)
    weights = initial_weights(cfg, 49)
    # execute / assert
    with pytest.raises(fast_eval.EvalWeightsError, match="18 weight arrays"):
        fast_eval.evaluate(weights[:-1], _windows(4))
    with pytest.raises(fast_eval.EvalWeightsError, match="do not fit"):
        fast_eval.evaluate(weights, _windows(4)[:, :, :20])
    with pytest.raises(fast_eval.EvalWeightsError, match="no held-out"):
        fast_eval.evaluate(weights, _windows(4)[:0])
