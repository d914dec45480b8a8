"""Lists of stored events: anomalies, classifications, predictions, FL events."""

from __future__ import annotations

from dataclasses import replace
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, HTTPException, Query

from contracts.events import AttackFamily, Detector
from hub.api.deps import Cursor, Filter, FLRole, Limit, Predictor, Q, Reader
from hub.api.models import (
    AnomalyPage,
    ApiModel,
    ClassificationPage,
    FLEventPage,
    FLSummary,
    PredictionPage,
)
from hub.api.models.base import ERRORS, Problem
from hub.storage import BadCursor, EventFilter

router = APIRouter(tags=["events"], responses=ERRORS)
PAGE_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": Problem, "description": "A cursor this API did not make"}
}
P = TypeVar("P", bound=ApiModel)


def _page(q: Q, kind: str, flt: EventFilter, limit: int, cursor: str | None, model: type[P]) -> P:
    try:
        raw = q.list_events(kind, flt, limit, cursor)
    except BadCursor as exc:
        raise HTTPException(400, str(exc)) from exc
    # Stored payloads are JSON (ISO times, string UUIDs): validate them laxly into the models.
    return model.model_validate(raw, strict=False)


@router.get("/anomalies", response_model=AnomalyPage, responses=PAGE_ERRORS)
def anomalies(
    q: Q,
    _r: Reader,
    flt: Filter,
    limit: Limit = 50,
    cursor: Cursor = None,
    detector: Annotated[Detector | None, Query()] = None,
) -> AnomalyPage:
    return _page(q, "anomaly", replace(flt, tag=detector), limit, cursor, AnomalyPage)


@router.get("/classifications", response_model=ClassificationPage, responses=PAGE_ERRORS)
def classifications(
    q: Q,
    _r: Reader,
    flt: Filter,
    limit: Limit = 50,
    cursor: Cursor = None,
    family: Annotated[AttackFamily | None, Query()] = None,
) -> ClassificationPage:
    return _page(q, "classification", replace(flt, tag=family), limit, cursor, ClassificationPage)


@router.get("/predictions", response_model=PredictionPage, responses=PAGE_ERRORS)
def predictions(
    q: Q,
    _r: Reader,
    flt: Filter,
    limit: Limit = 50,
    cursor: Cursor = None,
    predictor: Annotated[Predictor | None, Query()] = None,
) -> PredictionPage:
    return _page(q, "prediction", replace(flt, tag=predictor), limit, cursor, PredictionPage)


@router.get("/fl/events", response_model=FLEventPage, responses=PAGE_ERRORS)
def fl_events(
    q: Q,
    _r: Reader,
    flt: Filter,
    limit: Limit = 50,
    cursor: Cursor = None,
    role: Annotated[FLRole | None, Query()] = None,
    round: Annotated[int | None, Query(ge=0)] = None,
) -> FLEventPage:
    flt = replace(flt, tag=role, host=None if round is None else str(round))
    return _page(q, "fl", flt, limit, cursor, FLEventPage)


@router.get("/fl/summary", response_model=FLSummary)
def fl_summary(q: Q, _r: Reader) -> FLSummary:
    return FLSummary.model_validate(q.fl_summary())
