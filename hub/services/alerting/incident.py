"""One incident's state (bounded lists, distinct counts) and how it reads to an operator."""

from __future__ import annotations

import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime

from contracts.attack import incident_techniques
from contracts.events import SEVERITIES, AlertEvent, EvidenceValue
from hub.services.alerting.policy import Detection, Distinct, Role, named, sev_index

MAX_NAMED = 16
MAX_HOSTS = 64
MAX_RELATED = 64
MAX_PORTS_TRACKED = 256
NAME_SOURCES_MAX = 8
"""A target's incident lists its sources by name up to this many; past it, "N sources"."""
DOS_KIND = {
    "syn_flood": "SYN flood",
    "udp_flood": "UDP flood",
    "amplification": "Amplification flood",
    "amplification_ratio": "Amplification abuse",
    "reflection_flood": "Reflection flood",
    "slow_http": "Slow HTTP attack",
    "land_attack": "LAND attack",
}
NOT_PEAKS = frozenset({"suppressed_hits", "dst_port", "src_port", "proto", "window"})
"""Numeric evidence that is an identifier or a setting, not a measure worth a peak."""
SERVICE = {21: "FTP", 22: "SSH", 23: "Telnet", 2323: "Telnet", 3389: "RDP", 5900: "VNC"}
FAMILY_WORD = {
    "dos": "Denial of service",
    "scan": "Port scan",
    "bruteforce": "Brute force",
    "botnet": "Botnet activity",
    "web": "Web attack",
    "other": "Unusual traffic",
}


def _n(x: int, mark: str = "") -> str:
    """``mark``: "" exact, "~" estimated, "≥" at least (a rule's window counted that many)."""
    return f"{mark}{x:,}"


def _plural(x: int, word: str, mark: str = "") -> str:
    return f"{_n(x, mark)} {word}{'' if x == 1 else 's'}"


def _iso(t: float | None) -> str:
    return "?" if t is None else datetime.fromtimestamp(t, UTC).isoformat(timespec="seconds")


@dataclass
class Incident:
    base: str
    """The key without its serial: ``{prefix}{family}:{host}`` (or ``...:to:`` / ``...:from:``)."""
    serial: int
    family: str
    role: Role
    subject: str
    severity: str
    t_first: float
    t_last: float
    wall_first: datetime
    wall_last: datetime
    opened_ts: float = 0.0
    """Event time of the detection that opened the incident (``t_first`` may be earlier:
    waiting detections it took in)."""
    prefix: str = ""
    count: int = 0
    attackers: list[str] = field(default_factory=list)
    targets: list[str] = field(default_factory=list)
    hosts: list[str] = field(default_factory=list)
    detectors: list[str] = field(default_factory=list)
    rule_ids: list[str] = field(default_factory=list)
    nodes: list[str] = field(default_factory=list)
    techniques: list[str] = field(default_factory=list)
    related: list[uuid.UUID] = field(default_factory=list)
    sources: Distinct = field(default_factory=Distinct)
    dests: Distinct = field(default_factory=Distinct)
    ports: Counter[int] = field(default_factory=Counter)
    port_count: Distinct = field(default_factory=Distinct)
    hits: int = 0
    peaks: dict[str, float] = field(default_factory=dict)
    top_score: float | None = None
    top_detector: str | None = None
    classified: tuple[str, float] | None = None
    escalated: bool = False
    path: list[str] = field(default_factory=list)
    probability: float | None = None
    aliases: list[tuple[str, str, str]] = field(default_factory=list)
    # emission bookkeeping
    touched: float = 0.0
    last_emit: float | None = None
    emitted_count: int = 0
    emitted_sig: tuple[object, ...] | None = None

    @property
    def key(self) -> str:
        return self.base if self.serial == 1 else f"{self.base}#{self.serial}"

    def _name(self, lst: list[str], host: str | None, cap: int) -> None:
        if host and host not in lst and len(lst) < cap:
            lst.append(host)

    def add(self, d: Detection, primary: bool) -> None:
        """Folds a detection in. A primary one (this incident's own family and subject), or one
        about its subject in its role, moves the event-time window; evidence that only shares a
        host with it (another role) adds to the evidence, not to the window."""
        self.count += 1
        about = d.dst == self.subject if self.role == "target" else d.src == self.subject
        if primary or about or not named(self.family):
            self.t_first = min(self.t_first, d.t)
            self.t_last = max(self.t_last, d.t)
        self.wall_first = min(self.wall_first, d.wall)
        self.wall_last = max(self.wall_last, d.wall)
        if primary and sev_index(d.severity) > sev_index(self.severity):
            self.severity = d.severity
        self._name(self.detectors, d.detector, 8)
        if d.rule_id:
            self._name(self.rule_ids, d.rule_id, MAX_NAMED)
        if d.node != "hub":
            self._name(self.nodes, d.node, MAX_NAMED)
        for tid in d.techniques if primary else ():
            self._name(self.techniques, tid, 8)
        if len(self.related) < MAX_RELATED:
            self.related.append(d.event_id)
        # distinct hosts and ports relative to the subject: a detection attached as evidence
        # still tells how many sources hit the target (or how many hosts the attacker touched)
        if primary or about:
            if d.src and (self.role == "attacker" or d.src != self.subject):
                self.sources.add(d.src)
            if d.dst and (self.role == "target" or d.dst != self.subject):
                self.dests.add(d.dst)
            if d.dst_port is not None:
                self.port_count.add(str(d.dst_port))
                if d.dst_port in self.ports or len(self.ports) < MAX_PORTS_TRACKED:
                    self.ports[d.dst_port] += 1
        # names: a target's sources only from its own family's detections (an unsupervised
        # vote on a client of a flooded server does not make it an attacker); an attacker's
        # targets from anything it sent that was flagged
        if primary or (about and self.role == "attacker"):
            if self.role == "target":
                self._name(self.targets, self.subject, MAX_NAMED)
                if d.src and d.src != self.subject:
                    self._name(self.attackers, d.src, NAME_SOURCES_MAX + 1)
            else:
                self._name(self.attackers, self.subject, MAX_NAMED)
                if d.dst and d.dst != self.subject:
                    self._name(self.targets, d.dst, MAX_NAMED)
            for h in (self.subject, d.src, d.dst):
                if self.role == "target" and h == d.src and len(self.sources) > NAME_SOURCES_MAX:
                    continue  # a flood's (spoofed) sources are counted, not listed
                self._name(self.hosts, h, MAX_HOSTS)
        hits = d.evidence.get("suppressed_hits")
        self.hits += 1 + (int(hits) if isinstance(hits, int | float) and hits > 0 else 0)
        for k, v in d.evidence.items() if primary or about else ():
            number = isinstance(v, int | float) and not isinstance(v, bool)
            if number and k not in NOT_PEAKS and (k in self.peaks or len(self.peaks) < 8):
                self.peaks[k] = max(self.peaks.get(k, float(v)), float(v))  # type: ignore[arg-type]
        if d.score is not None and d.detector != "classifier":
            ratio = d.score / d.threshold if d.threshold else d.score
            if self.top_score is None or ratio > self.top_score:
                self.top_score, self.top_detector = ratio, d.detector
        better = self.classified is None or (d.confidence or 0.0) >= self.classified[1]
        if d.confidence is not None and d.family and named(d.family) and better:
            self.classified = (d.family, d.confidence)

    # --- what the operator reads --------------------------------------------------------

    def _count(self, which: str) -> tuple[int, str]:
        """Distinct sources / hosts / ports seen, at least what a rule's window counted."""
        got, peak = {
            "sources": (self.sources, "dst_fanin_hosts"),
            "hosts": (self.dests, "src_fanout_hosts"),
            "ports": (self.port_count, "src_distinct_dst_ports"),
        }[which]
        n = len(got)
        floor = int(self.peaks.get(peak, 0))
        if floor > n:
            return floor, "≥"
        return n, "" if got.is_exact else "~"

    def _sources_text(self) -> str:
        n, mark = self._count("sources")
        if n <= NAME_SOURCES_MAX and not mark:
            names = [a for a in self.attackers if a != self.subject]
            return ", ".join(names) if names else "unknown sources"
        return _plural(n, "source", mark)

    def named_attackers(self) -> list[str]:
        if self.role == "target" and self._count("sources")[0] > NAME_SOURCES_MAX:
            return []  # spoofed or distributed: the count says it, names would mislead
        return self.attackers[:MAX_NAMED]

    def _top_port(self) -> int | None:
        return self.ports.most_common(1)[0][0] if self.ports else None

    def title(self) -> str:
        fam, subj = self.family, self.subject
        hosts, hosts_exact = self._count("hosts")
        ports, ports_exact = self._count("ports")
        if self.prefix:
            p = f" (p={self.probability:.2f})" if self.probability is not None else ""
            what = FAMILY_WORD.get(fam, fam).lower()
            if self.role == "attacker":
                nxt = ", ".join(self.targets[:3]) + (" ..." if len(self.targets) > 3 else "")
                return f"Predicted: {what} from {subj} next at {nxt}{p}"
            return f"Predicted: {what} next at {subj}{p}"
        if self.role == "target":
            if fam == "dos":
                kind = next((DOS_KIND[r] for r in self.rule_ids if r in DOS_KIND), None)
                kind = kind or "Denial of service"
                return f"{kind} against {subj} from {self._sources_text()}"
            word = FAMILY_WORD.get(fam, fam)
            return f"{word} against {subj} from {self._sources_text()}"
        if fam == "scan" and "arp_scan" in self.rule_ids:
            n = self.peaks.get("distinct_targets")
            return f"ARP scan by {subj}" + (f": {int(n):,}+ addresses asked for" if n else "")
        if fam == "scan" and (set(self.ports) == {0} or "icmp_sweep" in self.rule_ids):
            return f"Ping sweep by {subj}: {_plural(hosts, 'host', hosts_exact)}"
        if fam == "scan":
            return (
                f"Port scan by {subj}: {_plural(ports, 'port', ports_exact)} on "
                f"{_plural(hosts, 'host', hosts_exact)}"
            )
        if fam == "botnet" and "telnet_scan" in self.rule_ids:
            return f"Telnet scanning by {subj}: {_plural(hosts, 'host', hosts_exact)}"
        if fam == "bruteforce":
            port = self._top_port()
            svc = SERVICE.get(port or -1, "Login")
            if hosts == 1 and self.targets:
                return f"{svc} brute force {subj} -> {self.targets[0]}:{port}"
            return f"{svc} brute force by {subj} against {_plural(hosts, 'host')}"
        if fam == "botnet" and "beaconing" in self.rule_ids and self.targets:
            return f"Beaconing from {subj} to {self.targets[0]}:{self._top_port()}"
        word = FAMILY_WORD.get(fam, fam)
        if fam == "other" and "arp_spoof" in self.rule_ids:
            return f"ARP spoofing: the address {subj} claimed by another MAC"
        if fam == "other":
            return f"{word} from {subj} ({' + '.join(self.detectors)} agree)"
        return f"{word} by {subj}: {_plural(hosts, 'host', hosts_exact)}"

    def evidence(self) -> dict[str, EvidenceValue]:
        ev: dict[str, EvidenceValue] = {
            "detections": self.count,
            "hits": self.hits,
            "sources": self._count("sources")[0],
            "targets": self._count("hosts")[0],
            "ports": self._count("ports")[0],
            "counts_exact": not any(self._count(w)[1] for w in ("sources", "hosts", "ports")),
        }
        if self.ports:
            ev["top_ports"] = ",".join(str(p) for p, _ in self.ports.most_common(5))
        if self.top_score is not None:
            ev["top_score_ratio"] = round(self.top_score, 4)
            ev["top_score_detector"] = self.top_detector
        if self.classified is not None:
            ev["classified_family"], conf = self.classified
            ev["classifier_confidence"] = round(conf, 4)
        span = self.t_last - self.t_first
        ev["duration_s"] = round(span, 3)
        ev["opened_ts"] = self.opened_ts  # event time of the detection that opened it
        for k, v in list(self.peaks.items())[:8]:
            ev[f"peak_{k}"[:64]] = round(v, 4)
        return ev

    def description(self) -> str:
        parts = [
            f"{self.count:,} detection(s) ({self.hits:,} hits) by {', '.join(self.detectors)}"
            + (f" on {', '.join(self.nodes)}" if self.nodes else ""),
            f"event time {_iso(self.t_first)} .. {_iso(self.t_last)}"
            f" ({self.t_last - self.t_first:.1f} s)",
            f"sources: {_n(*self._count('sources'))}"
            + (f" ({', '.join(self.named_attackers()[:8])})" if self.named_attackers() else ""),
            f"targets: {_n(*self._count('hosts'))}"
            + (f" ({', '.join(self.targets[:8])})" if self.targets else ""),
        ]
        if self.ports:
            top = ", ".join(f"{p} ({c:,})" for p, c in self.ports.most_common(5))
            parts.append(f"ports: {_n(*self._count('ports'))}; top {top}")
        if self.rule_ids:
            parts.append(f"rules: {', '.join(self.rule_ids)}")
        if self.top_score is not None:
            parts.append(f"top score {self.top_score:.2f}x threshold ({self.top_detector})")
        if self.classified is not None:
            parts.append(f"classifier: {self.classified[0]} ({self.classified[1]:.2f})")
        if self.escalated:
            parts.append("escalated: a host the GNN predicted was attacked")
        if self.prefix:
            parts.insert(0, f"predicted next target; path: {' -> '.join(self.path)}")
        return "; ".join(parts)[:2000]

    def signature(self) -> tuple[object, ...]:
        """What makes an update worth sending at once (counts alone wait)."""
        return (
            self.family,
            self.severity,
            self.escalated,
            tuple(self.detectors),
            tuple(self.named_attackers()),
            self.targets[:1],
        )

    def _hosts(self) -> list[str]:
        if self.role == "target" and not self.named_attackers():
            spoofed = set(self.attackers)
            return [h for h in self.hosts if h not in spoofed][:MAX_HOSTS]
        return self.hosts[:MAX_HOSTS]

    def to_alert(self, node_id: str) -> AlertEvent:
        return AlertEvent(
            node_id=node_id,
            incident_key=self.key,
            severity=self.severity,  # type: ignore[arg-type]
            title=self.title()[:200],
            description=self.description(),
            family=self.family,  # type: ignore[arg-type]
            count=max(self.count, 1),
            first_seen=self.wall_first,
            last_seen=self.wall_last,
            hosts=self._hosts(),
            escalated=self.escalated,
            related_ids=self.related[:MAX_RELATED],
            attackers=self.named_attackers(),
            targets=self.targets[:MAX_NAMED],
            detectors=self.detectors[:8],
            rule_ids=self.rule_ids[:MAX_NAMED],
            nodes=self.nodes[:MAX_NAMED],
            techniques=incident_techniques(self.family, self.rule_ids, self.techniques),
            evidence=self.evidence(),
            event_first_ts=max(self.t_first, 0.0),
            event_last_ts=max(self.t_last, 0.0),
        )


def up(sev: str) -> str:
    return SEVERITIES[min(sev_index(sev) + 1, len(SEVERITIES) - 1)]
