"""``threat-classifier``: ``anomalies`` + ``network_data`` -> ``attack_classified``.

Joins the detectors' votes per flow: an anomaly with a ``flow_id`` votes for that flow; one
without (a host-window verdict, e.g. the edge LSTM) votes for every flow of its ``src_ip``
whose time overlaps ``[window_start - slack, window_end + slack]``. Flows and votes wait in a
bounded in-memory window (``hold_s`` of event time): a flow is classified once it has at least
one vote and either the window closed or all three detector kinds voted. Flows that never get
a vote are dropped when the window passes (benign traffic is not classified), and a flow the
classifier calls ``benign`` despite the votes is not emitted either.

Kafka does not order the two topics against each other either: a consumer may read a burst
of flows spanning more than ``hold_s`` of event time before it reads the votes published with
them. So a flow past the event-time window that has no vote yet is kept for ``grace_s`` more
seconds of *processing* time (wall clock since it was read), and a vote whose flow has not
been read yet waits as long; only then is either dropped.

State: the window is in memory, neither checkpointed nor rebuilt. The runtime commits a batch
once that batch's outputs are delivered, so a flow still waiting in the window (at most
``hold_s`` of event time, default 5 s) when the process dies is not classified after the
restart. Known limitation: closing it needs the runtime to hold back commits until the
window drains (or a re-read of the last ``hold_s`` on start); not done yet.
Kafka does not order ``anomalies`` against ``network_data``: a vote that arrives more than
``hold_s`` of event time after its flow's window closed finds no flow and is dropped.
"""

from __future__ import annotations

import contextlib
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from contracts.events import (
    AnomalyEvent,
    AttackClassification,
    EventBase,
    FeatureContribution,
    FlowRecord,
)
from contracts.topics import KafkaTopic

VOTERS: tuple[str, ...] = ("rules", "lstm", "novelty", "iforest")
"""The vote columns, in the order of ``models.classifier.VOTES``."""
EARLY: frozenset[str] = frozenset({"lstm", "rules", "iforest"})
EDGE: frozenset[str] = frozenset({"lstm", "rules", "novelty"})
"""A flow is classified without waiting for the window once the hub's own vote (iforest)
and at least one edge vote are in (the edge votes at flow end, before the hub sees it)."""


class Classifier(Protocol):
    def predict(
        self, x_features: np.ndarray, votes: np.ndarray
    ) -> tuple[list[str], np.ndarray, list[list[tuple[str, float, float]]]]:
        """families, calibrated confidences, per-row top features (name, value, weight)."""
        ...


@dataclass(slots=True)
class _Pending:
    flow: FlowRecord
    seen: float = 0.0
    """processing time (the service's clock) when the flow was read"""
    votes: set[str] = field(default_factory=set)
    rule_ids: list[str] = field(default_factory=list)
    anomaly_ids: list[uuid.UUID] = field(default_factory=list)


class ClassifierService:
    name = "threat-classifier"
    inputs: Sequence[str] = (KafkaTopic.ANOMALIES.value, KafkaTopic.NETWORK_DATA.value)
    accepts = frozenset({"flow", "anomaly"})

    def __init__(
        self,
        model: Classifier,
        hold_s: float = 5.0,
        slack_s: float = 2.0,
        max_flows: int = 200_000,
        grace_s: float = 2.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.model = model
        self.hold_s = hold_s
        self.slack_s = slack_s
        self.max_flows = max_flows
        self.grace_s = grace_s
        self._clock = clock
        self._flows: OrderedDict[str, _Pending] = OrderedDict()  # flow_id -> pending
        # past the event-time window with no vote yet: waits grace_s of processing time
        self._grace: OrderedDict[str, _Pending] = OrderedDict()
        self._grace_voted: list[str] = []
        self._by_src: dict[str, list[str]] = {}
        # votes whose flow may come later: (vote, event-time deadline, processing time read)
        self._orphans: list[tuple[AnomalyEvent, float, float]] = []
        self._now = 0.0

    def _vote(self, p: _Pending, a: AnomalyEvent) -> None:
        if a.detector in VOTERS:
            p.votes.add(a.detector)
        if a.rule_id and a.rule_id not in p.rule_ids and len(p.rule_ids) < 32:
            p.rule_ids.append(a.rule_id)
        if len(p.anomaly_ids) < 64:
            p.anomaly_ids.append(a.event_id)

    def _pending(self, fid: str) -> _Pending | None:
        p = self._flows.get(fid)
        if p is None:
            p = self._grace.get(fid)
            if p is not None and not p.votes:
                self._grace_voted.append(fid)  # _ready releases it if the vote applies
        return p

    def _apply(self, a: AnomalyEvent) -> bool:
        if a.flow_id is not None:
            p = self._pending(a.flow_id)
            if p is not None:
                self._vote(p, a)
                return True
            return False
        if a.src_ip is None:
            return True  # nothing to join on
        lo = (a.window_start or 0.0) - self.slack_s
        hi = (a.window_end if a.window_end is not None else float("inf")) + self.slack_s
        hit = False
        for fid in self._by_src.get(a.src_ip, ()):
            p = self._pending(fid)
            if p is not None and p.flow.end_ts >= lo and p.flow.start_ts <= hi:
                self._vote(p, a)
                hit = True
        return hit

    def _add_flow(self, f: FlowRecord, seen: float) -> None:
        self._flows[f.flow_id] = _Pending(f, seen)
        self._by_src.setdefault(f.src_ip, []).append(f.flow_id)
        self._now = max(self._now, f.end_ts)

    def handle(self, events: list[EventBase]) -> list[EventBase]:
        anomalies: list[AnomalyEvent] = []
        wall = self._clock()
        for ev in events:
            if isinstance(ev, FlowRecord):
                self._add_flow(ev, wall)
            elif isinstance(ev, AnomalyEvent):
                anomalies.append(ev)
                if ev.window_end is not None:
                    self._now = max(self._now, ev.window_end)
        retry, self._orphans = self._orphans, []
        fresh = [(a, (a.window_end or self._now) + self.hold_s, wall) for a in anomalies]
        for a, until, seen in retry + fresh:
            if (
                not self._apply(a)
                and (until >= self._now or wall - seen < self.grace_s)
                and len(self._orphans) < self.max_flows
            ):
                self._orphans.append((a, until, seen))  # its flow may arrive in a later batch
        return self._release()

    def _ready(self) -> list[_Pending]:
        out: list[_Pending] = []
        horizon = self._now - self.hold_s
        wall = self._clock()
        final = self._now == float("inf")

        def full() -> bool:
            return len(self._flows) + len(self._grace) > self.max_flows

        while self._flows:
            fid, p = next(iter(self._flows.items()))
            if p.flow.end_ts > horizon and not full():
                break
            self._flows.popitem(last=False)
            if p.votes:
                self._drop_src(p.flow)
                out.append(p)
            elif not final and not full() and wall - p.seen < self.grace_s:
                self._grace[fid] = p  # past the window, but its votes may still be on the way
            else:
                self._drop_src(p.flow)
        for fid in self._grace_voted:  # looked up by a vote; released only if it really got one
            q = self._grace.get(fid)
            if q is not None and q.votes:
                del self._grace[fid]
                self._drop_src(q.flow)
                out.append(q)
        self._grace_voted.clear()
        while self._grace:
            fid, p = next(iter(self._grace.items()))
            if not final and not full() and wall - p.seen < self.grace_s:
                break
            self._grace.popitem(last=False)
            self._drop_src(p.flow)  # no vote came: benign, not classified
        for fid in [k for k, p in self._flows.items() if "iforest" in p.votes and p.votes & EDGE]:
            p = self._flows.pop(fid)
            self._drop_src(p.flow)
            out.append(p)
        return out

    def _drop_src(self, f: FlowRecord) -> None:
        ids = self._by_src.get(f.src_ip)
        if ids is not None:
            with contextlib.suppress(ValueError):
                ids.remove(f.flow_id)
            if not ids:
                del self._by_src[f.src_ip]

    def flush(self) -> list[EventBase]:
        """Classify everything waiting (end of a replay)."""
        self._now = float("inf")
        return self._release()

    def _release(self) -> list[EventBase]:
        ready = self._ready()
        if not ready:
            return []
        x = np.asarray([p.flow.features for p in ready], dtype=np.float64)
        votes = np.asarray([[v in p.votes for v in VOTERS] for p in ready], dtype=np.float64)
        families, conf, tops = self.model.predict(x, votes)
        out: list[EventBase] = []
        for p, fam, c, top in zip(ready, families, conf, tops, strict=True):
            if fam == "benign":
                continue  # voted on, but the classifier overrules the detectors: no attack
            f = p.flow
            out.append(
                AttackClassification(
                    node_id=f.node_id,
                    family=fam,  # type: ignore[arg-type]
                    confidence=float(min(max(c, 0.0), 1.0)),
                    detectors=sorted(p.votes),  # type: ignore[arg-type]
                    rule_ids=p.rule_ids,
                    top_features=[
                        FeatureContribution(name=n, value=float(v), contribution=float(w))
                        for n, v, w in top[:16]
                    ],
                    flow_id=f.flow_id,
                    src_ip=f.src_ip,
                    dst_ip=f.dst_ip,
                    dst_port=f.dst_port,
                    anomaly_ids=p.anomaly_ids,
                )
            )
        return out
