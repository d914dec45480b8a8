"""Health (the process answers) and readiness (the database answers)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse

from hub.api.deps import get_store
from hub.api.models import Health, Ready
from hub.storage import EventStore

router = APIRouter(tags=["health"])


@router.get("/health", response_model=Health)
def health() -> Health:
    return Health(status="ok")


@router.get(
    "/ready",
    response_model=Ready,
    responses={503: {"model": Ready, "description": "The database does not answer"}},
)
def ready(store: Annotated[EventStore, Depends(get_store)]) -> JSONResponse:
    ok = store.ping()
    body = Ready(status="ready" if ok else "database unavailable")
    return JSONResponse(body.model_dump(), status_code=200 if ok else 503)
