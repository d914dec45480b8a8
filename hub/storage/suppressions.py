"""Suppressions in the store (part of :class:`~hub.storage.store.EventStore`): create, list,
expire, delete, each audited (who, when); the active set for the alerting service; marking
an incident; and each suppression's hits (detections of the incidents it marked).

Hits are counted here, when a marked incident is stored: the growth of its ``count`` since
the last stored version (an incident event is stored once per ``event_id``, so a replayed
Kafka batch does not count twice)."""

from __future__ import annotations

import json
import time
import uuid
from datetime import UTC, datetime
from typing import Any, Literal

from sqlalchemy import Connection, Engine, and_, case, or_, select
from sqlalchemy.exc import SQLAlchemyError

from contracts.events import AlertEvent
from hub.errors import StoreError
from hub.services.suppressions import Active, SuppressionMatch
from hub.storage.schema import alerts, suppression_audit, suppressions

State = Literal["active", "expired", "deleted", "all"]
SYSTEM = "system"
"""The actor of an audit row the hub wrote itself (a suppression that reached its expiry)."""


def _iso(ts: float | None) -> str | None:
    return None if ts is None else datetime.fromtimestamp(ts, UTC).isoformat()


def state_of(row: Any, now: float) -> str:
    if row["deleted_at"] is not None:
        return "deleted"
    return "active" if row["expires_at"] > now else "expired"


def suppression_item(row: Any, now: float) -> dict[str, Any]:
    return {
        "id": row["id"],
        "match": json.loads(row["match"]),
        "reason": row["reason"],
        "author": row["author"],
        "created_at": _iso(row["created_at"]),
        "expires_at": _iso(row["expires_at"]),
        "deleted_at": _iso(row["deleted_at"]),
        "source_incident": row["source_incident"],
        "hits": row["hits"],
        "last_hit": _iso(row["last_hit"]),
        "state": state_of(row, now),
    }


def _audit(
    conn: Connection, sid: str, action: str, actor: str, at: float, detail: str = ""
) -> None:
    conn.execute(
        suppression_audit.insert().values(
            suppression_id=sid, action=action, actor=actor[:100], at=at, detail=detail[:500] or None
        )
    )


class SuppressionStore:
    """The suppressions part of the event store (mixed into ``EventStore``)."""

    engine: Engine

    def create_suppression(
        self,
        match: SuppressionMatch,
        reason: str,
        author: str,
        expires_at: float,
        source_incident: str | None = None,
        now: float | None = None,
    ) -> dict[str, Any]:
        now = time.time() if now is None else now
        sid = str(uuid.uuid4())
        row: dict[str, Any] = {
            "id": sid,
            "match": match.model_dump_json(exclude_none=True),
            "reason": reason[:500],
            "author": author[:100],
            "created_at": now,
            "expires_at": expires_at,
            "deleted_at": None,
            "source_incident": source_incident,
            "hits": 0,
            "last_hit": None,
        }
        try:
            with self.engine.begin() as conn:
                conn.execute(suppressions.insert().values(**row))
                _audit(conn, sid, "created", author, now, reason)
        except SQLAlchemyError as exc:
            raise StoreError(f"suppression insert failed: {exc}") from exc
        return suppression_item(row, now)

    def _sweep_expired(self, conn: Connection, now: float) -> None:
        """Audit rows for suppressions that reached their expiry since the last sweep."""
        done = select(suppression_audit.c.suppression_id).where(
            suppression_audit.c.action == "expired"
        )
        s = suppressions.c
        rows = conn.execute(
            select(s.id, s.expires_at).where(
                s.deleted_at.is_(None), s.expires_at <= now, s.id.not_in(done)
            )
        ).all()
        for sid, at in rows:
            _audit(conn, sid, "expired", SYSTEM, at, "reached its expiry")

    def list_suppressions(
        self, state: State = "active", limit: int = 200, now: float | None = None
    ) -> list[dict[str, Any]]:
        now = time.time() if now is None else now
        s = suppressions.c
        q = select(suppressions)
        if state == "active":
            q = q.where(s.deleted_at.is_(None), s.expires_at > now)
        elif state == "expired":
            q = q.where(s.deleted_at.is_(None), s.expires_at <= now)
        elif state == "deleted":
            q = q.where(s.deleted_at.is_not(None))
        q = q.order_by(s.created_at.desc(), s.id).limit(max(1, min(limit, 1000)))
        try:
            with self.engine.begin() as conn:
                self._sweep_expired(conn, now)
                rows = conn.execute(q).mappings().all()
        except SQLAlchemyError as exc:
            raise StoreError(f"suppression list failed: {exc}") from exc
        return [suppression_item(r, now) for r in rows]

    def get_suppression(self, sid: str, now: float | None = None) -> dict[str, Any] | None:
        now = time.time() if now is None else now
        try:
            with self.engine.begin() as conn:
                self._sweep_expired(conn, now)
                row = conn.execute(select(suppressions).where(suppressions.c.id == sid)).mappings()
                got = row.first()
                if got is None:
                    return None
                a = suppression_audit.c
                audit = conn.execute(
                    select(a.action, a.actor, a.at, a.detail)
                    .where(a.suppression_id == sid)
                    .order_by(a.at, a.id)
                ).all()
        except SQLAlchemyError as exc:
            raise StoreError(f"suppression read failed: {exc}") from exc
        item = suppression_item(got, now)
        item["audit"] = [
            {"action": r[0], "actor": r[1], "at": _iso(r[2]), "detail": r[3]} for r in audit
        ]
        return item

    def end_suppression(
        self, sid: str, how: Literal["expired", "deleted"], actor: str, now: float | None = None
    ) -> dict[str, Any] | None:
        """Expire now (it stops matching; its marks stay) or delete (it stops matching and
        the incidents it marked are no longer suppressed). None: no such live suppression."""
        now = time.time() if now is None else now
        s = suppressions.c
        values: dict[str, Any] = {"deleted_at": now} if how == "deleted" else {"expires_at": now}
        live = (
            s.deleted_at.is_(None)
            if how == "deleted"
            else and_(s.deleted_at.is_(None), s.expires_at > now)
        )
        try:
            with self.engine.begin() as conn:
                res = conn.execute(suppressions.update().where(s.id == sid, live).values(**values))
                if res.rowcount == 0:
                    return None
                _audit(conn, sid, how, actor, now, f"{how} by {actor}")
                if how == "deleted":
                    conn.execute(
                        alerts.update()
                        .where(alerts.c.suppressed_by == sid)
                        .values(suppressed_by=None)
                    )
        except SQLAlchemyError as exc:
            raise StoreError(f"suppression update failed: {exc}") from exc
        return self.get_suppression(sid, now)

    def active_suppressions(self, now: float | None = None) -> list[Active]:
        """The set in force, oldest first (what :class:`~hub.services.suppressions.Suppressions` loads)."""
        now = time.time() if now is None else now
        s = suppressions.c
        q = (
            select(s.id, s.match, s.expires_at)
            .where(s.deleted_at.is_(None), s.expires_at > now)
            .order_by(s.created_at, s.id)
        )
        try:
            with self.engine.connect() as conn:
                rows = conn.execute(q).all()
        except SQLAlchemyError as exc:
            raise StoreError(f"suppression load failed: {exc}") from exc
        return [
            Active(uuid.UUID(r[0]), SuppressionMatch.model_validate_json(r[1]), float(r[2]))
            for r in rows
        ]

    def mark_incident(
        self,
        key: str,
        sid: str,
        actor: str,
        resolve_as: str | None = None,
        now: float | None = None,
    ) -> bool:
        """Mark a stored incident as suppressed by ``sid`` (its detections so far count as
        hits), and resolve it as ``resolve_as`` (``false_positive``) when given."""
        now = time.time() if now is None else now
        try:
            with self.engine.begin() as conn:
                row = conn.execute(
                    select(alerts.c.count, alerts.c.last_seen, alerts.c.suppressed_by).where(
                        alerts.c.incident_key == key
                    )
                ).first()
                if row is None:
                    return False
                values: dict[str, Any] = {"suppressed_by": sid, "updated": now}
                if resolve_as:
                    values.update(status="resolved", resolved_at=now, resolution=resolve_as)
                conn.execute(alerts.update().where(alerts.c.incident_key == key).values(**values))
                if row[2] != sid:
                    add_hits(conn, sid, int(row[0]), float(row[1]))
                _audit(conn, sid, "marked", actor, now, f"incident {key}"[:500])
        except SQLAlchemyError as exc:
            raise StoreError(f"incident mark failed: {exc}") from exc
        return True


def add_hits(conn: Connection, sid: str, n: int, last: float) -> None:
    if n <= 0:
        return
    s = suppressions.c
    newer = or_(s.last_hit.is_(None), s.last_hit < last)
    conn.execute(
        suppressions.update()
        .where(s.id == sid)
        .values(hits=s.hits + n, last_hit=case((newer, last), else_=s.last_hit))
    )


def incident_suppression(conn: Connection, ev: AlertEvent, cur: Any) -> str | None:
    """The suppression a stored incident is under: the one the alerting service marked it
    with, else the one it was under before if that one is still live (neither expired nor
    deleted), else none. Counts the new detections as that suppression's hits."""
    now = time.time()
    sid = str(ev.suppressed_by) if ev.suppressed_by else None
    if sid is None and cur is not None and cur["suppressed_by"]:
        s = suppressions.c
        live = conn.execute(
            select(s.id).where(
                s.id == cur["suppressed_by"], s.deleted_at.is_(None), s.expires_at > now
            )
        ).first()
        sid = cur["suppressed_by"] if live else None
    if sid is not None:
        before = int(cur["count"]) if cur is not None else 0  # only the new detections
        add_hits(conn, sid, ev.count - before, ev.last_seen.timestamp())
    return sid


MAX_CONTEXT_FLOWS = 50


def incident_evidence(
    engine: Engine, related_ids: list[str]
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """An incident's stored detections (anomalies among ``related_ids``, as contract JSON)
    and the flows they name by community id (newest first, at most 50, with their L7 JSON)."""
    from hub.storage.schema import events, flows

    if not related_ids:
        return [], []
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                select(events.c.payload).where(
                    events.c.event_id.in_(related_ids[:64]), events.c.kind == "anomaly"
                )
            ).scalars()
            anomalies = [json.loads(p) for p in rows]
            cids = sorted({a["community_id"] for a in anomalies if a.get("community_id")})
            found: list[dict[str, Any]] = []
            if cids:
                found = [
                    dict(r)
                    for r in conn.execute(
                        select(flows)
                        .where(flows.c.community_id.in_(cids))
                        .order_by(flows.c.ts.desc())
                        .limit(MAX_CONTEXT_FLOWS)
                    ).mappings()
                ]
    except SQLAlchemyError as exc:
        raise StoreError(f"incident evidence read failed: {exc}") from exc
    return anomalies, found
