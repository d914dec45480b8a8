"""Pages of stored events (the contracts' own models), alerts with their state, live frames."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from contracts.events import (
    AlertEvent,
    AnomalyEvent,
    AttackClassification,
    AttackPrediction,
    Event,
    FLEvent,
)
from contracts.topics import KafkaTopic
from hub.api.models.base import ApiModel

NextCursor = Annotated[
    str | None, Field(description="Pass as `cursor` for the next page; null on the last page")
]


class AnomalyPage(ApiModel):
    items: list[AnomalyEvent]
    next_cursor: NextCursor


class ClassificationPage(ApiModel):
    items: list[AttackClassification]
    next_cursor: NextCursor


class PredictionPage(ApiModel):
    items: list[AttackPrediction]
    next_cursor: NextCursor


class FLEventPage(ApiModel):
    items: list[FLEvent]
    next_cursor: NextCursor


class AlertItem(AlertEvent):
    """An incident: its last alert event, with the operator-side state."""

    alert_id: Annotated[str, Field(description="The incident key; use it in the action URLs")]
    acknowledged_by: str | None
    acknowledged_at: Annotated[str | None, Field(description="ISO 8601, UTC")]
    resolved_at: Annotated[str | None, Field(description="ISO 8601, UTC")]
    resolution: Annotated[
        Literal["false_positive"] | None,
        Field(description="How it was resolved: `false_positive` when an operator marked it so"),
    ] = None


class AlertPage(ApiModel):
    items: list[AlertItem]
    next_cursor: NextCursor


LIVE_TOPICS: tuple[str, ...] = tuple(t.value for t in KafkaTopic if t is not KafkaTopic.DEAD_LETTER)
"""What ``/ws/events`` can carry: every Kafka topic but dead_letter."""


class LiveFrame(ApiModel):
    """One text frame of ``/ws/events``."""

    topic: Annotated[str, Field(json_schema_extra={"enum": list(LIVE_TOPICS)})]
    event: Event
