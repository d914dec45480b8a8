"""The same DP training as :mod:`edge_agent.fl.client_app`, as a legacy ``NumPyClient`` behind
Flower's ``secaggplus_mod``: with SecAgg+ the hub only ever sees the SUM of the masked
updates, never one node's (Flower 1.42 runs SecAgg+ through the legacy workflow).

Legacy configs carry scalars only, so the scaler travels as a JSON string (``scaler``).
"""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np
from flwr.app import Context
from flwr.client import ClientApp, NumPyClient
from flwr.client.mod import secaggplus_mod

from edge_agent.fl.accountant import PersistentAccountant
from edge_agent.fl.client_app import fit_config, node_settings
from edge_agent.fl.dp_train import fit
from edge_agent.fl.local_data import load_windows


class SecAggClient(NumPyClient):
    def __init__(self, context: Context) -> None:
        self.node_id, self.data, self.state, self.budget = node_settings(context)

    def fit(
        self, parameters: list[np.ndarray], config: dict[str, Any]
    ) -> tuple[list[np.ndarray], int, dict[str, Any]]:
        fc = fit_config(config)
        scaler = json.loads(str(config["scaler"]))
        lo = np.asarray(scaler["lo"], dtype=np.float32)
        hi = np.asarray(scaler["hi"], dtype=np.float32)
        train, _ = load_windows(self.data, lo, hi, fc.window, cache_dir=self.state)
        budget = self.budget if self.budget is not None else fc.target_epsilon
        accountant = (
            PersistentAccountant(self.state / "privacy.json", fc.delta, budget) if fc.dp else None
        )
        out = fit(parameters, train, fc, accountant, int(config.get("server-round", 0)))
        metrics = {
            "loss": 0.0 if math.isnan(out.loss) else out.loss,
            "epsilon": float(out.epsilon or 0.0),
            "budget-exhausted": float(out.budget_exhausted),
        }
        return [np.asarray(w) for w in out.weights], out.samples, metrics


def client_fn(context: Context) -> Any:
    return SecAggClient(context).to_client()


app = ClientApp(client_fn=client_fn, mods=[secaggplus_mod])
