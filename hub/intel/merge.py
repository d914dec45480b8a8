"""Merge indicators from many feeds into one bundle: one indicator per value, with every source
that named it (up to :data:`~contracts.indicators.MAX_SOURCES`), the latest expiry, the highest
confidence, the first tag and named family; expired ones dropped; at most
:data:`~contracts.indicators.MAX_INDICATORS` (the most confident, then latest expiring, kept;
the rest counted as dropped)."""

from __future__ import annotations

import time
from collections.abc import Iterable

from contracts.attack import merge as merge_techniques
from contracts.indicators import MAX_INDICATORS, MAX_SOURCES, Indicator, IndicatorBundle

EMPTY_BUNDLE_TTL_S = 86400.0


def merge(
    groups: Iterable[Iterable[Indicator]], now: float | None = None, limit: int = MAX_INDICATORS
) -> tuple[list[Indicator], dict[str, int]]:
    """The merged, unexpired indicators and the counts dropped (``expired``, ``over_limit``)."""
    t = time.time() if now is None else now
    by_key: dict[tuple[str, str], Indicator] = {}
    expired = 0
    for group in groups:
        for ind in group:
            if ind.expires_at <= t:
                expired += 1
                continue
            key = (ind.type, ind.value)
            old = by_key.get(key)
            by_key[key] = ind if old is None else _combine(old, ind)
    merged = sorted(by_key.values(), key=lambda i: (-i.confidence, -i.expires_at, i.value))
    dropped = {"expired": expired, "over_limit": max(0, len(merged) - limit)}
    return merged[:limit], dropped


def _combine(a: Indicator, b: Indicator) -> Indicator:
    sources = list(dict.fromkeys([*a.sources, *b.sources]))[:MAX_SOURCES]
    return a.model_copy(
        update={
            "sources": sources,
            "expires_at": max(a.expires_at, b.expires_at),
            "confidence": max(a.confidence, b.confidence),
            "tag": a.tag or b.tag,
            "family": a.family if a.family != "other" else b.family,
            "techniques": merge_techniques(a.techniques, b.techniques),
        }
    )


def without_source(indicators: Iterable[Indicator], source: str) -> list[Indicator]:
    """``indicators`` as if ``source`` had never named any (a re-import replaces its feed)."""
    out = []
    for ind in indicators:
        if source not in ind.sources:
            out.append(ind)
        elif len(ind.sources) > 1:
            out.append(ind.model_copy(update={"sources": [s for s in ind.sources if s != source]}))
    return out


def build_bundle(
    indicators: list[Indicator],
    previous_version: int = 0,
    now: float | None = None,
    sources: dict[str, str] | None = None,
    fleet_id: str | None = None,
) -> IndicatorBundle:
    """A new bundle version: above ``previous_version`` and at least the current epoch second
    (so versions keep rising even from a fresh output file). It expires with its latest
    indicator (an empty bundle, which clears the fleet's, after a day)."""
    t = time.time() if now is None else now
    expires = max((i.expires_at for i in indicators), default=t + EMPTY_BUNDLE_TTL_S)
    return IndicatorBundle(
        version=max(previous_version + 1, int(t)),
        created_at=t,
        expires_at=max(expires, t),
        fleet_id=fleet_id,
        indicators=indicators,
        sources=dict(sources or {}),
    )
