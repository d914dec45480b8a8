"""Lists of stored events: anomalies, classifications, predictions, FL events."""

from __future__ import annotations

from dataclasses import replace
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query

from hub.api.deps import Cursor, Filter, Limit, Q, Reader
from hub.storage import BadCursor

router = APIRouter(tags=["events"])


def _page(q: Q, kind: str, flt: Any, limit: int, cursor: str | None) -> dict[str, Any]:
    try:
        return q.list_events(kind, flt, limit, cursor)
    except BadCursor as exc:
        raise HTTPException(400, str(exc)) from exc


@router.get("/anomalies")
def anomalies(
    q: Q,
    _r: Reader,
    flt: Filter,
    limit: Limit = 50,
    cursor: Cursor = None,
    detector: Annotated[str | None, Query(pattern="^(lstm|rules|novelty|iforest)$")] = None,
) -> dict[str, Any]:
    return _page(q, "anomaly", replace(flt, tag=detector), limit, cursor)


@router.get("/classifications")
def classifications(
    q: Q,
    _r: Reader,
    flt: Filter,
    limit: Limit = 50,
    cursor: Cursor = None,
    family: Annotated[str | None, Query(max_length=32)] = None,
) -> dict[str, Any]:
    return _page(q, "classification", replace(flt, tag=family), limit, cursor)


@router.get("/predictions")
def predictions(
    q: Q,
    _r: Reader,
    flt: Filter,
    limit: Limit = 50,
    cursor: Cursor = None,
    predictor: Annotated[str | None, Query(pattern="^(gnn|heuristic)$")] = None,
) -> dict[str, Any]:
    return _page(q, "prediction", replace(flt, tag=predictor), limit, cursor)


@router.get("/fl/events")
def fl_events(
    q: Q,
    _r: Reader,
    flt: Filter,
    limit: Limit = 50,
    cursor: Cursor = None,
    role: Annotated[str | None, Query(pattern="^(server|client)$")] = None,
    round: Annotated[int | None, Query(ge=0)] = None,
) -> dict[str, Any]:
    return _page(
        q, "fl", replace(flt, tag=role, host=None if round is None else str(round)), limit, cursor
    )


@router.get("/fl/summary")
def fl_summary(q: Q, _r: Reader) -> dict[str, Any]:
    return q.fl_summary()
