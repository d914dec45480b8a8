"""The task both apps call: the LSTM autoencoder as a list of numpy arrays, one round of local
training with Opacus DP-SGD, and evaluation on the node's held-out windows.

The noise multiplier comes from the plan (target epsilon, delta, rounds, local epochs, the
node's sample rate), so it is the same every round (never below the node's own floor); the
persisted accountant then says what was really spent, and refuses a round that would
overspend. torch and Opacus are imported inside the functions: importing this module is
cheap (the ServerApp imports it for the initial weights only).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np

from federated.config import RoundConfig
from federated.privacy import Entry, Kind, PersistentAccountant


@dataclass
class FitOutcome:
    weights: list[np.ndarray]
    samples: int
    loss: float
    epsilon: float | None
    noise_multiplier: float | None
    duration_s: float
    budget_exhausted: bool = False


def initial_weights(cfg: RoundConfig, features: int) -> list[np.ndarray]:
    """The model every federation starts from (seeded): its weights as numpy arrays."""
    from models.lstm_ae import LstmConfig, build_model, get_weights

    return get_weights(
        build_model(
            LstmConfig(window=cfg.window, features=features, hidden=cfg.hidden, seed=cfg.seed)
        )
    )


def expected_shapes(cfg: RoundConfig, features: int) -> list[tuple[int, ...]]:
    """The shape of each weight array a node must send back."""
    return [w.shape for w in initial_weights(cfg, features)]


def batches(cfg: RoundConfig, n: int) -> int:
    return max(1, math.ceil(n / cfg.batch_size))


def sample_rate(cfg: RoundConfig, n: int) -> float:
    """Opacus' Poisson rate: one over the batches of the plain loader (what it accounts)."""
    return 1.0 / batches(cfg, n)


def steps_per_round(cfg: RoundConfig, n: int) -> int:
    return cfg.local_epochs * batches(cfg, n)


def noise_for_plan(cfg: RoundConfig, n: int, accountant: Kind = "rdp") -> float:
    from opacus.accountants.utils import get_noise_multiplier

    return float(
        get_noise_multiplier(
            target_epsilon=cfg.target_epsilon,
            target_delta=cfg.delta,
            sample_rate=sample_rate(cfg, n),
            steps=steps_per_round(cfg, n) * cfg.planned_rounds,
            accountant=accountant,
        )
    )


def _proximal_pull(model: object, anchor: list[object], lr: float, mu: float) -> object:
    """FedProx (Li et al. 2020) as a decoupled proximal step after every optimiser step:
    w <- w - lr * mu * (w - w_global). It uses no data, so under DP it is post-processing
    of the private update (Opacus' per-sample clipping never sees it)."""
    import torch

    params = list(model.parameters())  # type: ignore[attr-defined]

    def pull(*_: object) -> None:
        with torch.no_grad():
            for p, a in zip(params, anchor, strict=True):
                p.sub_(lr * mu * (p - a))  # type: ignore[operator]

    return pull


def train(
    weights: list[np.ndarray],
    windows: np.ndarray,
    cfg: RoundConfig,
    accountant: PersistentAccountant | None,
    min_noise: float = 0.0,
    noise_multiplier: float | None = None,
    accountant_kind: Kind | None = None,
) -> FitOutcome:
    """One round of local training from ``weights`` on the node's training windows.

    ``noise_multiplier`` fixes the DP-SGD noise instead of the plan's (an ablation: 0 =
    clipping only, which no accountant can bound, so then ``accountant`` must be None);
    ``accountant_kind`` is the accountant that plans the noise (default: the persisted
    accountant's kind, else RDP)."""
    import torch
    from torch.utils.data import DataLoader, TensorDataset

    from models.lstm_ae import LstmConfig, build_model, get_weights, run_epoch, set_weights

    t0 = time.perf_counter()
    n = len(windows)
    kind: Kind = accountant_kind or (accountant.kind if accountant is not None else "rdp")
    if noise_multiplier is not None and accountant is not None:
        raise ValueError("a fixed noise multiplier is an ablation: train it without accountant")
    sigma = None
    if cfg.dp:
        planned_sigma = (
            noise_for_plan(cfg, n, kind) if noise_multiplier is None else noise_multiplier
        )
        sigma = max(planned_sigma, min_noise)
    if cfg.dp and accountant is not None:
        assert sigma is not None
        planned: list[Entry] = [(sigma, sample_rate(cfg, n), steps_per_round(cfg, n))]
        if accountant.would_exceed(planned):
            return FitOutcome(
                weights, 0, math.nan, accountant.epsilon(), sigma, time.perf_counter() - t0, True
            )
    model = build_model(
        LstmConfig(window=cfg.window, features=windows.shape[2], hidden=cfg.hidden, seed=cfg.seed)
    )
    set_weights(model, weights)
    torch.manual_seed(cfg.seed * 1000 + cfg.server_round)
    loader = DataLoader(
        TensorDataset(torch.from_numpy(windows)), batch_size=cfg.batch_size, shuffle=True
    )
    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr)
    if cfg.prox_mu > 0:
        anchor = [p.detach().clone() for p in model.parameters()]
        opt.register_step_post_hook(_proximal_pull(model, anchor, cfg.lr, cfg.prox_mu))  # type: ignore[arg-type]
    module: torch.nn.Module = model
    engine = None
    if cfg.dp:
        from opacus import PrivacyEngine

        engine = PrivacyEngine(accountant=kind)
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
    for _ in range(cfg.local_epochs):
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


def fine_tune(
    weights: list[np.ndarray], windows: np.ndarray, cfg: RoundConfig, epochs: int
) -> list[np.ndarray]:
    """The node's own non-private fine-tune of the global model on its training windows.

    Its result must stay on the node (the agent's local model): it is NOT covered by the
    federation's DP guarantee, so it must never be sent back to the server."""
    local = cfg.model_copy(update={"dp": False, "local_epochs": epochs, "prox_mu": 0.0})
    return train(weights, windows, local, None).weights


def evaluate(weights: list[np.ndarray], held: np.ndarray, cfg: RoundConfig) -> tuple[float, float]:
    """(mean reconstruction error, its 99.5 % quantile) on the node's held-out benign windows."""
    from models.lstm_ae import LstmConfig, build_model, reconstruction_errors, set_weights

    model = build_model(LstmConfig(window=cfg.window, features=held.shape[2], hidden=cfg.hidden))
    set_weights(model, weights)
    err = reconstruction_errors(model, held)
    return float(err.mean()), float(np.quantile(err, 0.995))
