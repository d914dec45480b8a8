"""What every importer shares: the defaults a feed gives its indicators, and one value -> one
:class:`~contracts.indicators.Indicator` (or a counted skip, never a crash)."""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field

from contracts.errors import ContractError
from contracts.events import AttackFamily
from contracts.indicators import MAX_TAG, Indicator, IndicatorType, classify, normalize
from hub.errors import HubError

DEFAULT_TTL_DAYS = 30.0


class IntelError(HubError):
    """A feed cannot be read or imported, or a bundle cannot be built or published."""


@dataclass
class FeedDefaults:
    """What an import gives indicators its feed does not qualify itself."""

    source: str
    confidence: int = 50
    ttl_days: float = DEFAULT_TTL_DAYS
    family: AttackFamily = "other"
    tag: str = ""
    now: float = field(default_factory=time.time)
    skipped: Counter[str] = field(default_factory=Counter)
    """Values not imported, by reason (unsupported type, invalid value, expired, ...)."""

    @property
    def expires_at(self) -> float:
        return self.now + self.ttl_days * 86400.0


def make(
    feed: FeedDefaults,
    value: str,
    kind: IndicatorType | None = None,
    *,
    confidence: int | None = None,
    expires_at: float | None = None,
    tag: str | None = None,
) -> Indicator | None:
    """One indicator of ``value`` (its type guessed when ``kind`` is None), or None (counted)."""
    try:
        if kind is None:
            kind, value = classify(value)
        elif kind in ("ipv4", "ipv6") and "/" in value:
            kind, value = classify(value)  # an address feed that gives CIDRs
        else:
            value = normalize(kind, value)
    except ContractError:
        feed.skipped["invalid_value"] += 1
        return None
    exp = feed.expires_at if expires_at is None else expires_at
    if exp <= feed.now:
        feed.skipped["expired"] += 1
        return None
    conf = feed.confidence if confidence is None else max(0, min(100, int(confidence)))
    text = "".join(c for c in (feed.tag if tag is None else tag) if c.isprintable())[:MAX_TAG]
    try:
        return Indicator(
            type=kind,
            value=value,
            sources=[feed.source],
            confidence=conf,
            expires_at=min(exp, 4_102_444_800.0),
            tag=text,
            family=feed.family,
        )
    except ValueError:
        feed.skipped["invalid_value"] += 1
        return None
