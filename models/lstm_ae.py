"""The LSTM autoencoder (PyTorch, built from ``opacus.layers.DPLSTM`` so DP-SGD can train it)
with plain and differentially private training.

Encoder: DPLSTM over the window, its last hidden state repeated T times; decoder: DPLSTM and
a linear layer back to the features. Anomaly score: mean squared reconstruction error.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass, field

import numpy as np
import torch
from opacus import PrivacyEngine
from opacus.layers import DPLSTM
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from models.errors import ModelError


@dataclass(frozen=True)
class LstmConfig:
    window: int = 10
    features: int = 49
    hidden: int = 16
    epochs: int = 10
    batch_size: int = 64
    lr: float = 5e-3
    seed: int = 0


@dataclass(frozen=True)
class PrivacyConfig:
    target_epsilon: float
    delta: float = 1e-5
    max_grad_norm: float = 1.0


@dataclass
class TrainResult:
    losses: list[float] = field(default_factory=list)
    epsilon: float = math.inf
    delta: float | None = None
    noise_multiplier: float | None = None
    samples: int = 0


class LstmAutoencoder(nn.Module):
    def __init__(self, cfg: LstmConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.enc = DPLSTM(cfg.features, cfg.hidden, batch_first=True)
        self.dec = DPLSTM(cfg.hidden, cfg.hidden, batch_first=True)
        self.out = nn.Linear(cfg.hidden, cfg.features)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h, _ = self.enc(x)
        z = h[:, -1:, :].repeat(1, x.shape[1], 1)
        d, _ = self.dec(z)
        return self.out(d)  # type: ignore[no-any-return]


def build_model(cfg: LstmConfig) -> LstmAutoencoder:
    torch.manual_seed(cfg.seed)
    return LstmAutoencoder(cfg)


def data_hash(windows: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(windows, dtype=np.float32).tobytes()).hexdigest()


def train_epochs(
    model: LstmAutoencoder,
    windows: np.ndarray,
    cfg: LstmConfig,
    privacy: PrivacyConfig | None = None,
    progress: bool = False,
) -> TrainResult:
    """Train in place; with ``privacy``, Opacus DP-SGD (Poisson sampling, RDP accountant)."""
    if len(windows) < cfg.batch_size:
        raise ModelError(f"need at least {cfg.batch_size} windows to train, got {len(windows)}")
    torch.manual_seed(cfg.seed)
    data = TensorDataset(torch.from_numpy(np.asarray(windows, dtype=np.float32)))
    loader = DataLoader(data, batch_size=cfg.batch_size, shuffle=True)
    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr)
    result = TrainResult(samples=len(windows))
    module: nn.Module = model
    engine = None
    if privacy is not None:
        engine = PrivacyEngine(accountant="rdp")
        module, opt, loader = engine.make_private_with_epsilon(
            module=model,
            optimizer=opt,
            data_loader=loader,
            target_epsilon=privacy.target_epsilon,
            target_delta=privacy.delta,
            epochs=cfg.epochs,
            max_grad_norm=privacy.max_grad_norm,
        )
        result.noise_multiplier = float(opt.noise_multiplier)
        result.delta = privacy.delta
    epochs = range(cfg.epochs)
    if progress:
        from tqdm import tqdm

        epochs = tqdm(epochs, desc="lstm-ae", unit="epoch")
    module.train()
    for _ in epochs:
        total, n = run_epoch(module, opt, loader)
        result.losses.append(total / max(n, 1))
    if engine is not None and privacy is not None:
        result.epsilon = float(engine.get_epsilon(privacy.delta))
    model.eval()
    return result


def run_epoch(
    module: nn.Module, opt: torch.optim.Optimizer, loader: DataLoader
) -> tuple[float, int]:  # type: ignore[type-arg]
    """One pass of reconstruction training; (sum of batch losses x batch sizes, windows seen)."""
    total, n = 0.0, 0
    for (xb,) in loader:
        if len(xb) == 0:  # Poisson sampling may draw an empty batch
            continue
        opt.zero_grad()
        loss = ((module(xb) - xb) ** 2).mean()
        loss.backward()
        opt.step()
        total += float(loss.detach()) * len(xb)
        n += len(xb)
    return total, n


def reconstruction_errors(
    model: LstmAutoencoder, windows: np.ndarray, batch: int = 1024
) -> np.ndarray:
    model.eval()
    out = []
    with torch.no_grad():
        for i in range(0, len(windows), batch):
            x = torch.from_numpy(np.asarray(windows[i : i + batch], dtype=np.float32))
            out.append(((model(x) - x) ** 2).mean(dim=(1, 2)).numpy())
    return np.concatenate(out) if out else np.zeros(0, dtype=np.float32)


def get_weights(model: LstmAutoencoder) -> list[np.ndarray]:
    return [v.detach().cpu().numpy().copy() for v in model.state_dict().values()]


def set_weights(model: LstmAutoencoder, weights: list[np.ndarray]) -> None:
    keys = list(model.state_dict().keys())
    if len(keys) != len(weights):
        raise ModelError(f"expected {len(keys)} weight arrays, got {len(weights)}")
    model.load_state_dict(
        {k: torch.from_numpy(np.asarray(w)) for k, w in zip(keys, weights, strict=True)}
    )
