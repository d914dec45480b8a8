"""Health (the process answers) and readiness (the database answers)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse

from hub.api.deps import get_store
from hub.storage import EventStore

router = APIRouter(tags=["health"])


@router.get("/health")
def health() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/ready", response_model=None)
def ready(store: Annotated[EventStore, Depends(get_store)]) -> JSONResponse:
    ok = store.ping()
    return JSONResponse(
        {"status": "ready" if ok else "database unavailable"}, status_code=200 if ok else 503
    )
