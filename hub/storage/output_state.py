"""Each SOC output's health in the store: written every few seconds by ``fednids hub outputs``
(one row per output, upserted by name), read by ``GET /api/outputs``.

The outputs' durable cursors stay where they are (each output's Kafka consumer group); this
row is a report of them (the committed offsets, the lag), not a second cursor. A row whose
``updated`` stops moving is an outputs process that stopped: the API judges it stale."""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError

from hub.errors import StoreError
from hub.storage.schema import output_state
from hub.storage.store import EventStore

COLUMNS = tuple(c.name for c in output_state.columns)
MAX_ERROR = 500


def _row(state: dict[str, Any], now: float) -> dict[str, Any]:
    row = {k: state.get(k) for k in COLUMNS}
    row["cursor"] = json.dumps(state.get("cursor") or {}, sort_keys=True)
    row["counts"] = json.dumps(state.get("counts") or {}, sort_keys=True)
    row["filter"] = str(state.get("filter") or "")[:500]
    if row["last_error"] is not None:
        row["last_error"] = str(row["last_error"])[:MAX_ERROR]
    row["lag_seconds"] = float(state.get("lag_seconds") or 0.0)
    row["consecutive_failures"] = int(state.get("consecutive_failures") or 0)
    row["up"] = bool(state.get("up"))
    row["updated"] = now
    return row


def save_output_states(
    store: EventStore, states: Sequence[dict[str, Any]], now: float | None = None
) -> None:
    """Upsert one row per output (by ``name``); :class:`StoreError` when the database fails."""
    now = time.time() if now is None else now
    rows = [_row(s, now) for s in states]
    if not rows:
        return
    try:
        with store.engine.begin() as conn:
            for row in rows:
                stmt = store._insert(output_state).values(**row)
                stmt = stmt.on_conflict_do_update(
                    index_elements=["name"], set_={k: v for k, v in row.items() if k != "name"}
                )
                conn.execute(stmt)
    except SQLAlchemyError as exc:
        raise StoreError(f"output state write failed: {exc}") from exc


def list_output_states(store: EventStore) -> list[dict[str, Any]]:
    """Every output's last written state, by name (``cursor`` and ``counts`` decoded)."""
    try:
        with store.engine.connect() as conn:
            rows = conn.execute(select(output_state).order_by(output_state.c.name)).mappings()
            out = [dict(r) for r in rows]
    except SQLAlchemyError as exc:
        raise StoreError(f"output state read failed: {exc}") from exc
    for r in out:
        r["cursor"] = _object(r["cursor"])
        r["counts"] = _object(r["counts"])
    return out


def delete_output_states(store: EventStore, keep: Sequence[str]) -> int:
    """Forget the outputs no longer configured (all but ``keep``); the rows removed."""
    try:
        with store.engine.begin() as conn:
            res = conn.execute(output_state.delete().where(output_state.c.name.not_in(list(keep))))
    except SQLAlchemyError as exc:
        raise StoreError(f"output state delete failed: {exc}") from exc
    return int(res.rowcount or 0)


def _object(raw: str) -> dict[str, Any]:
    try:
        value = json.loads(raw)
    except (TypeError, ValueError):
        return {}
    return value if isinstance(value, dict) else {}
