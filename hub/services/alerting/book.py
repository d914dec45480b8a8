"""The open incidents: lookup by subject and host, opening, closing, expiry, emission."""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable

from contracts.events import AlertEvent
from hub.services.alerting.incident import Incident, up
from hub.services.alerting.policy import TARGET_KEYED, Detection, Role, named

MAX_SERIALS = 100_000


def natural_role(family: str) -> Role:
    return "target" if family in TARGET_KEYED else "attacker"


class IncidentBook:
    """Open incidents keyed by base key, with their aliases ``(family, role, host)`` and a
    host index; bounded (``max_open``, least recently touched closed first)."""

    def __init__(
        self,
        update_every_s: float,
        quiet_s: float,
        prediction_ttl_s: float,
        node_id: str,
        max_open: int,
        idle_s: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.update_every_s = update_every_s
        self.quiet_s = quiet_s
        self.prediction_ttl_s = prediction_ttl_s
        self.node_id = node_id
        self.max_open = max_open
        self.idle_s = idle_s
        self.clock = clock
        self.incidents: dict[str, Incident] = {}
        """Open incidents by base key."""
        self.by_subject: dict[tuple[str, str, str], str] = {}
        self.by_host: dict[str, set[str]] = {}
        self.serials: OrderedDict[str, int] = OrderedDict()
        self.predicted: OrderedDict[str, tuple[float, float]] = OrderedDict()
        """Hosts the GNN predicted: event time of the prediction, probability."""
        self.dirty: set[str] = set()
        self.closing: list[Incident] = []

    def _fits(self, inc: Incident, t: float) -> bool:
        return inc.t_first - self.quiet_s <= t <= inc.t_last + self.quiet_s

    def _get(self, subj: tuple[str, str, str], t: float) -> Incident | None:
        base = self.by_subject.get(subj)
        inc = self.incidents.get(base) if base else None
        if inc is None:
            return None
        if t > inc.t_last + self.quiet_s:
            self._close(inc)  # quiet for too long: the next detection is a new incident
            return None
        if t < inc.t_first - self.quiet_s:
            return None  # far older than this incident: not part of it
        return inc

    def _open(self, fam: str, role: Role, host: str, d: Detection, prefix: str = "") -> Incident:
        base = self._base(fam, role, host, prefix)
        if (current := self.incidents.get(base)) is not None:
            self._close(current)  # never replaced silently: its last state goes out first
        while len(self.incidents) >= self.max_open:
            self._close(min(self.incidents.values(), key=lambda i: i.touched))
        serial = self.serials.get(base, 0) + 1
        self.serials[base] = serial
        self.serials.move_to_end(base)
        if len(self.serials) > MAX_SERIALS:
            self.serials.popitem(last=False)
        inc = Incident(
            base=base,
            serial=serial,
            family=fam,
            role=role,
            subject=host,
            severity=d.severity,
            t_first=d.t,
            t_last=d.t,
            wall_first=d.wall,
            wall_last=d.wall,
            opened_ts=d.t,
            prefix=prefix,
            touched=self.clock(),
        )
        self.incidents[base] = inc
        self._alias(inc, (prefix + fam, role, host))
        if not prefix:
            self.by_host.setdefault(host, set()).add(base)
        return inc

    @staticmethod
    def _base(fam: str, role: Role, host: str, prefix: str = "") -> str:
        natural = role == natural_role(fam)
        sep = "" if prefix or natural else ("to:" if role == "target" else "from:")
        return f"{prefix}{fam}:{sep}{host}"

    def _stale(self, subj: tuple[str, str, str], t: float) -> bool:
        """An open incident about this subject began more than ``quiet_s`` after ``t``."""
        base = self.by_subject.get(subj)
        inc = self.incidents.get(base) if base else None
        return inc is not None and t < inc.t_first - self.quiet_s

    def _alias(self, inc: Incident, subj: tuple[str, str, str]) -> None:
        self.by_subject[subj] = inc.base
        inc.aliases.append(subj)

    def _rename(self, inc: Incident, fam: str) -> None:
        """An incident that only had "other" learns its family (rule or classifier)."""
        if named(inc.family) or not named(fam):
            return
        if natural_role(fam) == inc.role:
            inc.family = fam
            self._alias(inc, (fam, inc.role, inc.subject))
            self.dirty.add(inc.base)

    def _touch(self, inc: Incident, d: Detection, primary: bool) -> None:
        n = len(inc.hosts)
        inc.add(d, primary)
        inc.touched = self.clock()
        if not inc.prefix and len(inc.hosts) != n:
            for h in inc.hosts[n:]:
                self.by_host.setdefault(h, set()).add(inc.base)
        if not inc.prefix and not inc.escalated:
            for host in (d.src, d.dst):
                pred = self.predicted.get(host or "")
                if pred is not None and -5.0 <= d.t - pred[0] <= self.prediction_ttl_s:
                    inc.escalated = True
                    inc.severity = up(inc.severity)
                    break
        self.dirty.add(inc.base)

    def _close(self, inc: Incident) -> None:
        if self.incidents.get(inc.base) is not inc:
            return
        del self.incidents[inc.base]
        for subj in inc.aliases:
            if self.by_subject.get(subj) == inc.base:
                del self.by_subject[subj]
        for h in {inc.subject, *inc.hosts}:
            bases = self.by_host.get(h)
            if bases is not None:
                bases.discard(inc.base)
                if not bases:
                    del self.by_host[h]
        self.dirty.discard(inc.base)
        if inc.count != inc.emitted_count or inc.signature() != inc.emitted_sig:
            self.closing.append(inc)

    def _sweep(self) -> None:
        """Expires incidents untouched for ``idle_s`` of processing time. (Not by an event
        clock: in a replay the edge's detections run minutes of capture time ahead of the
        hub's own, which arrive later for the same capture time.)"""
        now = self.clock()
        for inc in list(self.incidents.values()):
            if now - inc.touched > self.idle_s:
                self._close(inc)

    def _emit(self, force: bool) -> list[AlertEvent]:
        now = self.clock()
        out = [inc.to_alert(self.node_id) for inc in self.closing]
        self.closing.clear()
        sent: set[str] = set()
        for base in sorted(self.dirty):
            inc = self.incidents.get(base)
            if inc is None:
                continue
            sig = inc.signature()
            if inc.count == inc.emitted_count and sig == inc.emitted_sig:
                continue
            due = (
                force
                or inc.last_emit is None
                or sig != inc.emitted_sig
                or inc.count >= 2 * inc.emitted_count
                or now - inc.last_emit >= self.update_every_s
            )
            if not due:
                continue
            inc.last_emit, inc.emitted_count, inc.emitted_sig = now, inc.count, sig
            out.append(inc.to_alert(self.node_id))
            sent.add(base)
        self.dirty = {b for b in self.dirty if b in self.incidents and b not in sent}
        return out
