"""MISP event JSON (an ``Event``, a ``{"response": [...]}`` search result, or a list of them):
attributes with ``to_ids`` of the types ``ip-dst``, ``ip-src``, ``ip-dst|port``,
``ip-src|port``, ``domain``, ``hostname``, ``domain|ip`` and ``ja4`` / ``ja4-fingerprint``,
also inside the event's objects. The event's ``threat_level_id`` gives the confidence
(1 high 90, 2 medium 60, 3 low 30, 4 undefined: the feed default); its ``info`` the tag.
Deleted attributes and those not meant for detection (``to_ids`` false) are skipped."""

from __future__ import annotations

from typing import Any

from contracts.indicators import Indicator, IndicatorType
from hub.intel.common import FeedDefaults, IntelError, make

_TYPES: dict[str, IndicatorType | None] = {
    "ip-dst": None,
    "ip-src": None,
    "ip-dst|port": None,
    "ip-src|port": None,
    "domain": "domain",
    "hostname": "domain",
    "domain|ip": None,
    "ja4": "ja4",
    "ja4-fingerprint": "ja4",
}
_THREAT_CONFIDENCE = {"1": 90, "2": 60, "3": 30}


def parse_misp(data: Any, feed: FeedDefaults) -> list[Indicator]:
    out: list[Indicator] = []
    for event in _events(data):
        conf = _THREAT_CONFIDENCE.get(str(event.get("threat_level_id", "")))
        tag = str(event.get("info") or "") or None
        attrs = list(event.get("Attribute") or [])
        for obj in event.get("Object") or []:
            if isinstance(obj, dict):
                attrs.extend(obj.get("Attribute") or [])
        for attr in attrs:
            out.extend(_attribute(attr, feed, conf, tag))
    return out


def _events(data: Any) -> list[dict[str, Any]]:
    if isinstance(data, dict) and "response" in data:
        data = data["response"]
    items = data if isinstance(data, list) else [data]
    events = [i.get("Event", i) for i in items if isinstance(i, dict)]
    events = [e for e in events if isinstance(e, dict) and ("Attribute" in e or "Object" in e)]
    if not events:
        raise IntelError("not MISP event JSON (no Event with Attribute or Object)")
    return events


def _truthy(v: Any) -> bool:
    return v is True or str(v).lower() in ("1", "true")


def _attribute(attr: Any, feed: FeedDefaults, conf: int | None, tag: str | None) -> list[Indicator]:
    if not isinstance(attr, dict) or _truthy(attr.get("deleted")):
        return []
    atype = str(attr.get("type", ""))
    if atype not in _TYPES:
        feed.skipped["unsupported_type"] += 1
        return []
    if not _truthy(attr.get("to_ids")):
        feed.skipped["not_to_ids"] += 1
        return []
    value = str(attr.get("value", ""))
    if atype.endswith("|port"):
        values = [value.split("|", 1)[0]]
    elif atype == "domain|ip":
        values = value.split("|", 1)
    else:
        values = [value]
    out = []
    for i, v in enumerate(values):
        got = make(feed, v, _TYPES[atype], confidence=conf, tag=tag)
        must_be_ip = atype.startswith("ip-") or (atype == "domain|ip" and i == 1)
        if got is not None and must_be_ip and got.type == "domain":
            feed.skipped["invalid_value"] += 1
            continue
        if got is not None:
            out.append(got)
    return out
