"""The alerting service: routes detections, classifications and predictions to incidents."""

from __future__ import annotations

import time
import uuid
from collections import Counter, OrderedDict
from collections.abc import Callable, Sequence

from contracts.events import (
    AlertEvent,
    AnomalyEvent,
    AttackClassification,
    AttackPrediction,
    EventBase,
)
from contracts.topics import KafkaTopic
from hub.services.alerting.book import IncidentBook, natural_role
from hub.services.alerting.incident import Incident
from hub.services.alerting.policy import (
    INDEPENDENT,
    UNSUPERVISED,
    Detection,
    HostWindow,
    Role,
    from_anomaly,
    from_classification,
    named,
    sane_time,
    sev_index,
)
from hub.services.suppressions import Suppressions

MAX_SEEN_IDS = 50_000
MAX_PREDICTED = 10_000
MAX_FANIN = 50_000
REFINES: tuple[tuple[str, str], ...] = (("botnet", "scan"),)
"""(wider, narrower) families of one attacker that make one incident: a bot scans."""


class AlertingService(IncidentBook):
    name = "alerting"
    inputs: Sequence[str] = (
        KafkaTopic.ANOMALIES.value,
        KafkaTopic.ATTACK_CLASSIFIED.value,
        KafkaTopic.ATTACK_PREDICTED.value,
    )
    accepts = frozenset({"anomaly", "classification", "prediction"})

    def __init__(
        self,
        update_every_s: float = 30.0,
        quiet_s: float = 600.0,
        min_severity: str = "medium",
        prediction_ttl_s: float = 1800.0,
        node_id: str = "hub",
        predicted_alert_p: float = 0.8,
        corroborate_s: float = 60.0,
        corroborate_detectors: int = 2,
        corroborate_flows: int = 3,
        solo_severity: str = "critical",
        fanin_sources: int = 20,
        classified_open_confidence: float = 0.9,
        max_open: int = 1000,
        max_pending_hosts: int = 20_000,
        idle_s: float | None = None,
        clock: Callable[[], float] = time.monotonic,
        wall: Callable[[], float] = time.time,
        suppressions: Suppressions | None = None,
    ) -> None:
        self._wall = wall
        """the hub's clock: no node's event time is believed past it (see ``sane_time``)"""
        self.suppressions = suppressions
        """Active suppressions: an emitted incident that matches one is marked, never dropped."""
        super().__init__(
            update_every_s=update_every_s,
            quiet_s=quiet_s,
            prediction_ttl_s=prediction_ttl_s,
            node_id=node_id,
            max_open=max_open,
            idle_s=idle_s if idle_s is not None else 2 * quiet_s,
            clock=clock,
        )
        self.min_severity = min_severity
        self.solo_rule_severity = "high"
        """A rule hit of family ``other`` at least this severe opens an incident by itself."""
        self.predicted_alert_p = predicted_alert_p
        self.corroborate_s = corroborate_s
        self.corroborate_detectors = corroborate_detectors
        self.corroborate_flows = corroborate_flows
        self.solo_severity = solo_severity
        self.fanin_sources = fanin_sources
        self.classified_open_confidence = classified_open_confidence
        self.max_pending_hosts = max_pending_hosts
        self.pending: OrderedDict[tuple[Role, str], HostWindow] = OrderedDict()
        self.fanin: OrderedDict[tuple[str, str], tuple[float, set[str]]] = OrderedDict()
        self.seen: OrderedDict[uuid.UUID, tuple[float, str | None]] = OrderedDict()
        self.dropped = Counter[str]()
        """Inputs that joined no incident, by reason (they stay in the events table)."""

    # --- entry points --------------------------------------------------------------------

    def handle(self, events: list[EventBase]) -> list[EventBase]:
        for ev in events:
            if isinstance(ev, AnomalyEvent):
                self._detection(from_anomaly(ev, self._wall()))
            elif isinstance(ev, AttackClassification):
                if ev.family != "benign":
                    self._classification(ev)
            elif isinstance(ev, AttackPrediction):
                self._prediction(ev)
        out: list[EventBase] = [*self.due()]
        return out

    def due(self) -> list[AlertEvent]:
        """Updates that are due now (for a runtime's idle ticks too), after expiring idle ones."""
        self._sweep()
        return self._marked(self._emit(force=False))

    def flush(self) -> list[AlertEvent]:
        """Every incident's latest state that was not sent yet (end of a replay, shutdown)."""
        return self._marked(self._emit(force=True))

    def _marked(self, outs: list[AlertEvent]) -> list[AlertEvent]:
        """``suppressed_by`` set on the incidents an active suppression matches."""
        s = self.suppressions
        return outs if s is None or not outs else [s.mark(a) for a in outs]

    # --- routing -------------------------------------------------------------------------

    def _remember(self, eid: uuid.UUID, t: float, base: str | None) -> None:
        self.seen[eid] = (t, base)
        if len(self.seen) > MAX_SEEN_IDS:
            self.seen.popitem(last=False)

    def _detection(self, d: Detection) -> Incident | None:
        inc: Incident | None = None
        if not d.src and not d.dst:
            self.dropped["no host"] += 1
        elif named(d.family) and d.detector not in UNSUPERVISED:
            if sev_index(d.severity) >= sev_index(self.min_severity):
                inc = self._route(d, create=True)
            else:
                inc = self._route(d, create=False) or self._attach(d) or self._pend(d)
        elif named(d.family):  # an unsupervised verdict the edge attributed to a family
            inc = self._route(d, create=False) or self._attach(d) or self._pend(d)
        elif (
            d.detector not in UNSUPERVISED
            and d.rule_id
            and sev_index(d.severity) >= sev_index(self.solo_rule_severity)
        ):  # a severe rule without a named family (ARP spoofing, a land attack) opens its own
            inc = self._attach(d) or self._route(d, create=True)
        else:
            inc = self._attach(d) or self._pend(d)
        self._remember(d.event_id, d.t, inc.base if inc else None)
        return inc

    def _classification(self, ev: AttackClassification) -> None:
        t, base = None, None
        for aid in ev.anomaly_ids:
            got = self.seen.get(aid)
            if got is not None:
                t = got[0] if t is None else max(t, got[0])
                base = base or got[1]
        if t is None:
            t = self._host_time(ev.src_ip, ev.dst_ip)
        d = from_classification(ev, t)
        inc = self.incidents.get(base) if base else None
        if inc is not None and self._fits(inc, d.t):
            self._touch(inc, d, primary=False)
        else:
            inc = self._route(d, create=False) or self._attach(d)
        if inc is None and d.confidence is not None:
            if d.confidence >= self.classified_open_confidence and self._votes_hold(d):
                inc = self._route(d, create=True)
            else:
                self._pend(d)
        if inc is not None and not named(inc.family) and named(d.family):
            self._rename(inc, d.family or "other")
        self._remember(d.event_id, d.t, inc.base if inc else None)

    def _votes_hold(self, d: Detection) -> bool:
        """A classification re-reads its votes: it opens an incident alone only when they are
        corroborated themselves (a rule, or ``corroborate_detectors`` independent detectors),
        or when it names none (a verdict from elsewhere)."""
        votes = set(d.votes) & INDEPENDENT
        return not d.votes or "rules" in votes or len(votes) >= self.corroborate_detectors

    def _prediction(self, ev: AttackPrediction) -> None:
        ts = [self.seen[i][0] for i in ev.source_ids if i in self.seen]
        t = max(ts) if ts else self._host_time(ev.target_host, *ev.path)
        t = sane_time(t, ev.ts, self._wall())
        self.predicted[ev.target_host] = (t, ev.probability)
        self.predicted.move_to_end(ev.target_host)
        if len(self.predicted) > MAX_PREDICTED:
            self.predicted.popitem(last=False)
        if ev.probability < self.predicted_alert_p:
            return
        d = Detection(
            event_id=ev.event_id,
            node=ev.node_id,
            detector=ev.predictor,
            family=ev.family,
            severity=ev.severity,
            t=t,
            wall=ev.ts,
            src=ev.path[0] if ev.path and ev.path[0] != ev.target_host else None,
            dst=ev.target_host,
        )
        # one predicted incident per spreading host (the path's known-compromised source), its
        # predicted next targets listed: a bot about to reach five hosts is one warning, not five
        origin = ev.path[0] if ev.path and ev.path[0] != ev.target_host else ev.target_host
        role: Role = "attacker" if origin != ev.target_host else "target"
        subj = ("predicted-" + ev.family, role, origin)
        inc = self._get(subj, t)
        if inc is None:
            inc = self._open(ev.family, role, origin, d, prefix="predicted-")
        inc.path = [*ev.path[-15:], ev.target_host] if ev.path[-1:] != [ev.target_host] else ev.path
        inc.probability = max(inc.probability or 0.0, ev.probability)
        self._touch(inc, d, primary=True)

    def _route(self, d: Detection, create: bool) -> Incident | None:
        """A named-family detection to the incident about its subject (opening it if asked)."""
        fam = d.family or "other"
        role, host = d.role, d.subject
        if host is None:
            return None
        if self._stale((fam, role, host), d.t):
            self.dropped["stale"] += 1  # far older than the open incident: a detection only
            return None
        inc = self._get((fam, role, host), d.t)
        if inc is None and role == "attacker":
            inc = self._refined(fam, host, d.t)
        if inc is None and role == "attacker" and d.dst and d.src:
            inc = self._get((fam, "target", d.dst), d.t)  # folded: many sources, one target
            folds = self._fanin(fam, d.dst, d.src, d.t) >= self.fanin_sources
            if inc is None and folds and create:
                inc = self._open(fam, "target", d.dst, d)
                self._absorb(inc)
        if inc is None:
            other = self._get(("other", role, host), d.t)
            if other is not None and not named(other.family):
                self._rename(other, fam)
                inc = other
        if inc is None and role == "attacker" and d.dst:
            # traffic to an attacker of this family (replies, C2, a router talking to an
            # infected host) is evidence of that attacker's incident, not a new attacker
            peer = self._get((fam, "attacker", d.dst), d.t)
            if peer is not None:
                self._touch(peer, d, primary=False)
                return peer
        if inc is None and create:
            inc = self._open(fam, role, host, d)
            self._absorb(inc)
        if inc is not None:
            self._touch(inc, d, primary=True)
        return inc

    def _refined(self, fam: str, host: str, t: float) -> Incident | None:
        """One attacker, one incident: a botnet host's scanning is part of its botnet
        incident, and its scan incident becomes a botnet one when a botnet rule names it."""
        for wide, narrow in REFINES:
            if fam == narrow:
                inc = self._get((wide, "attacker", host), t)
                if inc is not None:
                    return inc
            if fam == wide:
                inc = self._get((narrow, "attacker", host), t)
                if inc is not None and inc.family == narrow:
                    inc.family = wide
                    self._alias(inc, (wide, "attacker", host))
                    return inc
        return None

    def _absorb(self, inc: Incident) -> None:
        """A new incident takes the waiting detections about its subject in its role."""
        w = self.pending.pop((inc.role, inc.subject), None)
        if w is None:
            return
        peers = inc.dests if inc.role == "attacker" else inc.sources
        for p in w.peers:  # counted even when the window kept fewer detections than peers
            peers.add(p)
        for x in w.dets:
            if inc.t_first - self.corroborate_s <= x.t <= inc.t_last + self.corroborate_s:
                self._touch(inc, x, primary=False)
                self._remember(x.event_id, x.t, inc.base)

    def _attach(self, d: Detection) -> Incident | None:
        """Evidence for an open incident that involves one of the detection's hosts."""
        best: tuple[int, float, Incident] | None = None
        for h in (d.src, d.dst):
            for base in self.by_host.get(h or "", ()):
                inc = self.incidents.get(base)
                if inc is None or inc.prefix:
                    continue
                if not inc.t_first - self.corroborate_s <= d.t <= inc.t_last + self.corroborate_s:
                    continue
                rank = 2 if h == inc.subject else 1
                if best is None or (rank, inc.t_last) > best[:2]:
                    best = (rank, inc.t_last, inc)
        if best is None:
            return None
        inc = best[2]
        self._touch(inc, d, primary=best[0] == 2 and not named(inc.family))
        return inc

    def _pend(self, d: Detection) -> Incident | None:
        """Keeps an uncorroborated detection; opens an incident once it is corroborated."""
        opened: Incident | None = None
        for role, host, peer in (("attacker", d.src, d.dst), ("target", d.dst, d.src)):
            if not host:
                continue
            k: tuple[Role, str] = (role, host)  # type: ignore[assignment]
            w = self.pending.get(k)
            if w is None or d.t - w.t_last > self.corroborate_s:
                w = self.pending[k] = HostWindow(d.t, d.t)
            elif d.t < w.t_first - self.corroborate_s:
                continue
            self.pending.move_to_end(k)
            weak_rule = d.detector == "rules" and sev_index(d.severity) < sev_index(
                self.min_severity
            )
            w.add(d, peer, counts=not weak_rule)
            if opened is None and self._corroborated(w, role, d):
                opened = self._open_pending(k, w, d)
        while len(self.pending) > self.max_pending_hosts:
            self.pending.popitem(last=False)
        if opened is None:
            self.dropped["uncorroborated"] += 1
        return opened

    def _corroborated(self, w: HostWindow, role: str, d: Detection) -> bool:
        if d.detector in INDEPENDENT and sev_index(d.severity) >= sev_index(self.solo_severity):
            return role == "attacker" or not d.src
        if w.independent() < self.corroborate_detectors:
            return False
        if role == "attacker":
            return len(w.flows) >= self.corroborate_flows
        return len(w.peers) >= self.fanin_sources

    def _open_pending(self, k: tuple[Role, str], w: HostWindow, trigger: Detection) -> Incident:
        role, host = k
        fam = w.families.most_common(1)[0][0] if w.families else "other"
        if named(fam) and natural_role(fam) != role:
            fam = "other"
        inc = self._get((fam, role, host), trigger.t) or self._open(fam, role, host, trigger)
        peers = inc.dests if role == "attacker" else inc.sources
        for p in w.peers:
            peers.add(p)
        for x in w.dets:
            self._touch(inc, x, primary=True)
            self._remember(x.event_id, x.t, inc.base)
        del self.pending[k]
        return inc

    # --- incidents -----------------------------------------------------------------------

    def _host_time(self, *hosts: str | None) -> float | None:
        ts = [
            self.incidents[b].t_last
            for h in hosts
            if h
            for b in self.by_host.get(h, ())
            if b in self.incidents
        ]
        for h in hosts:
            for role in ("attacker", "target"):
                w = self.pending.get((role, h or ""))  # type: ignore[arg-type]
                if w is not None:
                    ts.append(w.t_last)
        return max(ts) if ts else None

    def _fanin(self, fam: str, dst: str, src: str, t: float) -> int:
        k = (fam, dst)
        got = self.fanin.get(k)
        if got is None or t - got[0] > self.corroborate_s:
            got = (t, set())
        srcs = got[1]
        if len(srcs) <= self.fanin_sources:
            srcs.add(src)
        self.fanin[k] = (max(got[0], t), srcs)
        self.fanin.move_to_end(k)
        if len(self.fanin) > MAX_FANIN:
            self.fanin.popitem(last=False)
        return len(srcs)
