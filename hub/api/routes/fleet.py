"""Overview, flows per minute, nodes, models and the attack graph."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request

from hub.api.deps import Q, Reader

router = APIRouter(tags=["fleet"])


@router.get("/overview")
def overview(q: Q, _r: Reader, request: Request) -> dict[str, Any]:
    return q.overview(request.app.state.settings.offline_after_s)


@router.get("/flows/stats")
def flow_stats(
    q: Q,
    _r: Reader,
    minutes: Annotated[int, Query(ge=1, le=1440)] = 60,
    node_id: Annotated[str | None, Query(max_length=64)] = None,
) -> dict[str, Any]:
    return {"items": q.flow_stats(minutes, node_id)}


@router.get("/nodes")
def node_list(q: Q, _r: Reader, request: Request) -> dict[str, Any]:
    return {"items": q.node_states(request.app.state.settings.offline_after_s)}


@router.get("/models")
def model_list(q: Q, _r: Reader) -> dict[str, Any]:
    return {"items": q.models()}


@router.get("/graph")
def graph(q: Q, _r: Reader, minutes: Annotated[int, Query(ge=1, le=1440)] = 30) -> dict[str, Any]:
    return q.graph(minutes)
