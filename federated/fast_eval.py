"""The node's evaluation of a global model in numpy: its held-out loss and its own 99.5 %
quantile (the threshold the signed model carries for it), without torch or Opacus.

A ``flwr-clientapp`` process lives for one message (Flower 1.42), and importing torch +
Opacus costs it 3-5 s of CPU; an evaluation is one forward pass of a small LSTM
autoencoder, so it is done here on the weight list :func:`models.lstm_ae.get_weights` makes
(the state dict in order; Opacus' ``DPLSTM`` lists each LSTM weight twice, under its own
name and as ``l0.ih`` / ``l0.hh``: the same tensors). ``tests/unit/federated`` pins that it
equals :func:`federated.task.evaluate` (the torch model).
"""

from __future__ import annotations

import numpy as np

from federated.errors import FederatedError

QUANTILE = 0.995
_ARRAYS = 18  # enc (8), dec (8), out (2)


class EvalWeightsError(FederatedError):
    """The weights are not the LSTM autoencoder's."""


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * x))  # type: ignore[no-any-return]


def _lstm(x: np.ndarray, w_ih: np.ndarray, b_ih: np.ndarray, w_hh: np.ndarray, b_hh: np.ndarray):  # type: ignore[no-untyped-def]
    """One LSTM layer over ``x`` (batch, time, in): its outputs (batch, time, hidden)."""
    hidden = w_hh.shape[1]
    h = np.zeros((x.shape[0], hidden), dtype=x.dtype)
    c = np.zeros_like(h)
    xi = x @ w_ih.T + (b_ih + b_hh)  # the input projection of every step at once
    out = np.empty((x.shape[0], x.shape[1], hidden), dtype=x.dtype)
    for t in range(x.shape[1]):
        g = xi[:, t] + h @ w_hh.T
        i, f, gg, o = np.split(g, 4, axis=1)
        c = _sigmoid(f) * c + _sigmoid(i) * np.tanh(gg)
        h = _sigmoid(o) * np.tanh(c)
        out[:, t] = h
    return out


def reconstruction_errors(weights: list[np.ndarray], windows: np.ndarray) -> np.ndarray:
    """Mean squared reconstruction error of each window (as ``models.lstm_ae``)."""
    if len(weights) != _ARRAYS:
        raise EvalWeightsError(f"expected {_ARRAYS} weight arrays, got {len(weights)}")
    w = [np.asarray(a, dtype=np.float64) for a in weights]
    x = np.asarray(windows, dtype=np.float64)
    if x.ndim != 3 or w[4].shape[1] != x.shape[2] or w[16].shape[0] != x.shape[2]:
        raise EvalWeightsError(f"windows of shape {x.shape} do not fit the model's weights")
    if len(x) == 0:
        return np.zeros(0, dtype=np.float64)
    h = _lstm(x, w[4], w[5], w[6], w[7])
    z = np.repeat(h[:, -1:, :], x.shape[1], axis=1)
    d = _lstm(z, w[12], w[13], w[14], w[15])
    y = d @ w[16].T + w[17]
    return ((y - x) ** 2).mean(axis=(1, 2))  # type: ignore[no-any-return]


def evaluate(weights: list[np.ndarray], held: np.ndarray) -> tuple[float, float]:
    """(mean reconstruction error, its 99.5 % quantile) on the held-out windows."""
    err = reconstruction_errors(weights, held)
    if len(err) == 0:
        raise EvalWeightsError("no held-out windows to evaluate on")
    return float(err.mean()), float(np.quantile(err, QUANTILE))
