"""The SOC outputs' health as ``fednids hub outputs`` last wrote it to the store."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from hub.api.models.base import ApiModel

Iso = Annotated[str, Field(description="ISO 8601, UTC")]
OutputKind = Literal["syslog", "webhook", "splunk_hec", "apprise", "kafka"]


class CursorPosition(ApiModel):
    """The output's committed offset on one partition of an input topic (its durable cursor:
    the output's own Kafka consumer group)."""

    topic: str
    partition: int
    offset: int


class OutputStatus(ApiModel):
    name: str
    kind: OutputKind
    filter: Annotated[str, Field(description="What the output takes: severity, families, ...")]
    health: Literal["healthy", "unhealthy", "stale"]
    """``unhealthy``: its last delivery failed (retried from its cursor); ``stale``: the
    outputs process has not written for ``stale_after_s`` (stopped or cut off)."""
    up: bool
    lag_records: Annotated[
        int | None, Field(description="Records past its cursor (null: broker unreachable)")
    ]
    lag_seconds: Annotated[
        float, Field(description="Age of the oldest record waiting for delivery (0: none)")
    ]
    cursor: list[CursorPosition]
    last_success: Iso | None
    last_error: str | None
    last_error_at: Iso | None
    consecutive_failures: int
    delivered: int
    suppressed: Annotated[int, Field(description="Incidents a suppression marked: not sent")]
    rate_limited: Annotated[int, Field(description="Over the rate limit: not sent, counted")]
    filtered: int
    rejected: Annotated[int, Field(description="Refused for good by the receiver")]
    undecodable: int
    failures: Annotated[int, Field(description="Failed deliveries since start (each retried)")]
    started: Iso
    updated: Iso
    age_s: Annotated[float, Field(description="Seconds since the outputs process wrote this")]


class OutputList(ApiModel):
    items: list[OutputStatus]
    stale_after_s: float
