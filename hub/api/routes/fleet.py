"""Overview, flows per minute, nodes, models and the attack graph."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request

from hub.api.deps import NodeIdQuery, Q, Reader
from hub.api.models import FlowStats, Graph, ModelList, NodeList, Overview
from hub.api.models.base import ERRORS

router = APIRouter(tags=["fleet"], responses=ERRORS)


@router.get("/overview", response_model=Overview)
def overview(q: Q, _r: Reader, request: Request) -> Overview:
    return Overview.model_validate(q.overview(request.app.state.settings.offline_after_s))


@router.get("/flows/stats", response_model=FlowStats)
def flow_stats(
    q: Q,
    _r: Reader,
    minutes: Annotated[int, Query(ge=1, le=1440)] = 60,
    node_id: NodeIdQuery = None,
) -> FlowStats:
    return FlowStats.model_validate({"items": q.flow_stats(minutes, node_id)})


@router.get("/nodes", response_model=NodeList)
def node_list(q: Q, _r: Reader, request: Request) -> NodeList:
    offline_after_s = request.app.state.settings.offline_after_s
    return NodeList.model_validate({"items": q.node_states(offline_after_s)})


@router.get("/models", response_model=ModelList)
def model_list(q: Q, _r: Reader) -> ModelList:
    return ModelList.model_validate({"items": q.models()})


@router.get("/graph", response_model=Graph)
def graph(q: Q, _r: Reader, minutes: Annotated[int, Query(ge=1, le=1440)] = 30) -> Graph:
    return Graph.model_validate(q.graph(minutes))
