"""The ServerApp's settings: the Flower run config (``[tool.flwr.app.config]`` of the app,
overridden with ``flwr run --run-config``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

SHIPPED_MODEL = Path(__file__).resolve().parents[2] / "models" / "artifacts" / "lstm-ae"


class FLServerSettings(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    num_rounds: int = Field(3, ge=1, alias="num-rounds")
    min_nodes: int = Field(2, ge=1, alias="min-nodes")
    fraction_train: float = Field(1.0, gt=0, le=1, alias="fraction-train")
    fraction_evaluate: float = Field(1.0, ge=0, le=1, alias="fraction-evaluate")
    round_timeout_s: float = Field(120.0, gt=0, alias="round-timeout")
    poll_s: float = Field(0.2, gt=0, le=3.0, alias="poll-interval")
    """How often the ServerApp pulls replies from the SuperLink (Flower's own grid: 3 s)."""
    local_epochs: int = Field(3, ge=1, alias="local-epochs")
    batch_size: int = Field(64, ge=1, alias="batch-size")
    lr: float = Field(2e-2, gt=0)
    dp: bool = True
    target_epsilon: float = Field(3.0, gt=0, alias="target-epsilon")
    delta: float = Field(1e-5, gt=0, lt=1)
    max_grad_norm: float = Field(0.1, gt=0, alias="max-grad-norm")
    hidden: int = Field(16, ge=1)
    base_model: str = Field("", alias="base-model")
    """Model dir whose scaler and window the federation uses ('' = the shipped model)."""
    events_url: str = Field("", alias="events-url")
    """Where FL events go (``kafka://host:port``; '' = nowhere)."""
    publish_every: int = Field(0, ge=0, alias="publish-every")
    """Export, sign and announce every N rounds (0: after the last round only)."""
    publish: bool = True
    registry_dir: str = Field("", alias="registry-dir")
    signing_key: str = Field("", alias="signing-key")
    mqtt_url: str = Field("", alias="mqtt-url")
    mqtt_ca: str = Field("", alias="mqtt-ca")
    mqtt_cert: str = Field("", alias="mqtt-cert")
    mqtt_key: str = Field("", alias="mqtt-key")
    summary_path: str = Field("", alias="summary-path")
    """Write the run's summary (rounds, epsilons, versions) as JSON here ('' = don't)."""
    server_node: str = Field("hub", alias="server-node", pattern=r"^[a-z0-9][a-z0-9_-]{0,62}$")
    """The node id of the hub's own FL events."""
    seed: int = 0

    def client_config(self, window: int) -> dict[str, Any]:
        """What every node's training needs from the server (the scaler is added by the app)."""
        return {
            "window": window,
            "hidden": self.hidden,
            "local-epochs": self.local_epochs,
            "batch-size": self.batch_size,
            "lr": self.lr,
            "dp": self.dp,
            "target-epsilon": self.target_epsilon,
            "delta": self.delta,
            "max-grad-norm": self.max_grad_norm,
            "planned-rounds": self.num_rounds,
        }

    @property
    def base_model_dir(self) -> Path:
        return Path(self.base_model) if self.base_model else SHIPPED_MODEL
