"""Read queries behind the API: filtered, cursor-paginated lists, per-minute counts, state."""

from __future__ import annotations

import base64
import binascii
import json
import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, func, or_, select

from hub.errors import HubError
from hub.storage.schema import alerts, events, flows, nodes
from hub.storage.store import EventStore, alert_item

MAX_LIMIT = 500


class BadCursor(HubError):
    """A pagination cursor that this API did not make."""


def encode_cursor(ts: float, key: str) -> str:
    return base64.urlsafe_b64encode(json.dumps([ts, key]).encode()).decode()


def decode_cursor(cursor: str) -> tuple[float, str]:
    try:
        ts, key = json.loads(base64.urlsafe_b64decode(cursor.encode()))
        ts, key = float(ts), str(key)
    except (ValueError, TypeError, OverflowError, binascii.Error, UnicodeDecodeError) as exc:
        raise BadCursor("invalid cursor") from exc
    if "\x00" in key:  # PostgreSQL refuses NUL in text: a client error, not a database one
        raise BadCursor("invalid cursor")
    return ts, key


@dataclass
class EventFilter:
    node_id: str | None = None
    since: float | None = None
    until: float | None = None
    tag: str | None = None
    severity: str | None = None
    host: str | None = None


class Queries:
    def __init__(self, store: EventStore) -> None:
        self.store = store
        self.engine = store.engine

    def list_events(
        self, kind: str, flt: EventFilter, limit: int = 50, cursor: str | None = None
    ) -> dict[str, Any]:
        limit = max(1, min(limit, MAX_LIMIT))
        c = events.c
        q = select(c.event_id, c.ts, c.payload).where(c.kind == kind)
        for col, val in (
            (c.node_id, flt.node_id),
            (c.tag, flt.tag),
            (c.severity, flt.severity),
            (c.host, flt.host),
        ):
            if val is not None:
                q = q.where(col == val)
        if flt.since is not None:
            q = q.where(c.ts >= flt.since)
        if flt.until is not None:
            q = q.where(c.ts < flt.until)
        if cursor:
            cts, cid = decode_cursor(cursor)
            q = q.where(or_(c.ts < cts, and_(c.ts == cts, c.event_id < cid)))
        q = q.order_by(c.ts.desc(), c.event_id.desc()).limit(limit + 1)
        with self.engine.connect() as conn:
            rows = conn.execute(q).all()
        items = [json.loads(r.payload) for r in rows[:limit]]
        nxt = (
            encode_cursor(rows[limit - 1].ts, rows[limit - 1].event_id)
            if len(rows) > limit
            else None
        )
        return {"items": items, "next_cursor": nxt}

    def list_alerts(
        self,
        status: str | None,
        severity: str | None,
        limit: int = 50,
        cursor: str | None = None,
        suppressed: str = "exclude",
    ) -> dict[str, Any]:
        """``suppressed``: ``exclude`` (default) hides incidents a suppression marked,
        ``include`` lists them too, ``only`` lists just them."""
        limit = max(1, min(limit, MAX_LIMIT))
        a = alerts.c
        q = select(alerts)
        if suppressed == "exclude":
            q = q.where(a.suppressed_by.is_(None))
        elif suppressed == "only":
            q = q.where(a.suppressed_by.is_not(None))
        if status:
            q = q.where(a.status == status)
        if severity:
            q = q.where(a.severity == severity)
        if cursor:
            cts, ckey = decode_cursor(cursor)
            q = q.where(or_(a.updated < cts, and_(a.updated == cts, a.incident_key < ckey)))
        q = q.order_by(a.updated.desc(), a.incident_key.desc()).limit(limit + 1)
        with self.engine.connect() as conn:
            rows = [dict(r) for r in conn.execute(q).mappings().all()]
        nxt = (
            encode_cursor(rows[limit - 1]["updated"], rows[limit - 1]["incident_key"])
            if len(rows) > limit
            else None
        )
        return {"items": [alert_item(r) for r in rows[:limit]], "next_cursor": nxt}

    def get_alert(self, key: str) -> dict[str, Any] | None:
        with self.engine.connect() as conn:
            row = (
                conn.execute(select(alerts).where(alerts.c.incident_key == key)).mappings().first()
            )
        return alert_item(dict(row)) if row else None

    def flow_stats(self, minutes: int, node_id: str | None) -> list[dict[str, Any]]:
        since = int(time.time() // 60) - minutes
        f = flows.c
        q = (
            select(
                f.minute,
                f.node_id,
                func.count().label("flows"),
                func.sum(f.packets).label("packets"),
                func.sum(f.bytes).label("bytes"),
            )
            .where(f.minute >= since)
            .group_by(f.minute, f.node_id)
            .order_by(f.minute)
        )
        if node_id:
            q = q.where(f.node_id == node_id)
        with self.engine.connect() as conn:
            rows = conn.execute(q).all()
        return [
            {
                "minute": _iso_minute(r.minute),
                "node_id": r.node_id,
                "flows": r.flows,
                "packets": int(r.packets or 0),
                "bytes": float(r.bytes or 0),
            }
            for r in rows
        ]

    def counts_per_minute(self, kind: str, minutes: int) -> list[dict[str, Any]]:
        since = int(time.time() // 60) - minutes
        c = events.c
        q = (
            select(c.minute, c.tag, func.count().label("n"))
            .where(c.kind == kind, c.minute >= since)
            .group_by(c.minute, c.tag)
            .order_by(c.minute)
        )
        with self.engine.connect() as conn:
            return [
                {"minute": _iso_minute(r.minute), "family": r.tag, "count": r.n}
                for r in conn.execute(q)
            ]

    def node_states(self, offline_after_s: float) -> list[dict[str, Any]]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(nodes).order_by(nodes.c.node_id)).mappings().all()
        now = time.time()
        out = []
        for r in rows:
            st = json.loads(r["payload"])
            online = bool(r["online"]) and now - r["last_seen"] <= offline_after_s
            out.append(
                {
                    "node_id": r["node_id"],
                    "online": online,
                    "last_seen": st["ts"],
                    "packets_per_s": st["packets_per_s"],
                    "flows_total": st["flows_total"],
                    "anomalies_total": st["anomalies_total"],
                    "outbox_depth": st["outbox_depth"],
                    "model_version": st["model_version"],
                    "drops": st["drops"],
                    "agent_version": st["agent_version"],
                    "reason": st["reason"],
                    "baseline": st.get("baseline"),
                    "baseline_progress": st.get("baseline_progress"),
                }
            )
        return out

    def overview(self, offline_after_s: float) -> dict[str, Any]:
        since_min = int(time.time() // 60) - 60
        c = events.c
        with self.engine.connect() as conn:
            flows_total = conn.execute(select(func.count()).select_from(flows)).scalar_one()
            kinds: dict[str, int] = {
                k: n for k, n in conn.execute(select(c.kind, func.count()).group_by(c.kind)).all()
            }
            open_by_marked = dict(
                conn.execute(
                    select(alerts.c.suppressed_by.is_not(None), func.count())
                    .where(alerts.c.status == "open")
                    .group_by(alerts.c.suppressed_by.is_not(None))
                ).all()
            )  # open incidents a suppression marked are counted apart, never in alerts_open
            top = conn.execute(
                select(c.peer, func.count().label("n"))
                .where(
                    c.kind == "classification",
                    c.tag != "benign",
                    c.minute >= since_min,
                    c.peer.is_not(None),
                )
                .group_by(c.peer)
                .order_by(func.count().desc())
                .limit(10)
            ).all()
            recent = conn.execute(
                select(func.count()).select_from(flows).where(flows.c.ts >= time.time() - 60)
            ).scalar_one()
        node_list = self.node_states(offline_after_s)
        return {
            "flows_total": flows_total,
            "anomalies_total": kinds.get("anomaly", 0),
            "classifications_total": kinds.get("classification", 0),
            "alerts_open": int(open_by_marked.get(False, 0)),
            "alerts_suppressed": int(open_by_marked.get(True, 0)),
            "nodes_online": sum(n["online"] for n in node_list),
            "nodes_total": len(node_list),
            "attacks_per_minute": [
                r for r in self.counts_per_minute("classification", 60) if r["family"] != "benign"
            ],
            "top_attacked_hosts": [{"host": h, "count": n} for h, n in top],
            "events_per_second": round(recent / 60.0, 2),
        }

    def fl_summary(self) -> dict[str, Any]:
        c = events.c
        with self.engine.connect() as conn:
            rows = conn.execute(select(c.payload).where(c.kind == "fl").order_by(c.ts)).all()
        rounds: dict[int, dict[str, Any]] = {}
        per_node: dict[str, dict[str, Any]] = {}
        for (payload,) in rows:
            ev = json.loads(payload)
            if ev["role"] == "server":
                if ev.get("phase") != "aggregate":
                    continue  # a model published after the round is not the round's result
                rounds[ev["round"]] = {
                    k: ev.get(k) for k in ("round", "loss", "participants", "samples", "duration_s")
                }
            else:
                per_node[ev["node_id"]] = {
                    k: ev.get(k)
                    for k in (
                        "node_id",
                        "epsilon",
                        "delta",
                        "budget_epsilon",
                        "budget_left",
                        "model_version",
                    )
                }
        return {"rounds": [rounds[k] for k in sorted(rounds)], "nodes": list(per_node.values())}

    def models(self) -> list[dict[str, Any]]:
        c = events.c
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(c.payload).where(c.kind == "model").order_by(c.ts.desc()).limit(50)
            ).all()
        running: dict[str, list[str]] = {}
        for n in self.node_states(float("inf")):
            if n["model_version"]:
                running.setdefault(n["model_version"], []).append(n["node_id"])
        out = []
        for (payload,) in rows:
            m = json.loads(payload)
            label = f"{m['model_name']}-{m['version']}"
            out.append(
                {k: m[k] for k in ("model_name", "version", "sha256", "size_bytes", "key_id", "ts")}
                | {"nodes": running.get(label, []) + running.get(str(m["version"]), [])}
            )
        return out

    def graph(self, minutes: int) -> dict[str, Any]:
        since = time.time() - minutes * 60
        f, c = flows.c, events.c
        with self.engine.connect() as conn:
            edges = conn.execute(
                select(f.src_ip, f.dst_ip, func.count().label("n"))
                .where(f.ts >= since)
                .group_by(f.src_ip, f.dst_ip)
                .order_by(func.count().desc())
                .limit(300)
            ).all()
            attacks = conn.execute(
                select(c.host, c.peer, c.tag).where(
                    c.kind == "classification", c.ts >= since, c.tag != "benign"
                )
            ).all()
            preds = conn.execute(
                select(c.payload)
                .where(c.kind == "prediction", c.ts >= since)
                .order_by(c.ts.desc())
                .limit(50)
            ).all()
            sensors = conn.execute(select(nodes.c.node_id)).all()
            seen = conn.execute(
                select(f.node_id, f.src_ip, func.count().label("n"))
                .where(f.ts >= since)
                .group_by(f.node_id, f.src_ip)
                .order_by(func.count().desc())
                .limit(2000)
            ).all()
        attack_on = {(a.host, a.peer): a.tag for a in attacks}
        attacked = {a.peer for a in attacks if a.peer}
        compromised = {a.host for a in attacks if a.host and a.tag in ("botnet", "scan")}
        predictions = [json.loads(p) for (p,) in preds]
        best: dict[str, float] = {}
        for p in predictions:
            best[p["target_host"]] = max(best.get(p["target_host"], 0.0), p["probability"])
        hosts = {h for e in edges for h in (e.src_ip, e.dst_ip)} | set(best) | attacked
        node_items = [
            {
                "id": h,
                "type": "host",
                "attacked": h in attacked,
                "compromised": h in compromised,
                "predicted_probability": best.get(h),
            }
            for h in sorted(hosts)
        ]
        node_items += [
            {
                "id": s.node_id,
                "type": "sensor",
                "attacked": False,
                "compromised": False,
                "predicted_probability": None,
            }
            for s in sensors
        ]
        per_sensor: dict[str, int] = {}
        sensor_links = []
        for row in seen:  # busiest first: each sensor's top hosts it saw as a flow's source
            if row.src_ip in hosts and per_sensor.get(row.node_id, 0) < SENSOR_LINKS_PER_NODE:
                per_sensor[row.node_id] = per_sensor.get(row.node_id, 0) + 1
                sensor_links.append({"sensor": row.node_id, "host": row.src_ip, "flows": row.n})
        return {
            "nodes": node_items,
            "sensor_links": sensor_links,
            "edges": [
                {
                    "source": e.src_ip,
                    "target": e.dst_ip,
                    "flows": e.n,
                    "attack_family": attack_on.get((e.src_ip, e.dst_ip)),
                }
                for e in edges
            ],
            "predictions": [
                {k: p[k] for k in ("target_host", "probability", "severity", "path")}
                for p in predictions
            ],
        }


SENSOR_LINKS_PER_NODE = 40
"""How many of the hosts a sensor saw the graph links it to (its busiest sources)."""


def _iso_minute(minute: int) -> str:
    from datetime import UTC, datetime

    return datetime.fromtimestamp(minute * 60, UTC).isoformat()
