"""Alerting: detector and analytics events -> incidents for operators.

One incident per (attack family, host) rather than one alert per event: the first event
opens it (an ``AlertEvent``), later ones only update its count, at most every
``update_every_s``; after ``quiet_s`` without events the next one opens a new incident.
When the GNN predicted a host and that host is then attacked, the incident is escalated
(one severity level up, ``escalated=True``). A confident prediction (probability >=
``predicted_alert_p``) opens its own ``predicted-<family>:<host>`` incident with the path.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from contracts.events import (
    SEVERITIES,
    AlertEvent,
    AnomalyEvent,
    AttackClassification,
    AttackPrediction,
    EventBase,
)
from contracts.topics import KafkaTopic

RULE_FAMILY = {
    "syn_flood": "dos",
    "udp_flood": "dos",
    "amplification": "dos",
    "amplification_ratio": "dos",
    "reflection_flood": "dos",
    "slow_http": "dos",
    "port_scan_horizontal": "scan",
    "port_scan_vertical": "scan",
    "tcp_null_scan": "scan",
    "tcp_fin_xmas_scan": "scan",
    "bruteforce_login": "bruteforce",
    "telnet_scan": "botnet",
    "beaconing": "botnet",
}
TITLES = {
    "dos": "Denial of service",
    "scan": "Scanning",
    "bruteforce": "Brute force",
    "botnet": "Botnet activity",
    "web": "Web attack",
    "other": "Anomalous traffic",
}
DOS_KEYED_BY_TARGET = frozenset({"dos"})


@dataclass
class Incident:
    key: str
    family: str
    severity: str
    first_seen: datetime
    last_seen: datetime
    count: int = 0
    hosts: list[str] = field(default_factory=list)
    related: list[uuid.UUID] = field(default_factory=list)
    escalated: bool = False
    last_emit: datetime | None = None
    emitted_count: int = 0
    serial: int = 1


def _up(sev: str) -> str:
    return SEVERITIES[min(SEVERITIES.index(sev) + 1, len(SEVERITIES) - 1)]


class AlertingService:
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
    ) -> None:
        self.predicted_alert_p = predicted_alert_p
        self.update_every_s = update_every_s
        self.quiet_s = quiet_s
        self.min_severity = min_severity
        self.prediction_ttl_s = prediction_ttl_s
        self.node_id = node_id
        self.incidents: dict[str, Incident] = {}
        self.predicted: dict[str, tuple[datetime, float]] = {}

    def _classify(self, ev: EventBase) -> tuple[str, str, str | None, list[str]] | None:
        """(family, severity, host the incident is about, hosts involved) or None to ignore."""
        if isinstance(ev, AnomalyEvent):
            family = RULE_FAMILY.get(ev.rule_id or "", "other")
            hosts = [h for h in (ev.src_ip, ev.dst_ip) if h]
            host = ev.dst_ip if family in DOS_KEYED_BY_TARGET else (ev.src_ip or ev.dst_ip)
            return family, ev.severity, host, hosts
        if isinstance(ev, AttackClassification):
            if ev.family == "benign":
                return None
            sev = "high" if ev.confidence >= 0.9 else "medium"
            host = ev.dst_ip if ev.family in DOS_KEYED_BY_TARGET else (ev.src_ip or ev.dst_ip)
            return ev.family, sev, host, [h for h in (ev.src_ip, ev.dst_ip) if h]
        return None

    def handle(self, events: list[EventBase]) -> list[EventBase]:
        out: list[EventBase] = []
        for ev in events:
            if isinstance(ev, AttackPrediction):
                if ev.probability >= self.predicted_alert_p:
                    alert = self._fold(
                        ev,
                        ev.family,
                        ev.severity,
                        ev.target_host,
                        [*ev.path, ev.target_host],
                        prefix="predicted-",
                    )
                    if alert is not None:
                        out.append(alert)
                self.predicted[ev.target_host] = (ev.ts, ev.probability)
                continue
            got = self._classify(ev)
            if got is None:
                continue
            family, severity, host, hosts = got
            if SEVERITIES.index(severity) < SEVERITIES.index(self.min_severity):
                continue
            alert = self._fold(ev, family, severity, host or "unknown", hosts)
            if alert is not None:
                out.append(alert)
        return out

    def _fold(
        self,
        ev: EventBase,
        family: str,
        severity: str,
        host: str,
        hosts: list[str],
        prefix: str = "",
    ) -> AlertEvent | None:
        now = ev.ts
        base = f"{prefix}{family}:{host}"
        inc = self.incidents.get(base)
        if inc is not None and (now - inc.last_seen).total_seconds() > self.quiet_s:
            serial = inc.serial + 1
            inc = None
        else:
            serial = inc.serial if inc else 1
        if inc is None:
            inc = self.incidents[base] = Incident(base, family, severity, now, now, serial=serial)
        inc.count += 1
        inc.last_seen = max(inc.last_seen, now)
        inc.severity = max(inc.severity, severity, key=SEVERITIES.index)
        for h in hosts:
            if h not in inc.hosts and len(inc.hosts) < 64:
                inc.hosts.append(h)
        if len(inc.related) < 64:
            inc.related.append(ev.event_id)
        escalate = False
        for h in hosts if not prefix else ():  # a prediction does not confirm a prediction
            pred = self.predicted.get(h)
            if (
                pred is not None
                and (now - pred[0]).total_seconds() <= self.prediction_ttl_s
                and not inc.escalated
            ):
                escalate = True
        if escalate:
            inc.escalated = True
            inc.severity = _up(inc.severity)
        due = (
            inc.last_emit is None
            or escalate
            or (now - inc.last_emit).total_seconds() >= self.update_every_s
        )
        if not due or (inc.emitted_count == inc.count and not escalate):
            return None
        inc.last_emit = now
        inc.emitted_count = inc.count
        key = base if inc.serial == 1 else f"{base}#{inc.serial}"
        desc = f"{inc.count} event(s) since {inc.first_seen.astimezone(UTC).isoformat()}; hosts: {', '.join(inc.hosts[:8])}"
        if inc.escalated:
            desc += "; escalated: a host the GNN predicted was attacked"
        if prefix:
            desc = f"predicted next target; path: {' -> '.join(hosts)}; " + desc
        return AlertEvent(
            node_id=self.node_id,
            incident_key=key,
            severity=inc.severity,  # type: ignore[arg-type]
            title=f"{'Predicted: ' if prefix else ''}{TITLES.get(family, family)} — {host}",
            description=desc,
            family=family,  # type: ignore[arg-type]
            count=inc.count,
            first_seen=inc.first_seen,
            last_seen=inc.last_seen,
            hosts=inc.hosts[:64],
            escalated=inc.escalated,
            related_ids=inc.related[:64],
        )
