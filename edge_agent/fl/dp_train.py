"""One round of local training of the LSTM autoencoder, with Opacus DP-SGD at a fixed noise
multiplier chosen so that the planned rounds spend exactly the node's budget.

The noise multiplier comes from the plan (target epsilon, delta, rounds, local epochs, the
node's sample rate), so it is the same every round; the persisted accountant then says what
was really spent, and refuses a round that would overspend.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np

from edge_agent.fl.accountant import Entry, PersistentAccountant


@dataclass(frozen=True)
class FitConfig:
    window: int = 10
    hidden: int = 16
    epochs: int = 1
    batch_size: int = 32
    lr: float = 5e-3
    dp: bool = True
    target_epsilon: float = 3.0
    delta: float = 1e-5
    max_grad_norm: float = 1.0
    planned_rounds: int = 3
    seed: int = 0


@dataclass
class FitOutcome:
    weights: list[np.ndarray]
    samples: int
    loss: float
    epsilon: float | None
    noise_multiplier: float | None
    duration_s: float
    budget_exhausted: bool = False


def batches(cfg: FitConfig, n: int) -> int:
    return max(1, math.ceil(n / cfg.batch_size))


def sample_rate(cfg: FitConfig, n: int) -> float:
    """Opacus' Poisson rate: one over the batches of the plain loader (what it accounts)."""
    return 1.0 / batches(cfg, n)


def steps_per_round(cfg: FitConfig, n: int) -> int:
    return cfg.epochs * batches(cfg, n)


def noise_for_plan(cfg: FitConfig, n: int) -> float:
    from opacus.accountants.utils import get_noise_multiplier

    return float(
        get_noise_multiplier(
            target_epsilon=cfg.target_epsilon,
            target_delta=cfg.delta,
            sample_rate=sample_rate(cfg, n),
            steps=steps_per_round(cfg, n) * cfg.planned_rounds,
            accountant="rdp",
        )
    )


def fit(
    weights: list[np.ndarray],
    train: np.ndarray,
    cfg: FitConfig,
    accountant: PersistentAccountant | None,
    server_round: int = 0,
) -> FitOutcome:
    import torch
    from torch.utils.data import DataLoader, TensorDataset

    from models.lstm_ae import LstmConfig, build_model, get_weights, run_epoch, set_weights

    t0 = time.perf_counter()
    n = len(train)
    sigma = noise_for_plan(cfg, n) if cfg.dp else None
    if cfg.dp and accountant is not None:
        assert sigma is not None
        planned: list[Entry] = [(sigma, sample_rate(cfg, n), steps_per_round(cfg, n))]
        if accountant.would_exceed(planned):
            return FitOutcome(
                weights, 0, math.nan, accountant.epsilon(), sigma, time.perf_counter() - t0, True
            )
    model = build_model(
        LstmConfig(window=cfg.window, features=train.shape[2], hidden=cfg.hidden, seed=cfg.seed)
    )
    set_weights(model, weights)
    torch.manual_seed(cfg.seed * 1000 + server_round)
    loader = DataLoader(
        TensorDataset(torch.from_numpy(train)), batch_size=cfg.batch_size, shuffle=True
    )
    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr)
    module: torch.nn.Module = model
    engine = None
    if cfg.dp:
        from opacus import PrivacyEngine

        engine = PrivacyEngine(accountant="rdp")
        module, opt, loader = engine.make_private(
            module=model,
            optimizer=opt,
            data_loader=loader,
            noise_multiplier=sigma,
            max_grad_norm=cfg.max_grad_norm,
            poisson_sampling=True,
        )
    module.train()
    total, seen = 0.0, 0
    for _ in range(cfg.epochs):
        loss_sum, batch_rows = run_epoch(module, opt, loader)
        total, seen = total + loss_sum, seen + batch_rows
    epsilon = None
    if engine is not None:
        spent = [(float(s), float(q), int(k)) for s, q, k in engine.accountant.history]
        epsilon = (
            accountant.record(spent) if accountant is not None else engine.get_epsilon(cfg.delta)
        )
    model.eval()
    return FitOutcome(
        get_weights(model), n, total / max(seen, 1), epsilon, sigma, time.perf_counter() - t0
    )


def evaluate(weights: list[np.ndarray], held: np.ndarray, cfg: FitConfig) -> tuple[float, float]:
    """(mean reconstruction error, its 99.5 % quantile) on the node's held-out benign windows."""
    from models.lstm_ae import LstmConfig, build_model, reconstruction_errors, set_weights

    model = build_model(LstmConfig(window=cfg.window, features=held.shape[2], hidden=cfg.hidden))
    set_weights(model, weights)
    err = reconstruction_errors(model, held)
    return float(err.mean()), float(np.quantile(err, 0.995))
