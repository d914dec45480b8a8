"""The event store: one SQLAlchemy implementation for SQLite (embedded) and PostgreSQL.

Writes are idempotent on ``event_id`` (``INSERT ... ON CONFLICT DO NOTHING RETURNING``), so
at-least-once delivery upstream becomes exactly-once in effect here; ``insert_events``
returns only the events that were new (the ones to fan out to live listeners).
"""

from __future__ import annotations

import io
import json
import logging
import math
import time
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Engine, create_engine, event, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError, SQLAlchemyError

from contracts.events import (
    SEVERITIES,
    AlertEvent,
    AnomalyEvent,
    AssetRecord,
    AttackClassification,
    AttackPrediction,
    EventBase,
    FLEvent,
    FlowRecord,
    ModelAnnouncement,
    NodeStatus,
)
from contracts.features import FEATURE_INDEX
from hub.errors import RecordRejected, StoreError
from hub.storage.assets import AssetStore
from hub.storage.partitions import PARTITIONED, OnDemand, create_parent, ensure_ahead
from hub.storage.retention import partition_options
from hub.storage.schema import alerts, events, flows, metadata, nodes
from hub.storage.suppressions import SuppressionStore, incident_suppression

log = logging.getLogger(__name__)
_PKT = (FEATURE_INDEX["fwd_packets"], FEATURE_INDEX["bwd_packets"])
_BYTES = (FEATURE_INDEX["fwd_bytes"], FEATURE_INDEX["bwd_bytes"])


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

        @event.listens_for(engine, "connect")
        def _wal(conn: Any, _rec: Any) -> None:
            cur = conn.cursor()
            cur.execute("PRAGMA auto_vacuum=INCREMENTAL")  # new files (before WAL): retention
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.close()

        return engine
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg2://" + url.removeprefix("postgresql://")
    return create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=5)


def _epoch(ev: EventBase) -> float:
    return ev.ts.timestamp()


def _event_row(ev: EventBase) -> dict[str, Any]:
    ts = _epoch(ev)
    row: dict[str, Any] = {
        "event_id": str(ev.event_id),
        "kind": ev.kind,  # type: ignore[attr-defined]
        "node_id": ev.node_id,
        "ts": ts,
        "minute": int(ts // 60),
        "tag": None,
        "severity": None,
        "host": None,
        "peer": None,
        "payload": ev.model_dump_json(),
    }
    if isinstance(ev, AnomalyEvent):
        row.update(tag=ev.detector, severity=ev.severity, host=ev.src_ip, peer=ev.dst_ip)
    elif isinstance(ev, AttackClassification):
        row.update(
            tag=ev.family,
            host=ev.src_ip,
            peer=ev.dst_ip,
            severity="high" if ev.family != "benign" and ev.confidence >= 0.8 else "medium",
        )
    elif isinstance(ev, AttackPrediction):
        row.update(
            tag=ev.predictor,
            severity=ev.severity,
            host=ev.target_host,
            peer=ev.path[0] if ev.path else None,
        )
    elif isinstance(ev, AlertEvent):
        row.update(tag=ev.family, severity=ev.severity, host=ev.hosts[0] if ev.hosts else None)
    elif isinstance(ev, FLEvent):
        row.update(tag=ev.role, host=str(ev.round))
    elif isinstance(ev, NodeStatus):
        row.update(tag="online" if ev.online else "offline")
    elif isinstance(ev, ModelAnnouncement):
        row.update(tag=ev.model_name, host=str(ev.version))
    elif isinstance(ev, AssetRecord):
        row.update(tag=ev.changes[0] if ev.changes else None, host=ev.mac or ev.ip)
    return row


def _flow_row(ev: FlowRecord) -> dict[str, Any]:
    ts = _epoch(ev)
    f = ev.features
    return {
        "event_id": str(ev.event_id),
        "node_id": ev.node_id,
        "ts": ts,
        "minute": int(ev.end_ts // 60),
        "start_ts": ev.start_ts,
        "end_ts": ev.end_ts,
        "src_ip": ev.src_ip,
        "dst_ip": ev.dst_ip,
        "src_port": ev.src_port,
        "dst_port": ev.dst_port,
        "proto": ev.proto,
        "packets": int(f[_PKT[0]] + f[_PKT[1]]),
        "bytes": f[_BYTES[0]] + f[_BYTES[1]],
        "label": ev.label,
        "community_id": ev.community_id,
        "l7": _l7_json(ev),
    }


def _l7_json(ev: FlowRecord) -> str | None:
    """The flow's application metadata as one JSON object (``{"tls": {...}}``), or None."""
    meta = {k: v.model_dump(mode="json") for k in _L7 if (v := getattr(ev, k)) is not None}
    return json.dumps(meta, separators=(",", ":")) if meta else None


_L7 = ("dns", "tls", "http", "ssh")


class EventStore(SuppressionStore, AssetStore):
    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = make_engine(url)
        self.dialect = self.engine.dialect.name
        self._insert = pg_insert if self.dialect == "postgresql" else sqlite_insert
        self.partitions: OnDemand | None = None
        if self.dialect == "postgresql":
            self.partitions = OnDemand(self.engine, **partition_options())

    def _key(self, table: str) -> list[str]:
        """The conflict target: ``(event_id, ts)`` on a partitioned PostgreSQL table."""
        if self.partitions is not None and self.partitions.partitioned(table):
            return ["event_id", "ts"]
        return ["event_id"]

    def create_schema(self) -> None:
        try:
            if self.partitions is not None:
                with self.engine.begin() as conn:
                    for table in PARTITIONED:
                        create_parent(conn, table)
                self._partitions_ahead()
            metadata.create_all(self.engine)
        except SQLAlchemyError as exc:
            raise StoreError(f"cannot create the schema on {self.engine.url!r}: {exc}") from exc

    def _partitions_ahead(self) -> None:
        """Best effort (a full disk must not stop a start): inserts make them on demand too."""
        assert self.partitions is not None
        try:
            with self.engine.begin() as conn:
                ensure_ahead(conn, self.partitions.interval_days, self.partitions.ahead_days)
        except SQLAlchemyError as exc:
            log.warning("partitions ahead not made: %s", str(exc).splitlines()[0])
        self.partitions.invalidate()

    def ping(self) -> bool:
        try:
            with self.engine.connect() as conn:
                conn.exec_driver_sql("SELECT 1")
            return True
        except SQLAlchemyError:
            return False

    # -- writes -------------------------------------------------------------------------
    def insert_events(self, batch: Sequence[EventBase]) -> list[EventBase]:
        """Store a batch in one transaction; returns the events that were not stored before."""
        flow_evs = [e for e in batch if isinstance(e, FlowRecord)]
        other = [e for e in batch if not isinstance(e, FlowRecord)]
        new_ids: set[str] = set()
        try:
            if self.partitions is not None:  # so that no row waits for a partition
                self.partitions.prepare("flows", (_epoch(e) for e in flow_evs))
                self.partitions.prepare("events", (_epoch(e) for e in other))
            with self.engine.begin() as conn:
                if flow_evs and self.dialect == "postgresql":
                    new_ids.update(self._copy_flows(conn, [_flow_row(e) for e in flow_evs]))
                elif flow_evs:
                    stmt = (
                        self._insert(flows)
                        .on_conflict_do_nothing(index_elements=self._key("flows"))
                        .returning(flows.c.event_id)
                    )
                    new_ids.update(
                        r[0] for r in conn.execute(stmt, [_flow_row(e) for e in flow_evs])
                    )
                if other:
                    stmt = (
                        self._insert(events)
                        .on_conflict_do_nothing(index_elements=self._key("events"))
                        .returning(events.c.event_id)
                    )
                    new_ids.update(r[0] for r in conn.execute(stmt, [_event_row(e) for e in other]))
                    fresh = [e for e in other if str(e.event_id) in new_ids]
                    self._update_alerts(conn, [e for e in fresh if isinstance(e, AlertEvent)])
                    self._update_nodes(conn, [e for e in fresh if isinstance(e, NodeStatus)])
                    self._upsert_assets(conn, [e for e in fresh if isinstance(e, AssetRecord)])
        except RecordRejected:
            raise
        except (OperationalError, InterfaceError) as exc:  # the connection: retry
            raise StoreError(f"insert of {len(batch)} events failed: {exc}") from exc
        except DBAPIError as exc:
            if exc.connection_invalidated or _schema_changed(exc.orig):
                if self.partitions is not None:
                    self.partitions.invalidate()
                raise StoreError(f"insert of {len(batch)} events failed: {exc}") from exc
            reason = str(exc.orig or exc).splitlines()[0][:300]
            raise RecordRejected(f"the database refused the batch: {reason}") from exc
        except SQLAlchemyError as exc:
            raise StoreError(f"insert of {len(batch)} events failed: {exc}") from exc
        return [e for e in batch if str(e.event_id) in new_ids]

    def _copy_flows(self, conn: Any, rows: list[dict[str, Any]]) -> list[str]:
        """PostgreSQL: COPY into a temporary staging table, then one idempotent INSERT ... SELECT."""
        cols = [c.name for c in flows.columns]
        buf = io.StringIO()
        for r in rows:
            buf.write("\t".join(_copy_value(r[c]) for c in cols))
            buf.write("\n")
        buf.seek(0)
        import psycopg2

        raw = conn.connection.driver_connection
        try:
            with raw.cursor() as cur:
                cur.execute(
                    "CREATE TEMP TABLE IF NOT EXISTS flows_stage (LIKE flows INCLUDING DEFAULTS) ON COMMIT DELETE ROWS"
                )
                cur.copy_expert(f"COPY flows_stage ({', '.join(cols)}) FROM STDIN", buf)
                key = ", ".join(self._key("flows"))
                cur.execute(
                    f"INSERT INTO flows SELECT * FROM flows_stage ON CONFLICT ({key}) DO NOTHING RETURNING event_id"  # noqa: S608
                )
                return [r[0] for r in cur.fetchall()]
        except (psycopg2.DataError, psycopg2.IntegrityError) as exc:  # the data, not the link
            reason = str(exc).splitlines()[0][:300]
            raise RecordRejected(f"the database refused the batch: {reason}") from exc
        except psycopg2.Error as exc:  # disk full, connection lost, a schema change: retry
            if self.partitions is not None:
                self.partitions.invalidate()
            raise StoreError(f"COPY of {len(rows)} flows failed: {exc}") from exc

    def _update_alerts(self, conn: Any, evs: list[AlertEvent]) -> None:
        for ev in sorted(evs, key=lambda e: e.ts):
            cur = (
                conn.execute(select(alerts).where(alerts.c.incident_key == ev.incident_key))
                .mappings()
                .first()
            )
            now = time.time()
            sid = incident_suppression(conn, ev, cur)  # marked incidents: counted, kept
            if cur is None:
                conn.execute(
                    alerts.insert().values(
                        incident_key=ev.incident_key,
                        suppressed_by=sid,
                        severity=ev.severity,
                        status=ev.status,
                        family=ev.family,
                        count=ev.count,
                        first_seen=ev.first_seen.timestamp(),
                        last_seen=ev.last_seen.timestamp(),
                        updated=now,
                        payload=ev.model_dump_json(),
                    )
                )
                continue
            sev = max(cur["severity"], ev.severity, key=SEVERITIES.index)
            status = cur["status"]
            came_back = ev.last_seen.timestamp() > (cur["resolved_at"] or 0)
            if status == "resolved" and came_back and sid is None:
                status = "open"  # it came back (a suppressed one stays resolved)
            conn.execute(
                alerts.update()
                .where(alerts.c.incident_key == ev.incident_key)
                .values(
                    severity=sev,
                    status=status,
                    count=max(cur["count"], ev.count),
                    last_seen=max(cur["last_seen"], ev.last_seen.timestamp()),
                    updated=now,
                    payload=ev.model_dump_json(),
                    suppressed_by=sid,
                    **({"resolution": None} if status == "open" else {}),
                )
            )

    def _update_nodes(self, conn: Any, evs: list[NodeStatus]) -> None:
        for ev in sorted(evs, key=lambda e: e.ts):
            ts = _epoch(ev)
            row = {
                "node_id": ev.node_id,
                "online": ev.online,
                "last_seen": ts,
                "payload": ev.model_dump_json(),
            }
            stmt = self._insert(nodes).values(**row)
            stmt = stmt.on_conflict_do_update(
                index_elements=["node_id"], set_=row, where=nodes.c.last_seen <= ts
            )
            conn.execute(stmt)

    def set_alert_state(self, incident_key: str, status: str, by: str) -> dict[str, Any] | None:
        now = time.time()
        values: dict[str, Any] = {"status": status, "updated": now}
        if status == "acknowledged":
            values.update(acknowledged_by=by, acknowledged_at=now)
        elif status == "resolved":
            values.update(resolved_at=now)
        try:
            with self.engine.begin() as conn:
                res = conn.execute(
                    alerts.update().where(alerts.c.incident_key == incident_key).values(**values)
                )
                if res.rowcount == 0:
                    return None
                row = (
                    conn.execute(select(alerts).where(alerts.c.incident_key == incident_key))
                    .mappings()
                    .one()
                )
        except SQLAlchemyError as exc:
            raise StoreError(f"alert update failed: {exc}") from exc
        return alert_item(dict(row))


def _schema_changed(orig: BaseException | None) -> bool:
    """42P10: the conflict target no longer matches a key (the table was just partitioned by
    a migration): the next attempt reads the catalog again, so retry, never quarantine."""
    return getattr(orig, "pgcode", None) == "42P10"


def _copy_value(v: Any) -> str:
    if v is None:
        return "\\N"
    if isinstance(v, str):
        return (
            v.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")
        )
    return repr(v) if isinstance(v, float) else str(v)


def alert_item(row: dict[str, Any]) -> dict[str, Any]:
    item: dict[str, Any] = json.loads(row["payload"])
    item.update(
        alert_id=row["incident_key"],
        status=row["status"],
        severity=row["severity"],
        count=row["count"],
        acknowledged_by=row["acknowledged_by"],
        acknowledged_at=_iso(row["acknowledged_at"]),
        resolved_at=_iso(row["resolved_at"]),
        suppressed_by=row.get("suppressed_by"),
        resolution=row.get("resolution"),
    )
    return item


def _iso(ts: float | None) -> str | None:
    if ts is None or math.isnan(ts):
        return None
    from datetime import UTC, datetime

    return datetime.fromtimestamp(ts, UTC).isoformat()
