"""The ServerApp's settings: the Flower run config (``[tool.flwr.app.config]`` of the app,
overridden with ``flwr run --run-config``)."""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from federated.config import RoundConfig
from federated.feedback import FeedbackBounds
from federated.robust import Defences

SHIPPED_MODEL = Path(str(files("models").joinpath("artifacts", "lstm-ae")))
_ROUND = RoundConfig()
"""The round config's defaults: the only defaults of the training keys."""
_DEF = Defences()
_FB = FeedbackBounds()


class FLServerSettings(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    num_rounds: int = Field(3, ge=1, alias="num-rounds")
    min_nodes: int = Field(2, ge=1, alias="min-nodes")
    fraction_train: float = Field(1.0, gt=0, le=1, alias="fraction-train")
    fraction_evaluate: float = Field(1.0, ge=0, le=1, alias="fraction-evaluate")
    round_timeout_s: float = Field(120.0, gt=0, alias="round-timeout")
    poll_s: float = Field(0.2, gt=0, le=3.0, alias="poll-interval")
    """How often the ServerApp pulls replies from the SuperLink (Flower's own grid: 3 s)."""
    local_epochs: int = Field(_ROUND.local_epochs, ge=1, alias="local-epochs")
    batch_size: int = Field(_ROUND.batch_size, ge=1, alias="batch-size")
    lr: float = Field(_ROUND.lr, gt=0)
    dp: bool = _ROUND.dp
    target_epsilon: float = Field(_ROUND.target_epsilon, gt=0, alias="target-epsilon")
    delta: float = Field(_ROUND.delta, gt=0, lt=1)
    max_grad_norm: float = Field(_ROUND.max_grad_norm, gt=0, alias="max-grad-norm")
    prox_mu: float = Field(_ROUND.prox_mu, ge=0, le=100, alias="prox-mu")
    """FedProx's proximal weight (0 = FedAvg); benchmarks/dp_utility.py measured mu 1."""
    hidden: int = Field(_ROUND.hidden, ge=1)
    base_model: str = Field("", alias="base-model")
    """Model dir whose scaler and window the federation uses ('' = the shipped model)."""
    events_url: str = Field("", alias="events-url")
    """Where FL events go (``kafka://host:port``; '' = nowhere)."""
    publish_every: int = Field(0, ge=0, alias="publish-every")
    """Export, sign and announce every N rounds (0: after the last round only)."""
    publish: bool = True
    eval_wave: bool = Field(False, alias="eval-wave")
    """The old path, kept for comparison: an evaluation round trip (torch) after each
    publishing round. False: the nodes evaluate the global model they receive inside their
    training reply, and only the last round's model gets an (numpy) evaluation round."""
    registry_dir: str = Field("", alias="registry-dir")
    signing_key: str = Field("", alias="signing-key")
    fleet_id: str = Field("", alias="fleet-id")
    """Sign published models for this fleet ('' = none): nodes provisioned with
    ``--fleet-id`` refuse models signed for another fleet or for none."""
    mqtt_url: str = Field("", alias="mqtt-url")
    mqtt_ca: str = Field("", alias="mqtt-ca")
    mqtt_cert: str = Field("", alias="mqtt-cert")
    mqtt_key: str = Field("", alias="mqtt-key")
    summary_path: str = Field("", alias="summary-path")
    """Write the run's summary (rounds, epsilons, versions) as JSON here ('' = don't)."""
    server_node: str = Field("hub", alias="server-node", pattern=r"^[a-z0-9][a-z0-9_-]{0,62}$")
    """The node id of the hub's own FL events."""
    seed: int = _ROUND.seed
    aggregator: Literal["fedavg", "trimmed-mean", "median"] = _DEF.aggregator
    """How updates are combined: FedAvg (sample-weighted), or robust to a hostile minority."""
    trim_beta: float = Field(_DEF.trim_beta, ge=0, lt=0.5, alias="trim-beta")
    clip_update_norm: float = Field(_DEF.clip_norm, ge=0, alias="clip-update-norm")
    """Absolute L2 bound on each node's update (its weights minus the global ones; 0 = none)."""
    clip_update_factor: float = Field(_DEF.clip_factor, ge=0, alias="clip-update-factor")
    """L2 bound on each update as a multiple of the round's median update norm (0 = none)."""
    max_samples: int = Field(_DEF.max_samples, ge=1, alias="max-samples")
    """A node's reported sample count is capped at this (the flow store keeps 200,000 rows)."""
    max_threshold: float = Field(_DEF.max_threshold, gt=0, alias="max-threshold")
    """A node's reported threshold outside (0, this] is refused."""
    feedback_db: str = Field("", alias="feedback-db")
    """The hub's store (``postgresql://...``, ``sqlite:///...``) whose false-positive marks
    raise the thresholds of each published model (``federated/feedback.py``; '' = off)."""
    feedback_margin: float = Field(_FB.margin, ge=1, le=10, alias="feedback-margin")
    feedback_max_factor: float = Field(_FB.max_factor, ge=1, le=10, alias="feedback-max-factor")
    """A node's threshold rises at most this many times its computed one, whatever is marked."""
    feedback_fleet_nodes: int = Field(_FB.fleet_nodes, ge=0, alias="feedback-fleet-nodes")
    """The fleet threshold reacts only when this many nodes marked false positives (0: never)."""
    secagg_shares: int = Field(3, ge=2, alias="secagg-shares")
    secagg_threshold: int = Field(2, ge=1, alias="secagg-threshold")
    secagg_max_weight: float = Field(10000.0, gt=0, alias="secagg-max-weight")
    """SecAgg+ only (``app_secagg``): an upper bound of a node's sample count."""

    def round_config(self, window: int, lo: list[float], hi: list[float]) -> RoundConfig:
        """What every node's training needs from the server (``server-round`` is set by the
        strategy each round)."""
        return RoundConfig(
            window=window,
            hidden=self.hidden,
            local_epochs=self.local_epochs,
            batch_size=self.batch_size,
            lr=self.lr,
            dp=self.dp,
            target_epsilon=self.target_epsilon,
            delta=self.delta,
            max_grad_norm=self.max_grad_norm,
            prox_mu=self.prox_mu,
            planned_rounds=self.num_rounds,
            seed=self.seed,
            scaler_lo=lo,
            scaler_hi=hi,
        )

    def defences(self) -> Defences:
        return Defences(
            aggregator=self.aggregator,
            trim_beta=self.trim_beta,
            clip_norm=self.clip_update_norm,
            clip_factor=self.clip_update_factor,
            max_samples=self.max_samples,
            max_threshold=self.max_threshold,
        )

    def feedback_bounds(self) -> FeedbackBounds:
        return FeedbackBounds(
            margin=self.feedback_margin,
            max_factor=self.feedback_max_factor,
            max_threshold=self.max_threshold,
            fleet_nodes=self.feedback_fleet_nodes,
        )

    @property
    def base_model_dir(self) -> Path:
        return Path(self.base_model) if self.base_model else SHIPPED_MODEL
