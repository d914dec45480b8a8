"""Alerts (incidents): list, acknowledge, resolve."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Path, Query

from contracts.events import Severity
from hub.api.deps import NO_CONTROL, AlertStatus, Cursor, Limit, Operator, Q, Reader, get_store
from hub.api.models import AlertItem, AlertPage, Problem
from hub.api.models.base import ERRORS
from hub.storage import BadCursor, EventStore

router = APIRouter(prefix="/alerts", tags=["alerts"], responses=ERRORS)
AlertId = Annotated[str, Path(min_length=1, max_length=200, pattern=NO_CONTROL)]
ACTION_ERRORS: dict[int | str, dict[str, Any]] = {
    403: {"model": Problem, "description": "This needs an operator token"},
    404: {"model": Problem, "description": "No such alert"},
}


@router.get(
    "",
    response_model=AlertPage,
    responses={400: {"model": Problem, "description": "A cursor this API did not make"}},
)
def list_alerts(
    q: Q,
    _r: Reader,
    limit: Limit = 50,
    cursor: Cursor = None,
    status: Annotated[AlertStatus | None, Query()] = None,
    severity: Annotated[Severity | None, Query()] = None,
    suppressed: Annotated[
        Literal["exclude", "include", "only"],
        Query(description="Incidents an active suppression marked: hidden by default"),
    ] = "exclude",
) -> AlertPage:
    try:
        raw = q.list_alerts(status, severity, limit, cursor, suppressed)
    except BadCursor as exc:
        raise HTTPException(400, str(exc)) from exc
    return AlertPage.model_validate(raw, strict=False)


def _set(store: EventStore, alert_id: str, status: str, by: str) -> AlertItem:
    item = store.set_alert_state(alert_id, status, by)
    if item is None:
        raise HTTPException(404, f"no alert {alert_id!r}")
    return AlertItem.model_validate(item, strict=False)


@router.post("/{alert_id}/acknowledge", response_model=AlertItem, responses=ACTION_ERRORS)
def acknowledge(
    alert_id: AlertId, role: Operator, store: Annotated[EventStore, Depends(get_store)]
) -> AlertItem:
    return _set(store, alert_id, "acknowledged", role)


@router.post("/{alert_id}/resolve", response_model=AlertItem, responses=ACTION_ERRORS)
def resolve(
    alert_id: AlertId, role: Operator, store: Annotated[EventStore, Depends(get_store)]
) -> AlertItem:
    return _set(store, alert_id, "resolved", role)
