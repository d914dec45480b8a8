"""The fednids Flower app, in the shape of Flower's own app template.

* :mod:`federated.client_app` - the ``ClientApp`` each node's ``flower-supernode`` runs (the
  only module that reads the node's flows through :mod:`edge_agent`);
* :mod:`federated.server_app` - the ``ServerApp`` the hub's ``flower-superlink`` runs;
* :mod:`federated.task` - the model as numpy weights, one round of (DP) training, evaluation;
* :mod:`federated.config` - the ONE typed round config the server sends and the node reads;
* :mod:`federated.strategy` - FedAvg with FL events, the federated threshold and the defences;
* ``app/pyproject.toml``, ``app_secagg/pyproject.toml`` - the Flower apps ``flwr run`` submits.

The hub imports only the server side (``server_app``, ``strategy``, ``config``, ``task``,
``settings``, ``export``, ``events``): none of it imports :mod:`edge_agent`.
"""

from __future__ import annotations

from pathlib import Path

APP_DIR = Path(__file__).with_name("app")
"""The plain app (FedAvg over the Message API): ``flwr run APP_DIR``."""

SECAGG_APP_DIR = Path(__file__).with_name("app_secagg")
"""The SecAgg+ variant (legacy workflow): ``fednids hub fl-run --secagg``."""
