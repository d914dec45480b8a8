"""The node's own settings from ``flower-supernode --node-config``, with its provisioned
privacy policy, and how that policy overrides what a round asks: the node's decision wins.

Keys: ``node-id`` (the agent's node id), ``data`` (where its benign flows are, see
:mod:`federated.local_data`), ``state-dir`` (privacy accountant, window cache),
``budget-epsilon`` (its total budget; default the run's target epsilon) and the policy:

* ``dp-required`` (default true): the node trains with DP-SGD even when the server sends
  ``dp = false``; a server never gets a raw update from such a node;
* ``max-epsilon`` (default 10): the node's total epsilon never exceeds it, whatever the
  server's ``target-epsilon`` or the node's ``budget-epsilon``;
* ``max-delta`` (default 1e-5): the delta the node accounts at is at most this;
* ``min-noise-multiplier`` (default 0): DP-SGD noise never below it;
* ``train-threads`` (default 1): torch's intra-op threads for training. The node's agent
  keeps detecting while it trains, and on 2 cores three client processes with torch's
  default of one thread per core competed for them.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from federated.config import RoundConfig
from federated.errors import PolicyError


class NodeSettings(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore", populate_by_name=True)

    node_id: str = Field(alias="node-id", pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$")
    data: str = Field(min_length=1)
    state_dir: Path = Field(alias="state-dir")
    budget_epsilon: float | None = Field(None, gt=0, allow_inf_nan=False, alias="budget-epsilon")
    dp_required: bool = Field(True, alias="dp-required")
    max_epsilon: float = Field(10.0, gt=0, allow_inf_nan=False, alias="max-epsilon")
    max_delta: float = Field(1e-5, gt=0, lt=1, alias="max-delta")
    min_noise_multiplier: float = Field(
        0.0, ge=0, allow_inf_nan=False, alias="min-noise-multiplier"
    )
    train_threads: int = Field(1, ge=1, le=64, alias="train-threads")

    @classmethod
    def from_node_config(cls, node_config: Mapping[str, Any], flwr_node_id: int) -> NodeSettings:
        nc = dict(node_config)
        nc.setdefault("node-id", f"node-{flwr_node_id}")
        nc.setdefault("state-dir", f"/var/lib/fednids/fl/{nc['node-id']}")
        if "data" not in nc:
            raise PolicyError("node config has no 'data' (store:PATH, sim:SPEC or npz:PATH)")
        try:
            return cls.model_validate(nc)
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()
            )
            raise PolicyError(f"malformed node config: {problems}") from None

    def apply(self, rc: RoundConfig) -> RoundConfig:
        """The round as this node will run it: DP forced on if required, epsilon and delta no
        looser than the policy allows."""
        dp = rc.dp or self.dp_required
        return rc.model_copy(
            update={
                "dp": dp,
                "target_epsilon": min(rc.target_epsilon, self.max_epsilon),
                "delta": min(rc.delta, self.max_delta),
            }
        )

    def budget(self, rc: RoundConfig) -> float:
        """The node's total epsilon budget for the (policy-applied) round config."""
        own = self.budget_epsilon if self.budget_epsilon is not None else rc.target_epsilon
        return min(own, self.max_epsilon)
