"""The same DP training as :mod:`federated.client_app`, as a legacy ``NumPyClient`` behind
Flower's ``secaggplus_mod``: with SecAgg+ the hub only ever sees the SUM of the masked
updates, never one node's (Flower 1.42 runs SecAgg+ through the legacy workflow).

Legacy configs carry scalars only: the round config arrives as
:meth:`federated.config.RoundConfig.to_scalars` (the scaler as one JSON string). The node's
privacy policy applies exactly as in the plain client.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from flwr.app import Context
from flwr.client import ClientApp, NumPyClient
from flwr.client.mod import secaggplus_mod

from federated.client_app import round_config, train_round
from federated.policy import NodeSettings


class SecAggClient(NumPyClient):
    def __init__(self, context: Context) -> None:
        self.node = NodeSettings.from_node_config(context.node_config, context.node_id)

    def fit(
        self, parameters: list[np.ndarray], config: dict[str, Any]
    ) -> tuple[list[np.ndarray], int, dict[str, Any]]:
        out, metrics = train_round(round_config(config), parameters, self.node)
        keep = ("loss", "budget-exhausted", "dp-forced")
        return (
            [np.asarray(w) for w in out.weights],
            out.samples,
            {k: metrics[k] for k in keep} | {"epsilon": metrics.get("epsilon", 0.0)},
        )


def client_fn(context: Context) -> Any:
    return SecAggClient(context).to_client()


app = ClientApp(client_fn=client_fn, mods=[secaggplus_mod])
