"""Incidents scored against ground truth: what the operator sees, judged attack by attack.

Ground truth comes from a labelled capture (a pcap plus the per-packet labels CSV of
``make_replay_bench.py``: header ``index,label,attack``, one row per packet in pcap order).
For every attack it records the capture-time span of its packets, the attacker(s) (the
hosts that initiate: the sources of TCP SYNs, or of the attack's packets when it has no
SYN) and the target(s) (where the attackers' initiations go). A flood from many sources
none of which dominates is *spoofed*: its attackers are unknown and only naming the target
counts.

:func:`score_incidents` then answers, for the latest version of each incident (by
``incident_key``): which attacks some incident names (attacker or target) while overlapping
the attack in capture time, whether that incident's family is right, the capture time from
the attack's first packet to the first such incident, and which incidents name no host that
took part in any attack (false incidents, also per hour of attack-free capture time).
"""

from __future__ import annotations

import csv
import math
import socket
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from contracts.events import AlertEvent
from models.errors import ModelError
from models.training.captures import DEFAULT_FAMILIES as CAPTURE_FAMILIES

BENIGN = "benign"

DEFAULT_FAMILIES: dict[str, str] = {**CAPTURE_FAMILIES, "synflood": "dos"}
"""Attack name -> family (the contract's ``AttackFamily``); see :func:`family_of` for the
substring fallbacks used for names not listed."""

FAMILY_SUBSTRINGS: tuple[tuple[str, str], ...] = (
    ("botnet", "botnet"),
    ("mirai", "botnet"),
    ("beacon", "botnet"),
    ("scan", "scan"),
    ("sweep", "scan"),
    ("probe", "scan"),
    ("brute", "bruteforce"),
    ("patator", "bruteforce"),
    ("flood", "dos"),
    ("ddos", "dos"),
    ("dos", "dos"),
    ("slowloris", "dos"),
    ("amplification", "dos"),
    ("bot", "botnet"),
    ("sql", "web"),
    ("xss", "web"),
    ("web", "web"),
)

SPOOF_MIN_SOURCES = 32
"""An attack whose initiations come from at least this many sources, none of which sends
``ATTACKER_SHARE`` of them, is a spoofed flood: it has no attacker to name."""
ATTACKER_SHARE = 0.1
"""A host is an attacker when it sends at least this share of the attack's initiations."""
MAX_ATTACKERS = 16

_SYN, _ACK, _TCP = 0x02, 0x10, 6


class GroundTruthError(ModelError):
    """The capture or its labels cannot be read, or they do not match."""


def family_of(name: str, families: Mapping[str, str] | None = None) -> str:
    """The family of an attack name: the mapping first, then substrings, else ``other``."""
    table = DEFAULT_FAMILIES if families is None else families
    if name in table:
        return table[name]
    low = name.lower()
    for part, fam in FAMILY_SUBSTRINGS:
        if part in low:
            return fam
    return "other"


@dataclass(frozen=True)
class AttackTruth:
    name: str
    family: str
    first_ts: float
    last_ts: float
    packets: int
    """Attack packets (flows, for a truth built by :meth:`GroundTruth.from_flows`)."""
    attackers: frozenset[str]
    targets: frozenset[str]
    spoofed: bool = False
    """Many sources, none dominant: ``attackers`` is empty, naming a target is what counts."""
    hosts: frozenset[str] = field(default_factory=frozenset)
    """Every host seen in the attack's packets (attackers, targets, replies, spoofed sources)."""
    first_initiation_ts: float | None = None
    """The attackers' first initiation (SYN, or packet): later than ``first_ts`` when the
    labels cover a host's whole traffic and the attack proper starts later."""


@dataclass(frozen=True)
class GroundTruth:
    attacks: tuple[AttackTruth, ...]
    benign_seconds: float
    """Capture time with no attack packet (for false incidents per hour)."""
    attack_hosts: frozenset[str]
    """Every host that took part in an attack."""
    capture_first_ts: float | None = None
    capture_last_ts: float | None = None
    packets: int = 0

    @classmethod
    def from_capture(
        cls,
        pcap: Path,
        labels: Path,
        families: Mapping[str, str] | None = None,
        start_packet: int = 0,
    ) -> GroundTruth:
        """Build the truth from a pcap and its per-packet labels; packets before
        ``start_packet`` (e.g. an attack-free training prefix) are left out."""
        from edge_agent.capture.errors import CaptureError
        from edge_agent.capture.packet import ParseStats, parse_frame
        from edge_agent.capture.pcap import PcapSource

        if start_packet < 0:
            raise GroundTruthError(f"start_packet must be >= 0, got {start_packet}")
        names = read_labels(Path(labels))
        builder = _Builder(families)
        stats = ParseStats()
        n = 0
        try:
            source = PcapSource(Path(pcap))
            for i, (linktype, ts, wirelen, data) in enumerate(source.frames()):
                n = i + 1
                if i >= len(names):
                    raise GroundTruthError(
                        f"{pcap} has more packets than {labels} has rows ({len(names)})"
                    )
                if i < start_packet:
                    continue
                ends = _endpoints(parse_frame(data, linktype, ts, wirelen, stats))
                builder.add(ts, names[i], ends)
        except CaptureError as exc:
            raise GroundTruthError(str(exc)) from exc
        if n != len(names):
            raise GroundTruthError(f"{pcap} has {n} packets but {labels} has {len(names)} rows")
        return builder.build()

    @classmethod
    def from_packets(
        cls,
        packets: Iterable[tuple[float, str, str | None, str | None, bool]],
        families: Mapping[str, str] | None = None,
    ) -> GroundTruth:
        """Build the truth from ``(ts, attack name or 'benign', src, dst, initiation)``
        tuples (``initiation``: a TCP SYN without ACK). For captures read otherwise, and for
        simulators whose labels are known."""
        builder = _Builder(families)
        for ts, name, src, dst, syn in packets:
            ends = (src, dst, syn) if src is not None and dst is not None else None
            builder.add(ts, name, ends)
        return builder.build()

    @classmethod
    def from_flows(
        cls,
        flows: Iterable[Any],
        families: Mapping[str, str] | None = None,
        per_node: bool = True,
    ) -> GroundTruth:
        """Build the truth from labelled flows (``FlowRecord`` or rows with ``label``,
        ``src_ip``, ``dst_ip``, ``start_ts``, ``end_ts`` and ``node_id``), e.g. the
        simulator's: each flow is one initiation by its source. With ``per_node``, the same
        attack on two sensors is two attacks, named ``label@node`` (the family comes from
        ``label``)."""
        builder = _Builder(families)
        for n, f in enumerate(flows):
            try:
                name = str(_field(f, "label") or BENIGN)
                if name != BENIGN and per_node:
                    name = f"{name}@{_field(f, 'node_id')}"
                src, dst = str(_field(f, "src_ip")), str(_field(f, "dst_ip"))
                start, end = float(_field(f, "start_ts")), float(_field(f, "end_ts"))
            except (AttributeError, KeyError, TypeError, ValueError) as exc:
                raise GroundTruthError(f"flow {n} is not a labelled flow: {exc!r}") from exc
            builder.add(start, name, (src, dst, True))
            builder.add(end, name, None, count=False)
        return builder.build()

    def to_json(self) -> dict[str, Any]:
        return {
            "attacks": [_attack_json(a) for a in self.attacks],
            "benign_seconds": round(self.benign_seconds, 3),
            "attack_hosts": len(self.attack_hosts),
            "capture_first_ts": self.capture_first_ts,
            "capture_last_ts": self.capture_last_ts,
            "packets": self.packets,
        }


def read_labels(path: Path) -> list[str]:
    """The attack name of each packet (``benign`` for benign ones), in pcap order."""
    try:
        f = path.open(newline="")
    except OSError as exc:
        raise GroundTruthError(f"cannot open labels {path}: {exc}") from exc
    try:
        with f:
            return _label_rows(path, csv.DictReader(f))
    except (csv.Error, UnicodeDecodeError) as exc:
        raise GroundTruthError(f"{path}: not a labels CSV: {exc}") from exc


def _label_rows(path: Path, reader: csv.DictReader[str]) -> list[str]:
    cols = set(reader.fieldnames or ())
    if not {"label", "attack"} <= cols:
        raise GroundTruthError(
            f"{path}: expected a header with label and attack columns, got {sorted(cols)}"
        )
    out: list[str] = []
    for row_no, row in enumerate(reader, start=2):
        idx = (row.get("index") or "").strip()
        if idx and idx != str(len(out)):
            raise GroundTruthError(f"{path}:{row_no}: index {idx!r}, expected {len(out)}")
        label = (row.get("label") or "").strip()
        attack = (row.get("attack") or "").strip()
        if label in ("", "0", "benign") and attack in ("", BENIGN):
            out.append(BENIGN)
        else:
            out.append(attack if attack and attack != BENIGN else "attack")
    return out


def _field(row: Any, name: str) -> Any:
    return row[name] if isinstance(row, Mapping) else getattr(row, name)


def _addr(raw: object) -> str | None:
    if isinstance(raw, bytes | bytearray):
        if len(raw) == 4:
            return socket.inet_ntop(socket.AF_INET, bytes(raw))
        if len(raw) == 16:
            return socket.inet_ntop(socket.AF_INET6, bytes(raw))
        return None
    if isinstance(raw, str) and raw:
        return raw
    return None


def _endpoints(pkt: object) -> tuple[str, str, bool] | None:
    """(source, destination, is a TCP SYN) of a parsed IP or ARP packet; None otherwise."""
    if pkt is None:
        return None
    if hasattr(pkt, "src") and hasattr(pkt, "dst"):
        src, dst = _addr(pkt.src), _addr(pkt.dst)
        flags = getattr(pkt, "flags", 0) or 0
        syn = getattr(pkt, "proto", 0) == _TCP and bool(flags & _SYN) and not flags & _ACK
    elif hasattr(pkt, "sender_ip") and hasattr(pkt, "target_ip"):
        src, dst, syn = _addr(pkt.sender_ip), _addr(pkt.target_ip), False
    else:
        return None
    if src is None or dst is None:
        return None
    return src, dst, syn


class _Acc:
    __slots__ = (
        "first",
        "hosts",
        "last",
        "packets",
        "sent",
        "sent_first",
        "sent_to",
        "syn",
        "syn_first",
        "syn_to",
    )

    def __init__(self, ts: float) -> None:
        self.first = self.last = ts
        self.packets = 0
        self.sent: Counter[str] = Counter()
        self.syn: Counter[str] = Counter()
        self.sent_to: dict[str, set[str]] = {}
        self.syn_to: dict[str, set[str]] = {}
        self.sent_first: dict[str, float] = {}
        self.syn_first: dict[str, float] = {}
        self.hosts: set[str] = set()


class _Builder:
    def __init__(self, families: Mapping[str, str] | None) -> None:
        self.families = families
        self.acc: dict[str, _Acc] = {}
        self.first_ts: float | None = None
        self.last_ts: float | None = None
        self.packets = 0

    def add(
        self, ts: float, name: str, ends: tuple[str, str, bool] | None, count: bool = True
    ) -> None:
        self.packets += count
        if math.isfinite(ts):
            self.first_ts = ts if self.first_ts is None else min(self.first_ts, ts)
            self.last_ts = ts if self.last_ts is None else max(self.last_ts, ts)
        if name == BENIGN or not math.isfinite(ts):
            return
        a = self.acc.get(name)
        if a is None:
            a = self.acc[name] = _Acc(ts)
        a.first, a.last = min(a.first, ts), max(a.last, ts)
        a.packets += count
        if ends is None:
            return
        src, dst, syn = ends
        a.hosts.update((src, dst))
        a.sent[src] += 1
        a.sent_to.setdefault(src, set()).add(dst)
        a.sent_first[src] = min(a.sent_first.get(src, ts), ts)
        if syn:
            a.syn[src] += 1
            a.syn_to.setdefault(src, set()).add(dst)
            a.syn_first[src] = min(a.syn_first.get(src, ts), ts)

    def build(self) -> GroundTruth:
        attacks = sorted(
            (self._attack(name, a) for name, a in self.acc.items()),
            key=lambda t: (t.first_ts, t.name),
        )
        span = 0.0
        if self.first_ts is not None and self.last_ts is not None:
            span = self.last_ts - self.first_ts
        benign = max(0.0, span - _union_length([(t.first_ts, t.last_ts) for t in attacks]))
        hosts: set[str] = set()
        for t in attacks:
            hosts |= t.hosts
        return GroundTruth(
            attacks=tuple(attacks),
            benign_seconds=benign,
            attack_hosts=frozenset(hosts),
            capture_first_ts=self.first_ts,
            capture_last_ts=self.last_ts,
            packets=self.packets,
        )

    def _attack(self, name: str, a: _Acc) -> AttackTruth:
        init, init_to, init_first = (
            (a.syn, a.syn_to, a.syn_first) if a.syn else (a.sent, a.sent_to, a.sent_first)
        )
        total = sum(init.values())
        attackers = [
            h for h, c in init.most_common(MAX_ATTACKERS) if total and c >= ATTACKER_SHARE * total
        ]
        spoofed = False
        if not attackers and len(init) >= SPOOF_MIN_SOURCES:
            spoofed = True  # many sources, none dominant: the sources are not the attacker
        elif not attackers and init:
            attackers = [h for h, _ in init.most_common(MAX_ATTACKERS)]  # few, none dominant
        if attackers:
            targets = set().union(*(init_to[h] for h in attackers)) - set(attackers)
        else:
            targets = set().union(*init_to.values()) if init_to else set()
        firsts = [init_first[h] for h in (attackers or init_first)]
        return AttackTruth(
            name=name,
            family=family_of(name.split("@", 1)[0], self.families),
            first_ts=a.first,
            last_ts=a.last,
            packets=a.packets,
            attackers=frozenset(attackers),
            targets=frozenset(targets),
            spoofed=spoofed,
            hosts=frozenset(a.hosts),
            first_initiation_ts=min(firsts) if firsts else None,
        )


def _union_length(spans: Sequence[tuple[float, float]]) -> float:
    total, cur_lo, cur_hi = 0.0, None, None
    for lo, hi in sorted(spans):
        if cur_hi is None or cur_lo is None or lo > cur_hi:
            if cur_hi is not None and cur_lo is not None:
                total += cur_hi - cur_lo
            cur_lo, cur_hi = lo, hi
        else:
            cur_hi = max(cur_hi, hi)
    if cur_hi is not None and cur_lo is not None:
        total += cur_hi - cur_lo
    return total


def _attack_json(a: AttackTruth, limit: int = 16) -> dict[str, Any]:
    return {
        "name": a.name,
        "family": a.family,
        "first_ts": a.first_ts,
        "first_initiation_ts": a.first_initiation_ts,
        "last_ts": a.last_ts,
        "duration_s": round(a.last_ts - a.first_ts, 3),
        "packets": a.packets,
        "attackers": sorted(a.attackers),
        "spoofed": a.spoofed,
        "targets": sorted(a.targets)[:limit],
        "n_targets": len(a.targets),
    }


# ---------------------------------------------------------------- scoring


def latest_incidents(incidents: Iterable[AlertEvent]) -> list[AlertEvent]:
    """The latest version of each ``incident_key`` (by ``ts``; ties: the later one given),
    in order of first appearance."""
    best: dict[str, tuple[tuple[float, int], AlertEvent]] = {}
    for pos, inc in enumerate(incidents):
        rank = (inc.ts.timestamp(), pos)
        cur = best.get(inc.incident_key)
        if cur is None or rank >= cur[0]:
            best[inc.incident_key] = (rank, inc)
    return [v[1] for v in best.values()]


def incident_hosts(inc: AlertEvent) -> set[str]:
    return set(inc.hosts) | set(inc.attackers) | set(inc.targets)


def _window(inc: AlertEvent) -> tuple[float, float] | None:
    lo, hi = inc.event_first_ts, inc.event_last_ts
    if lo is None and hi is None:
        return None
    lo = hi if lo is None else lo
    hi = lo if hi is None else hi
    assert lo is not None and hi is not None
    return (min(lo, hi), max(lo, hi))


def _names(inc: AlertEvent, atk: AttackTruth) -> bool:
    return bool(incident_hosts(inc) & (atk.attackers | atk.targets))


def _overlaps(win: tuple[float, float] | None, atk: AttackTruth, slack_s: float) -> bool:
    return win is not None and win[0] <= atk.last_ts + slack_s and win[1] >= atk.first_ts - slack_s


def percentile(values: Sequence[float], q: float) -> float | None:
    """Linear-interpolated percentile (``q`` in 0..100); None for no values."""
    if not values:
        return None
    xs = sorted(values)
    pos = (len(xs) - 1) * q / 100.0
    lo = math.floor(pos)
    hi = min(lo + 1, len(xs) - 1)
    return xs[lo] + (xs[hi] - xs[lo]) * (pos - lo)


def _r(x: float | None, nd: int = 3) -> float | None:
    return None if x is None else round(x, nd)


def _opened(inc: AlertEvent, win: tuple[float, float] | None) -> float:
    """When the incident could first be raised, in event (capture) time: the event time of
    the detection that opened it (``evidence.opened_ts``, set by the hub's alerting), else
    the start of its window (earlier: detections that waited for corroboration are in it)."""
    opened = inc.evidence.get("opened_ts")
    if isinstance(opened, int | float) and not isinstance(opened, bool):
        return float(opened)
    return win[0] if win is not None else math.inf


def score_incidents(
    incidents: Sequence[AlertEvent], truth: GroundTruth, slack_s: float = 60.0
) -> dict[str, Any]:
    """Score incidents (any number of versions per key; the latest counts) against truth.

    An incident *matches* an attack when it names one of the attack's attackers or targets
    (in ``hosts``, ``attackers`` or ``targets``) and its capture-time window
    ``event_first_ts..event_last_ts`` overlaps the attack's span widened by ``slack_s``.
    An incident is *false* when it is tied to no attack: none of its hosts took part in an
    attack whose span (widened by ``slack_s``) it overlaps. (Merged captures reuse addresses:
    a benign host can share its address with an attack's host from another capture; an
    incident about it days away from that attack is still false. The host-only count, no
    host of any attack at any time, is ``incidents_false_hosts_only``.) An incident that
    names an attack's host in time but not its attacker or target (a reply host, a spoofed
    source) is *related*, neither matched nor false. Time to alert:
    from the attack's first packet to when the earliest matching incident was opened
    (``evidence.opened_ts``: the event time of its opening detection; else its
    ``event_first_ts``), 0 when that was earlier, inside the slack. Returns a JSON-ready dict.
    """
    latest = latest_incidents(incidents)
    wins = {inc.incident_key: _window(inc) for inc in latest}
    matches: dict[str, list[str]] = {inc.incident_key: [] for inc in latest}
    per_attack: list[dict[str, Any]] = []
    ttas: list[float] = []
    ttas_init: list[float] = []
    for atk in truth.attacks:
        named = [inc for inc in latest if _names(inc, atk)]
        hits = [inc for inc in named if _overlaps(wins[inc.incident_key], atk, slack_s)]
        for inc in hits:
            matches[inc.incident_key].append(atk.name)
        row: dict[str, Any] = _attack_json(atk)
        row.update(
            found=bool(hits),
            named_at_any_time=bool(named),
            family_right=any(inc.family == atk.family for inc in hits),
            incidents=len(hits),
            incident_families=sorted({inc.family for inc in hits}),
            first_incident=None,
            time_to_alert_s=None,
            time_from_initiation_s=None,
            named_attacker=any(set(inc.attackers) & atk.attackers for inc in hits),
            named_target=any(set(inc.targets) & atk.targets for inc in hits),
        )
        if hits:
            first = min(hits, key=lambda i: _opened(i, wins[i.incident_key]))
            opened = _opened(first, wins[first.incident_key])
            tta = max(0.0, opened - atk.first_ts)
            ttas.append(tta)
            init = atk.first_initiation_ts if atk.first_initiation_ts is not None else atk.first_ts
            tti = max(0.0, opened - init)
            ttas_init.append(tti)
            row.update(
                first_incident=first.incident_key,
                first_incident_family=first.family,
                time_to_alert_s=round(tta, 3),
                time_from_initiation_s=round(tti, 3),
            )
        per_attack.append(row)

    table: list[dict[str, Any]] = []
    n_false = n_false_hosts = n_related = n_no_time = 0
    for inc in latest:
        hosts = incident_hosts(inc)
        win = wins[inc.incident_key]
        if win is None:
            n_no_time += 1
        in_time = [a for a in truth.attacks if win is None or _overlaps(win, a, slack_s)]
        hosts_only_false = not hosts & truth.attack_hosts
        n_false_hosts += hosts_only_false
        if matches[inc.incident_key]:
            verdict = ",".join(matches[inc.incident_key])
        elif any(hosts & a.hosts for a in in_time):
            verdict = "related"  # a host of an attack at its time, not its attacker/target
            n_related += 1
        else:
            verdict = "false"
            n_false += 1
        table.append(
            {
                "key": inc.incident_key,
                "title": inc.title,
                "family": inc.family,
                "severity": inc.severity,
                "count": inc.count,
                "attackers": list(inc.attackers),
                "targets": list(inc.targets)[:8],
                "hosts": len(hosts),
                "detectors": list(inc.detectors),
                "event_first_ts": inc.event_first_ts,
                "event_last_ts": inc.event_last_ts,
                "matched": verdict,
                "no_attack_host": hosts_only_false,
            }
        )

    found = sum(1 for r in per_attack if r["found"])
    hours = truth.benign_seconds / 3600.0
    return {
        "summary": {
            "attacks": len(truth.attacks),
            "attacks_found": found,
            "attacks_family_right": sum(1 for r in per_attack if r["family_right"]),
            "attacks_first_incident_family_right": sum(
                1 for r in per_attack if r.get("first_incident_family") == r["family"]
            ),
            "attacks_named_at_any_time": sum(1 for r in per_attack if r["named_at_any_time"]),
            "incidents": len(latest),
            "incident_versions": len(incidents),
            "incidents_matched": sum(
                1 for r in table if r["matched"] not in ("false", "unmatched")
            ),
            "incidents_related": n_related,
            "incidents_false": n_false,
            "incidents_false_hosts_only": n_false_hosts,
            "incidents_without_event_time": n_no_time,
            "benign_hours": round(hours, 4),
            "false_per_benign_hour": _r(n_false / hours, 4) if hours > 0 else None,
            "time_to_alert_p50_s": _r(percentile(ttas, 50)),
            "time_to_alert_p95_s": _r(percentile(ttas, 95)),
            "incidents_per_found_attack_max": max(
                (r["incidents"] for r in per_attack if r["found"]), default=0
            ),
            "time_to_alert_max_s": _r(max(ttas)) if ttas else None,
            "time_from_initiation_p50_s": _r(percentile(ttas_init, 50)),
            "time_from_initiation_p95_s": _r(percentile(ttas_init, 95)),
            "slack_s": slack_s,
        },
        "attacks": per_attack,
        "incidents": table,
    }
