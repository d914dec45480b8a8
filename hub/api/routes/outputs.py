"""The SOC outputs (syslog, webhook, Splunk HEC, apprise, Kafka): each one's health and lag,
as the ``fednids hub outputs`` process writes them to the store every few seconds."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends

from hub.api.deps import Reader, get_store
from hub.api.models.base import ERRORS
from hub.api.models.outputs import CursorPosition, OutputList, OutputStatus
from hub.storage import EventStore
from hub.storage.output_state import list_output_states

router = APIRouter(tags=["outputs"], responses=ERRORS)
STALE_AFTER_S = 30.0
"""A row not written for this long is an outputs process that stopped (it writes every 5 s)."""


def _iso(ts: float | None) -> str | None:
    return None if ts is None else datetime.fromtimestamp(ts, UTC).isoformat()


def _cursor(raw: dict[str, Any]) -> list[CursorPosition]:
    out = []
    for key, offset in raw.items():
        topic, _, part = str(key).rpartition(":")
        if topic and part.isdigit() and isinstance(offset, int):
            out.append(CursorPosition(topic=topic, partition=int(part), offset=offset))
    return sorted(out, key=lambda c: (c.topic, c.partition))


def output_status(row: dict[str, Any], now: float) -> OutputStatus:
    counts = {k: int(v) for k, v in row["counts"].items() if isinstance(v, int)}
    age = max(0.0, now - row["updated"])
    health = "stale" if age > STALE_AFTER_S else "healthy" if row["up"] else "unhealthy"
    return OutputStatus(
        name=row["name"],
        kind=row["kind"],
        filter=row["filter"],
        health=health,
        up=row["up"],
        lag_records=row["lag_records"],
        lag_seconds=row["lag_seconds"],
        cursor=_cursor(row["cursor"]),
        last_success=_iso(row["last_success"]),
        last_error=row["last_error"],
        last_error_at=_iso(row["last_error_at"]),
        consecutive_failures=row["consecutive_failures"],
        delivered=counts.get("sent", 0),
        suppressed=counts.get("suppressed", 0),
        rate_limited=counts.get("limited", 0),
        filtered=counts.get("filtered", 0),
        rejected=counts.get("rejected", 0),
        undecodable=counts.get("undecodable", 0),
        failures=counts.get("failures", 0),
        started=_iso(row["started"]) or "",
        updated=_iso(row["updated"]) or "",
        age_s=round(age, 1),
    )


@router.get("/outputs", response_model=OutputList)
def list_outputs(store: Annotated[EventStore, Depends(get_store)], _r: Reader) -> OutputList:
    now = time.time()
    items = [output_status(r, now) for r in list_output_states(store)]
    return OutputList(items=items, stale_after_s=STALE_AFTER_S)
