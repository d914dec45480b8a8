"""The federated-learning summary: one row per server round, one per client node."""

from __future__ import annotations

from hub.api.models.base import ApiModel


class FLRound(ApiModel):
    round: int
    loss: float | None
    participants: int | None
    samples: int | None
    duration_s: float | None


class FLNode(ApiModel):
    node_id: str
    epsilon: float | None
    delta: float | None
    budget_epsilon: float | None
    budget_left: float | None
    model_version: str | None


class FLSummary(ApiModel):
    rounds: list[FLRound]
    nodes: list[FLNode]
