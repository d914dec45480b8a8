"""The device inventory on the hub: every sensor's :class:`AssetRecord` merged into one row per
(node, MAC or IP): lists are merged (bounded as in the contract), ``first_seen`` kept,
``last_seen`` moved on, and the newer report's host name, vendor class and fingerprint win.

A node's events arrive in order on one Kafka partition (keyed by node), so one ingestor
merges a node's assets at a time: the read-then-write below does not race with itself."""

from __future__ import annotations

import json
import time
from typing import Any

from sqlalchemy import and_, func, or_, select

from contracts.events import MAX_ASSET_IPS, MAX_ASSET_NAMES, MAX_ASSET_SERVICES, AssetRecord
from hub.storage.schema import assets

LISTS = {"ips": MAX_ASSET_IPS, "mdns_names": MAX_ASSET_NAMES, "ssdp_usn": MAX_ASSET_NAMES}
SCALARS = ("vendor", "hostname", "vendor_class", "ssdp_server", "dhcp_prl")
FIELDS = {"node_id", "mac", "ip", "first_seen", "last_seen", "services", *LISTS, *SCALARS}
MAX_SEARCH = 4000


def asset_key(ev: AssetRecord) -> str:
    return ev.mac or ev.ip or ""


def merge(old: dict[str, Any] | None, ev: AssetRecord) -> dict[str, Any]:
    """The stored item after ``ev``: ``old`` (a stored payload) or a new one."""
    new: dict[str, Any] = ev.model_dump(mode="json", include=FIELDS)
    if old is None:
        return new
    newer = ev.last_seen >= old["last_seen"]
    out = dict(old)
    out["first_seen"] = min(old["first_seen"], ev.first_seen)
    out["last_seen"] = max(old["last_seen"], ev.last_seen)
    for name, cap in LISTS.items():
        first, second = (old[name], new[name]) if newer else (new[name], old[name])
        merged = list(dict.fromkeys([*[x for x in first if x not in second], *second]))
        out[name] = merged[-cap:]  # the most recent are kept
    seen = {(s["proto"], s["port"]) for s in old["services"]}
    extra = [s for s in new["services"] if (s["proto"], s["port"]) not in seen]
    out["services"] = (old["services"] + extra)[:MAX_ASSET_SERVICES]
    for name in SCALARS:
        if new[name] not in (None, []) and (newer or old.get(name) in (None, [])):
            out[name] = new[name]
    return out


def _search(item: dict[str, Any]) -> str:
    parts = [item.get("mac"), item.get("ip"), item.get("vendor"), item.get("hostname")]
    parts += [item.get("vendor_class"), item.get("ssdp_server")]
    parts += [*item["ips"], *item["mdns_names"], *item["ssdp_usn"]]
    return " ".join(p for p in parts if p).lower()[:MAX_SEARCH]


class AssetStore:
    """Mixed into :class:`hub.storage.store.EventStore` (its engine, dialect and inserts)."""

    engine: Any
    _insert: Any

    def _upsert_assets(self, conn: Any, evs: list[AssetRecord]) -> None:
        c = assets.c
        for ev in sorted(evs, key=lambda e: e.ts):
            key = asset_key(ev)
            where = and_(c.node_id == ev.node_id, c.asset_key == key)
            row = conn.execute(select(c.payload).where(where)).first()
            item = merge(json.loads(row[0]) if row is not None else None, ev)
            values = {
                "mac": item["mac"],
                "ip": item["ip"],
                "vendor": item["vendor"],
                "hostname": item["hostname"],
                "first_seen": item["first_seen"],
                "last_seen": item["last_seen"],
                "updated": time.time(),
                "search": _search(item),
                "payload": json.dumps(item, separators=(",", ":")),
            }
            if row is None:
                stmt = self._insert(assets).values(node_id=ev.node_id, asset_key=key, **values)
                conn.execute(
                    stmt.on_conflict_do_update(index_elements=["node_id", "asset_key"], set_=values)
                )
            else:
                conn.execute(assets.update().where(where).values(**values))

    def list_assets(
        self,
        node_id: str | None = None,
        vendor: str | None = None,
        q: str | None = None,
        limit: int = 50,
        cursor: tuple[float, str] | None = None,
    ) -> tuple[list[dict[str, Any]], tuple[float, str] | None]:
        """Assets, most recently seen first; ``vendor`` and ``q`` match case-insensitive
        substrings (``q``: MAC, IPs, names, vendor). Returns the items and the next cursor."""
        c = assets.c
        stmt = select(c.node_id, c.asset_key, c.last_seen, c.payload)
        if node_id is not None:
            stmt = stmt.where(c.node_id == node_id)
        if vendor:
            stmt = stmt.where(func.lower(c.vendor).like(_contains(vendor), escape="\\"))
        if q:
            stmt = stmt.where(c.search.like(_contains(q), escape="\\"))
        if cursor is not None:
            cts, ckey = cursor
            cnode, _, cak = ckey.partition("/")
            stmt = stmt.where(
                or_(
                    c.last_seen < cts,
                    and_(
                        c.last_seen == cts,
                        or_(c.asset_key < cak, and_(c.asset_key == cak, c.node_id < cnode)),
                    ),
                )
            )
        stmt = stmt.order_by(c.last_seen.desc(), c.asset_key.desc(), c.node_id.desc())
        with self.engine.connect() as conn:
            rows = conn.execute(stmt.limit(limit + 1)).all()
        items = [json.loads(r.payload) for r in rows[:limit]]
        last = rows[limit - 1] if len(rows) > limit else None
        nxt = (last.last_seen, f"{last.node_id}/{last.asset_key}") if last is not None else None
        return items, nxt


def _contains(text: str) -> str:
    esc = text.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{esc}%"
