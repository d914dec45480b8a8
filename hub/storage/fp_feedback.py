"""The detections operators marked false positive, for the next model round to learn from.

A narrow read API (the ServerApp's threshold feedback, ``federated/feedback.py``, reads it;
the hub never imports ``federated``): the anomalies an incident names (``related_ids``, at
most the 64 it keeps) of every incident that is resolved as ``false_positive`` AND still
under a live suppression (neither expired nor deleted). The suppression is the feedback's
lifetime: deleting or expiring it, or reopening the incident, withdraws the false positive
from the next round. Reads only; nothing here writes."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from pydantic import ValidationError
from sqlalchemy import Engine, select
from sqlalchemy.exc import SQLAlchemyError

from contracts.events import AlertEvent, AnomalyEvent
from hub.errors import StoreError
from hub.storage.schema import alerts, events, suppressions

MAX_INCIDENTS = 1000
"""At most this many marked incidents are read (the most recently resolved first)."""
_CHUNK = 500


@dataclass(frozen=True)
class MarkedAnomaly:
    """One detection of an incident an operator marked false positive."""

    incident_key: str
    suppression_id: str
    event_id: str
    node_id: str
    detector: str
    score: float
    threshold: float
    model_version: str | None
    threshold_scope: str | None
    """'node' or 'fleet': which threshold the agent judged it against (LSTM evidence)."""


@dataclass
class FalsePositives:
    marks: list[MarkedAnomaly] = field(default_factory=list)
    incidents: int = 0
    """Marked incidents read (live suppression, resolved as false positive)."""
    unreadable: int = 0
    """Stored payloads (incidents or detections) that no longer validate: counted, not used."""


def _incidents(engine: Engine, now: float, limit: int) -> list[tuple[str, str, str]]:
    a, s = alerts.c, suppressions.c
    q = (
        select(a.incident_key, a.suppressed_by, a.payload)
        .join(suppressions, s.id == a.suppressed_by)
        .where(
            a.resolution == "false_positive",
            a.status == "resolved",
            s.deleted_at.is_(None),
            s.expires_at > now,
        )
        .order_by(a.resolved_at.desc(), a.incident_key)
        .limit(max(1, limit))
    )
    with engine.connect() as conn:
        return [(str(r[0]), str(r[1]), str(r[2])) for r in conn.execute(q).all()]


def _anomalies(engine: Engine, ids: list[str]) -> list[str]:
    out: list[str] = []
    with engine.connect() as conn:
        for i in range(0, len(ids), _CHUNK):
            q = select(events.c.payload).where(
                events.c.event_id.in_(ids[i : i + _CHUNK]), events.c.kind == "anomaly"
            )
            out.extend(str(p) for p in conn.execute(q).scalars())
    return out


def false_positive_anomalies(
    engine: Engine, now: float | None = None, limit: int = MAX_INCIDENTS
) -> FalsePositives:
    """The stored detections of the live false-positive incidents (each detection once, even
    when several incidents name it). Raises :class:`StoreError` when the store cannot be read."""
    now = time.time() if now is None else now
    got = FalsePositives()
    owner: dict[str, tuple[str, str]] = {}
    try:
        for key, sid, payload in _incidents(engine, now, limit):
            try:
                inc = AlertEvent.model_validate_json(payload)
            except ValidationError:
                got.unreadable += 1
                continue
            got.incidents += 1
            for rid in inc.related_ids:
                owner.setdefault(str(rid), (key, sid))
        rows = _anomalies(engine, sorted(owner))
    except SQLAlchemyError as exc:
        raise StoreError(f"cannot read the false positives: {exc}") from exc
    for raw in rows:
        try:
            ev = AnomalyEvent.model_validate_json(raw)
        except ValidationError:
            got.unreadable += 1
            continue
        key, sid = owner[str(ev.event_id)]
        scope = ev.evidence.get("threshold_scope")
        got.marks.append(
            MarkedAnomaly(
                incident_key=key,
                suppression_id=sid,
                event_id=str(ev.event_id),
                node_id=ev.node_id,
                detector=ev.detector,
                score=float(ev.score),
                threshold=float(ev.threshold),
                model_version=ev.model_version,
                threshold_scope=scope if isinstance(scope, str) else None,
            )
        )
    got.marks.sort(key=lambda m: (m.node_id, m.event_id))
    return got
