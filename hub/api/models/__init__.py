"""Response models of the hub API: what every route returns, so its OpenAPI is exact and the
dashboard's TypeScript types are generated from it (``scripts/gen-dashboard-types.sh``).

Lists of stored events reuse the contracts' event models; the aggregates (overview, nodes,
graph, FL summary, models) have their own models here."""

from hub.api.models.base import ApiModel, Problem
from hub.api.models.events import (
    AlertItem,
    AlertPage,
    AnomalyPage,
    ClassificationPage,
    FLEventPage,
    LiveFrame,
    PredictionPage,
)
from hub.api.models.fl import FLSummary
from hub.api.models.fleet import (
    FlowStats,
    Graph,
    ModelList,
    NodeList,
    Overview,
)
from hub.api.models.health import Health, Ready

__all__ = [
    "AlertItem",
    "AlertPage",
    "AnomalyPage",
    "ApiModel",
    "ClassificationPage",
    "FLEventPage",
    "FLSummary",
    "FlowStats",
    "Graph",
    "Health",
    "LiveFrame",
    "ModelList",
    "NodeList",
    "Overview",
    "PredictionPage",
    "Problem",
    "Ready",
]
