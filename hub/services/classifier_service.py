"""``threat-classifier``: ``anomalies`` + ``network_data`` -> ``attack_classified``.

Joins the detectors' votes per flow: an anomaly with a ``flow_id`` votes for that flow; one
without (a host-window verdict, e.g. the edge LSTM) votes for every flow of its ``src_ip``
whose time overlaps ``[window_start - slack, window_end + slack]``. Flows and votes wait in a
bounded in-memory window (``hold_s`` of event time): a flow is classified once it has at least
one vote and either the window closed or all three detector kinds voted. Flows that never get
a vote are dropped when the window passes (benign traffic is not classified), and a flow the
classifier calls ``benign`` despite the votes is not emitted either.

Time: the window is in each node's **own** event time (``hub.services.eventtime``): a flow
leaves it when its node's clock (moved by that node's flows' ``end_ts`` and anomalies'
``window_end``) passed its end by ``hold_s``, or after ``idle_s`` of processing time (a node
that went quiet). An event dated past the hub's clock (``wall``) plus ``max_skew_s`` moves no
clock and is placed at its node's current time. Votes join only flows of their own node, and
flows are keyed by (node, flow id). So one node, whatever it sends, cannot release, hold back,
replace or vote on another node's flows (issue 15: a single flow dated 2099 used to hold every
node's flows back for good).

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
import math
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from contracts.events import (
    DETECTORS,
    AnomalyEvent,
    AttackClassification,
    EventBase,
    FeatureContribution,
    FlowRecord,
)
from contracts.topics import KafkaTopic
from hub.errors import HubError
from hub.services.eventtime import MAX_SKEW_S, FleetClock
from models.classifier import VOTES

EARLY: frozenset[str] = frozenset({"lstm", "rules", "iforest"})
EDGE: frozenset[str] = frozenset({"lstm", "rules", "novelty"})
"""A flow is classified without waiting for the window once the hub's own vote (iforest)
and at least one edge vote are in (the edge votes at flow end, before the hub sees it)."""


class Classifier(Protocol):
    def predict(
        self, x_features: np.ndarray, votes: np.ndarray
    ) -> tuple[list[str], np.ndarray, list[list[tuple[str, float, float]]]]:
        """families, calibrated confidences, per-row top features (name, value, weight).
        ``votes`` has one column per name of the model's ``votes`` (see :func:`voters_of`)."""
        ...


def voters_of(model: Classifier) -> tuple[str, ...]:
    """The vote columns of ``model``, in its order: the artifact's own record
    (``ThreatClassifier.votes``, from its metadata), else the training code's order
    (``models.classifier.VOTES``, for a model object that does not say). Never a copy here."""
    votes = tuple(getattr(model, "votes", VOTES))
    unknown = [v for v in votes if v not in DETECTORS]
    if unknown or len(set(votes)) != len(votes):
        raise HubError(f"classifier votes {votes!r}: each must be one detector of {DETECTORS!r}")
    return votes


@dataclass(slots=True)
class _Pending:
    flow: FlowRecord
    seen: float = 0.0
    """processing time (the service's clock) when the flow was read"""
    end: float = -math.inf
    """its end in its node's event time (a time past the hub's bound is held, see eventtime)"""
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
        wall: Callable[[], float] = time.time,
        max_skew_s: float = MAX_SKEW_S,
        idle_s: float = 30.0,
    ) -> None:
        self.model = model
        self.hold_s = hold_s
        self.slack_s = slack_s
        self.max_flows = max_flows
        self.grace_s = grace_s
        self.idle_s = idle_s
        """a flow waiting this long in processing time leaves the window whatever its node's
        clock says (a node that went quiet)"""
        self._clock = clock
        # confirm=1: a node's own forward jump is taken at once, as one fleet clock did
        self.clocks = FleetClock(confirm=1, max_skew_s=max_skew_s, wall=wall, monotonic=clock)
        """one event clock per node, bounded by the hub's clock ``wall``"""
        # node -> flow_id -> pending, oldest first: each node's flows age by its own clock
        self._flows: dict[str, OrderedDict[str, _Pending]] = {}
        self._n = 0
        # past the event-time window with no vote yet: waits grace_s of processing time
        self._grace: OrderedDict[tuple[str, str], _Pending] = OrderedDict()
        self._grace_voted: list[tuple[str, str]] = []
        self._by_src: dict[tuple[str, str], list[str]] = {}  # (node, src) -> flow ids
        # votes whose flow may come later: (vote, event-time deadline, processing time read)
        self._orphans: list[tuple[AnomalyEvent, float, float]] = []
        self._final = False
        self.voters: tuple[str, ...] = voters_of(model)
        """the vote columns, in the order the loaded model was trained with"""

    def _vote(self, p: _Pending, a: AnomalyEvent) -> None:
        if a.detector in self.voters:
            p.votes.add(a.detector)
        if a.rule_id and a.rule_id not in p.rule_ids and len(p.rule_ids) < 32:
            p.rule_ids.append(a.rule_id)
        if len(p.anomaly_ids) < 64:
            p.anomaly_ids.append(a.event_id)

    def _pending(self, node: str, fid: str) -> _Pending | None:
        q = self._flows.get(node)
        p = q.get(fid) if q is not None else None
        if p is None:
            p = self._grace.get((node, fid))
            if p is not None and not p.votes:
                self._grace_voted.append((node, fid))  # _ready releases it if the vote applies
        return p

    def _apply(self, a: AnomalyEvent) -> bool:
        """Join a vote to the flows of its own node (no node votes on another's flows)."""
        if a.flow_id is not None:
            p = self._pending(a.node_id, a.flow_id)
            if p is not None:
                self._vote(p, a)
                return True
            return False
        if a.src_ip is None:
            return True  # nothing to join on
        lo = (a.window_start or 0.0) - self.slack_s
        hi = (a.window_end if a.window_end is not None else float("inf")) + self.slack_s
        hit = False
        for fid in self._by_src.get((a.node_id, a.src_ip), ()):
            p = self._pending(a.node_id, fid)
            if p is not None and p.flow.end_ts >= lo and p.flow.start_ts <= hi:
                self._vote(p, a)
                hit = True
        return hit

    def _add_flow(self, f: FlowRecord, seen: float) -> None:
        q = self._flows.setdefault(f.node_id, OrderedDict())
        end = self.clocks.observe(f.node_id, f.end_ts)
        self._n += f.flow_id not in q  # a flow id seen again replaces the waiting record
        q[f.flow_id] = _Pending(f, seen, -math.inf if end is None else end)
        self._by_src.setdefault((f.node_id, f.src_ip), []).append(f.flow_id)

    def _node_now(self, node: str) -> float:
        if self._final:
            return math.inf
        t = self.clocks.node_now(node)
        return -math.inf if t is None else t

    def handle(self, events: list[EventBase]) -> list[EventBase]:
        anomalies: list[AnomalyEvent] = []
        wall = self._clock()
        for ev in events:
            if isinstance(ev, FlowRecord):
                self._add_flow(ev, wall)
            elif isinstance(ev, AnomalyEvent):
                anomalies.append(ev)
                if ev.window_end is not None:
                    self.clocks.observe(ev.node_id, ev.window_end)
        retry, self._orphans = self._orphans, []
        fresh = [
            (a, (a.window_end or self._node_now(a.node_id)) + self.hold_s, wall) for a in anomalies
        ]
        for a, until, seen in retry + fresh:
            if (
                not self._apply(a)
                and (until >= self._node_now(a.node_id) or wall - seen < self.grace_s)
                and len(self._orphans) < self.max_flows
            ):
                self._orphans.append((a, until, seen))  # its flow may arrive in a later batch
        return self._release()

    def _full(self) -> bool:
        return self._n + len(self._grace) > self.max_flows

    def _pop(self, node: str) -> _Pending:
        q = self._flows[node]
        p = q.popitem(last=False)[1]
        self._n -= 1
        if not q:
            del self._flows[node]
        return p

    def _ready(self) -> list[_Pending]:
        out: list[_Pending] = []
        wall = self._clock()
        final = self._final
        for node in list(self._flows):
            horizon = self._node_now(node) - self.hold_s
            q = self._flows[node]
            while q:
                fid, p = next(iter(q.items()))
                if p.end > horizon and wall - p.seen < self.idle_s:
                    break
                self._pop(node)
                if p.votes:
                    self._drop_src(p.flow)
                    out.append(p)
                elif not final and not self._full() and wall - p.seen < self.grace_s:
                    self._grace[(node, fid)] = p  # past the window, its votes may be on the way
                else:
                    self._drop_src(p.flow)
        while self._full() and self._flows:  # over the bound: the node holding most goes first
            p = self._pop(max(self._flows, key=lambda n: len(self._flows[n])))
            self._drop_src(p.flow)
            if p.votes:
                out.append(p)
        for k in self._grace_voted:  # looked up by a vote; released only if it really got one
            g = self._grace.get(k)
            if g is not None and g.votes:
                del self._grace[k]
                self._drop_src(g.flow)
                out.append(g)
        self._grace_voted.clear()
        while self._grace:
            k, p = next(iter(self._grace.items()))
            if not final and not self._full() and wall - p.seen < self.grace_s:
                break
            self._grace.popitem(last=False)
            self._drop_src(p.flow)  # no vote came: benign, not classified
        for node in list(self._flows):
            q = self._flows[node]
            for fid in [k for k, p in q.items() if "iforest" in p.votes and p.votes & EDGE]:
                p = q.pop(fid)
                self._n -= 1
                self._drop_src(p.flow)
                out.append(p)
            if not q:
                del self._flows[node]
        return out

    def _drop_src(self, f: FlowRecord) -> None:
        k = (f.node_id, f.src_ip)
        ids = self._by_src.get(k)
        if ids is not None:
            with contextlib.suppress(ValueError):
                ids.remove(f.flow_id)
            if not ids:
                del self._by_src[k]

    def flush(self) -> list[EventBase]:
        """Classify everything waiting (end of a replay)."""
        self._final = True
        return self._release()

    def _release(self) -> list[EventBase]:
        ready = self._ready()
        if not ready:
            return []
        x = np.asarray([p.flow.features for p in ready], dtype=np.float64)
        votes = np.asarray([[v in p.votes for v in self.voters] for p in ready], dtype=np.float64)
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
