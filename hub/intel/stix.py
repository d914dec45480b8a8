"""STIX 2.1 bundles: ``indicator`` objects whose STIX pattern is a comparison, or an ``OR`` of
comparisons, of ``ipv4-addr:value`` / ``ipv6-addr:value`` (``=`` an address or CIDR, or
``ISSUBSET`` a CIDR) and ``domain-name:value`` (``=``). Each object is checked with the
``stix2`` package and its pattern read with ``stix2-patterns``; revoked indicators, those past
``valid_until``, and patterns that need several observations together (``AND``,
``FOLLOWEDBY``, qualifiers) are skipped and counted. ``confidence`` (0-100) and
``valid_until`` are kept; the indicator's ``name`` becomes the tag."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from contracts.indicators import Indicator, IndicatorType
from hub.intel.common import FeedDefaults, IntelError, make

_TYPES: dict[str, IndicatorType] = {
    "ipv4-addr": "ipv4",
    "ipv6-addr": "ipv6",
    "domain-name": "domain",
}
_QUOTED = re.compile(r"'(?:[^'\\]|\\.)*'")
_UNSUPPORTED = re.compile(r"\b(AND|FOLLOWEDBY|WITHIN|REPEATS|START|STOP|NOT)\b")


def parse_stix(data: Any, feed: FeedDefaults) -> list[Indicator]:
    try:
        import stix2
        from stix2.exceptions import STIXError
    except ImportError as exc:
        raise IntelError(
            "STIX import needs the stix2 package (pip install 'fednids[hub]')"
        ) from exc

    if isinstance(data, dict) and data.get("type") == "bundle":
        objects = data.get("objects") or []
    elif isinstance(data, dict) and "type" in data:
        objects = [data]
    else:
        raise IntelError("not a STIX 2.1 bundle (no 'type': 'bundle')")
    if not isinstance(objects, list):
        raise IntelError("STIX bundle: 'objects' is not a list")
    out: list[Indicator] = []
    for obj in objects:
        if not isinstance(obj, dict) or obj.get("type") != "indicator":
            continue
        try:
            ind = stix2.parse(obj, allow_custom=True, version="2.1")
        except (STIXError, ValueError, TypeError, KeyError) as exc:
            del exc
            feed.skipped["invalid_stix"] += 1
            continue
        out.extend(_indicators(ind, feed))
    return out


def _indicators(ind: Any, feed: FeedDefaults) -> list[Indicator]:
    if getattr(ind, "revoked", False):
        feed.skipped["revoked"] += 1
        return []
    if getattr(ind, "pattern_type", "stix") != "stix":
        feed.skipped["unsupported_pattern"] += 1
        return []
    until = getattr(ind, "valid_until", None)
    expires = until.timestamp() if isinstance(until, datetime) else None
    conf = getattr(ind, "confidence", None)
    tag = str(getattr(ind, "name", "") or "")
    out: list[Indicator] = []
    for kind, value in _comparisons(str(ind.pattern), feed):
        got = make(feed, value, kind, confidence=conf, expires_at=expires, tag=tag or None)
        if got is not None:
            out.append(got)
    return out


def _comparisons(pattern: str, feed: FeedDefaults) -> list[tuple[IndicatorType, str]]:
    from stix2patterns.v21.pattern import Pattern

    if _UNSUPPORTED.search(_QUOTED.sub("''", pattern)):
        feed.skipped["unsupported_pattern"] += 1
        return []
    try:
        comps = Pattern(pattern).inspect().comparisons
    except Exception:  # noqa: BLE001 - the pattern library's parse errors have no common base
        feed.skipped["invalid_pattern"] += 1
        return []
    out: list[tuple[IndicatorType, str]] = []
    for obj_type, items in comps.items():
        kind = _TYPES.get(obj_type)
        for path, op, raw in items:
            if kind is None or path != ["value"] or op not in ("=", "ISSUBSET"):
                feed.skipped["unsupported_pattern"] += 1
                continue
            value = raw[1:-1].replace("\\'", "'").replace("\\\\", "\\") if raw[:1] == "'" else raw
            out.append((kind, value))
    return out
