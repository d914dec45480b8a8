"""What one input says, normalised: family, role, event time; and a bounded distinct counter."""

from __future__ import annotations

import hashlib
import math
import uuid
from collections import Counter, deque
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from contracts.events import SEVERITIES, AnomalyEvent, AttackClassification, EvidenceValue

TARGET_KEYED = frozenset({"dos"})
"""Families whose incident is about the target (a flood's sources may be spoofed)."""
UNSUPERVISED = frozenset({"novelty", "lstm", "iforest"})
INDEPENDENT = frozenset({"rules", "novelty", "lstm", "iforest"})
"""Detectors that count towards corroboration (the classifier only re-reads their votes)."""
FUTURE_SLACK_S = 3600.0
"""An event time later than the event's own envelope time, or the hub's clock, by more than
this is not believed (the envelope is the sender's: a stolen sensor sets both)."""

Role = Literal["attacker", "target"]
PENDING_EVENTS = 16
"""Uncorroborated detections kept per host and role (their peers are counted beyond it)."""


def named(family: str | None) -> bool:
    return family is not None and family not in ("other", "benign")


def sev_index(sev: str) -> int:
    return SEVERITIES.index(sev) if sev in SEVERITIES else 0


def sane_time(t: float | None, envelope: datetime, hub_now: float | None = None) -> float:
    """The event (capture) time, or the envelope time when ``t`` is missing or not believable;
    neither is believed past the hub's clock ``hub_now`` (plus :data:`FUTURE_SLACK_S`)."""
    ts = envelope.timestamp()
    if hub_now is not None:
        ts = min(ts, hub_now)
    if t is None or not math.isfinite(t) or t <= 0 or t > ts + FUTURE_SLACK_S:
        return ts
    return float(t)


@dataclass
class Detection:
    """One anomaly or classification, as the grouping sees it."""

    event_id: uuid.UUID
    node: str
    detector: str
    family: str | None
    severity: str
    t: float
    wall: datetime
    src: str | None
    dst: str | None
    dst_port: int | None = None
    rule_id: str | None = None
    score: float | None = None
    threshold: float | None = None
    flow: str | None = None
    confidence: float | None = None
    evidence: dict[str, EvidenceValue] = field(default_factory=dict)
    anomaly_ids: list[uuid.UUID] = field(default_factory=list)
    votes: list[str] = field(default_factory=list)
    """A classification's votes: the detectors whose verdicts it re-read."""
    techniques: tuple[str, ...] = ()
    """ATT&CK ids the event carried (a rule's own)."""

    @property
    def role(self) -> Role:
        return "target" if self.family in TARGET_KEYED else "attacker"

    @property
    def subject(self) -> str | None:
        if self.role == "target":
            return self.dst or self.src
        return self.src or self.dst


def from_anomaly(ev: AnomalyEvent, hub_now: float | None = None) -> Detection:
    """``hub_now``: the hub's clock, which bounds the node's times (see :func:`sane_time`).
    The family is the event's own (a rule carries its family; no rule id is read here)."""
    return Detection(
        event_id=ev.event_id,
        node=ev.node_id,
        detector=ev.detector,
        family=ev.family,
        severity=ev.severity,
        t=sane_time(
            ev.window_end if ev.window_end is not None else ev.window_start, ev.ts, hub_now
        ),
        wall=ev.ts,
        src=ev.src_ip,
        dst=ev.dst_ip,
        dst_port=ev.dst_port,
        rule_id=ev.rule_id,
        score=ev.score if math.isfinite(ev.score) else None,
        threshold=ev.threshold,
        flow=ev.flow_id or (f"{ev.src_ip}>{ev.dst_ip}:{ev.dst_port}@{ev.window_start}"),
        evidence=dict(ev.evidence),
        techniques=tuple(ev.techniques),
    )


def from_classification(ev: AttackClassification, t: float | None) -> Detection:
    return Detection(
        event_id=ev.event_id,
        node=ev.node_id,
        detector="classifier",
        family=ev.family,
        severity="high" if ev.confidence >= 0.9 else "medium",
        t=sane_time(t, ev.ts),
        wall=ev.ts,
        src=ev.src_ip,
        dst=ev.dst_ip,
        dst_port=ev.dst_port,
        flow=ev.flow_id,
        confidence=ev.confidence,
        anomaly_ids=list(ev.anomaly_ids),
        votes=list(ev.detectors),
    )


class Distinct:
    """Counts distinct strings: exactly up to ``exact`` of them, then by linear counting on a
    fixed bitmap (2**17 bits, 16 KiB; about 0.3 % error at 10,000), so memory stays bounded."""

    BITS = 1 << 17

    def __init__(self, exact: int = 2048) -> None:
        self.exact = exact
        self.items: set[str] | None = set()
        self.bitmap: bytearray | None = None
        self.zeros = self.BITS

    def _bit(self, item: str) -> None:
        assert self.bitmap is not None
        h = int.from_bytes(hashlib.blake2b(item.encode(), digest_size=8).digest(), "big")
        i = h % self.BITS
        byte, mask = i >> 3, 1 << (i & 7)
        if not self.bitmap[byte] & mask:
            self.bitmap[byte] |= mask
            self.zeros -= 1

    def add(self, item: str) -> bool:
        """Adds ``item``; True if it was new (always True once estimating, when it is unsure)."""
        if self.items is not None:
            if item in self.items:
                return False
            self.items.add(item)
            if len(self.items) > self.exact:
                self.bitmap = bytearray(self.BITS // 8)
                for x in self.items:
                    self._bit(x)
                self.items = None
            return True
        before = self.zeros
        self._bit(item)
        return self.zeros != before

    @property
    def is_exact(self) -> bool:
        return self.items is not None

    def __len__(self) -> int:
        if self.items is not None:
            return len(self.items)
        zeros = max(self.zeros, 1)
        return round(-self.BITS * math.log(zeros / self.BITS))


@dataclass
class HostWindow:
    """Uncorroborated detections about one host in one role, within ``corroborate_s``."""

    t_first: float
    t_last: float
    detectors: set[str] = field(default_factory=set)
    flows: set[str] = field(default_factory=set)
    peers: set[str] = field(default_factory=set)
    families: Counter[str] = field(default_factory=Counter)
    dets: deque[Detection] = field(default_factory=lambda: deque(maxlen=PENDING_EVENTS))

    def add(self, d: Detection, peer: str | None, counts: bool = True) -> None:
        """``counts``: the detection's detector counts towards corroboration (a rule below the
        opening severity, e.g. beaconing, is context: IoT devices poll their clouds)."""
        self.t_first, self.t_last = min(self.t_first, d.t), max(self.t_last, d.t)
        if counts:
            self.detectors.add(d.detector)
        if d.flow and len(self.flows) < 64:
            self.flows.add(d.flow)
        if peer and len(self.peers) < 256:
            self.peers.add(peer)
        if named(d.family):
            self.families[d.family or "other"] += 1
        self.dets.append(d)

    def independent(self) -> int:
        return len(self.detectors & INDEPENDENT)
