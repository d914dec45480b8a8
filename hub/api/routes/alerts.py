"""Alerts (incidents): list, acknowledge, resolve."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Path, Query

from hub.api.deps import Cursor, Limit, Operator, Q, Reader, get_store
from hub.storage import BadCursor, EventStore

router = APIRouter(prefix="/alerts", tags=["alerts"])
AlertId = Annotated[str, Path(min_length=1, max_length=200)]


@router.get("")
def list_alerts(
    q: Q,
    _r: Reader,
    limit: Limit = 50,
    cursor: Cursor = None,
    status: Annotated[str | None, Query(pattern="^(open|acknowledged|resolved)$")] = None,
    severity: Annotated[str | None, Query(pattern="^(info|low|medium|high|critical)$")] = None,
) -> dict[str, Any]:
    try:
        return q.list_alerts(status, severity, limit, cursor)
    except BadCursor as exc:
        raise HTTPException(400, str(exc)) from exc


def _set(store: EventStore, alert_id: str, status: str, by: str) -> dict[str, Any]:
    item = store.set_alert_state(alert_id, status, by)
    if item is None:
        raise HTTPException(404, f"no alert {alert_id!r}")
    return item


@router.post("/{alert_id}/acknowledge")
def acknowledge(
    alert_id: AlertId, role: Operator, store: Annotated[EventStore, Depends(get_store)]
) -> dict[str, Any]:
    return _set(store, alert_id, "acknowledged", role)


@router.post("/{alert_id}/resolve")
def resolve(
    alert_id: AlertId, role: Operator, store: Annotated[EventStore, Depends(get_store)]
) -> dict[str, Any]:
    return _set(store, alert_id, "resolved", role)
