"""fednids events as Suricata EVE JSON records (``eve.json``, one object a line).

Written to Suricata's own schema (``etc/schema.json`` in OISF/suricata): its top level admits
no unknown key, so fednids' own fields go where the schema leaves room: an alert's
``alert.context.fednids`` (incident key, detectors, family, nodes, score...) and ATT&CK ids in
``alert.metadata`` the way Emerging Threats rules carry them (``mitre_technique_id``...);
a flow's node and flow id in ``metadata.flowvars``. The sensor's node id is EVE's ``host``
(Suricata's sensor-name). An incident is one ``alert`` record; a flow is one ``flow`` record
plus one ``dns`` / ``tls`` / ``http`` / ``ssh`` record per application protocol seen on it.
"""

from __future__ import annotations

import hashlib
import zlib
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from contracts.attack import technique_name, technique_tactic
from contracts.events import AlertEvent, AnomalyEvent, EventBase, FlowRecord
from contracts.features import FEATURE_INDEX

SID_BASE = 9_000_000
"""fednids' signature ids lie in 9,000,000..9,999,999 (ET uses 2,000,000..2,999,999)."""
PROTO = {
    1: "ICMP",
    2: "IGMP",
    6: "TCP",
    17: "UDP",
    47: "GRE",
    50: "ESP",
    58: "IPv6-ICMP",
    132: "SCTP",
}
"""Suricata's names for IP protocols (others: the number as a string, as Suricata writes)."""
SEVERITY = {"critical": 1, "high": 1, "medium": 2, "low": 3, "info": 3}
"""Suricata's alert severity: 1 is the most severe, 3 the least."""
CATEGORY = {
    "dos": "Attempted Denial of Service",
    "scan": "Detection of a Network Scan",
    "bruteforce": "Attempted User Privilege Gain",
    "botnet": "A Network Trojan was detected",
    "web": "Web Application Attack",
    "other": "Potentially Bad Traffic",
    "benign": "Not Suspicious Traffic",
}
"""Suricata classification (``classification.config``) descriptions by attack family."""
FAMILY_WORD = {
    "dos": "Denial of service",
    "scan": "Network scan",
    "bruteforce": "Brute force",
    "botnet": "Botnet activity",
    "web": "Web attack",
    "other": "Unusual traffic",
    "benign": "Benign",
}
FLOW_STATE = {"fin": "closed", "rst": "closed", "idle": "established", "active": "established"}
FLOW_REASON = {"evicted": "forced", "flush": "shutdown"}


def suricata_time(t: float | datetime) -> str:
    """``2026-12-01T14:13:30.123456+0000``: Suricata's timestamp format, in UTC."""
    dt = t if isinstance(t, datetime) else datetime.fromtimestamp(t, UTC)
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f+0000")


def flow_id_int(node_id: str, flow_id: str) -> int:
    """A stable positive int64 for a (node, flow id) pair: the same flow, the same number."""
    digest = hashlib.sha256(f"{node_id}\x00{flow_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") & 0x7FFF_FFFF_FFFF_FFFF


def signature_id(key: str) -> int:
    """A stable sid for a rule id, detector or family name, in fednids' range."""
    return SID_BASE + zlib.crc32(key.encode()) % 1_000_000


def proto_name(proto: int) -> str:
    return PROTO.get(proto, str(proto))


def _attack_metadata(techniques: list[str], severity: str) -> dict[str, list[str]]:
    meta: dict[str, list[str]] = {"signature_severity": [severity.capitalize()]}
    if techniques:
        meta["mitre_technique_id"] = list(techniques)
        meta["mitre_technique_name"] = [technique_name(t) for t in techniques]
        tactics = [technique_tactic(t) for t in techniques if technique_tactic(t)]
        meta["mitre_tactic_name"] = list(dict.fromkeys(tactics))
    return meta


def _top_port(a: AlertEvent) -> int | None:
    raw = a.evidence.get("top_ports")
    first = str(raw).split(",", 1)[0] if raw is not None else ""
    return int(first) if first.isdigit() and int(first) <= 65535 else None


def alert_record(a: AlertEvent) -> dict[str, Any]:
    """One incident (its latest version) as an EVE ``alert``."""
    rule = a.rule_ids[0] if a.rule_ids else None
    t = a.event_first_ts if a.event_first_ts is not None else a.first_seen
    rec: dict[str, Any] = {"timestamp": suricata_time(t), "event_type": "alert", "host": a.node_id}
    if a.attackers:
        rec["src_ip"] = a.attackers[0]
    if a.targets:
        rec["dest_ip"] = a.targets[0]
        port = _top_port(a)
        if port is not None:
            rec["dest_port"] = port
    context = {
        "incident_key": a.incident_key,
        "event_id": str(a.event_id),
        "title": a.title,
        "family": a.family,
        "status": a.status,
        "severity": a.severity,
        "count": a.count,
        "detectors": list(a.detectors),
        "rule_ids": list(a.rule_ids),
        "nodes": list(a.nodes),
        "attackers": list(a.attackers),
        "targets": list(a.targets),
        "score": a.evidence.get("top_score_ratio"),
        "first_seen": suricata_time(a.first_seen),
        "last_seen": suricata_time(a.last_seen),
        "escalated": a.escalated,
    }
    rec["alert"] = {
        "action": "allowed",
        "gid": 1,
        "signature_id": signature_id(f"incident:{a.family}:{rule or ''}"),
        "rev": 1,
        "signature": f"FEDNIDS {FAMILY_WORD.get(a.family, a.family)}"
        + (f" ({rule})" if rule else ""),
        "category": CATEGORY.get(a.family, CATEGORY["other"]),
        "severity": SEVERITY[a.severity],
        "metadata": _attack_metadata(list(a.techniques), a.severity),
        "context": {"fednids": context},
    }
    return rec


def anomaly_record(ev: AnomalyEvent) -> dict[str, Any]:
    """One detector verdict as an EVE ``alert`` (its flow's ids when it is about one flow)."""
    name = ev.rule_id or ev.detector
    t = ev.window_end if ev.window_end is not None else ev.ts
    rec: dict[str, Any] = {"timestamp": suricata_time(t), "event_type": "alert", "host": ev.node_id}
    if ev.flow_id:
        rec["flow_id"] = flow_id_int(ev.node_id, ev.flow_id)
    if ev.community_id:
        rec["community_id"] = ev.community_id
    for key, value in (("src_ip", ev.src_ip), ("dest_ip", ev.dst_ip), ("dest_port", ev.dst_port)):
        if value is not None:
            rec[key] = value
    proto = ev.evidence.get("proto")
    if isinstance(proto, int) and not isinstance(proto, bool) and 0 <= proto <= 255:
        rec["proto"] = proto_name(proto)
    family = ev.family or "other"
    rec["alert"] = {
        "action": "allowed",
        "gid": 1,
        "signature_id": signature_id(f"{ev.detector}:{name}"),
        "rev": 1,
        "signature": f"FEDNIDS {ev.detector} {name}",
        "category": CATEGORY.get(family, CATEGORY["other"]),
        "severity": SEVERITY[ev.severity],
        "metadata": _attack_metadata(list(ev.techniques), ev.severity),
        "context": {
            "fednids": {
                "event_id": str(ev.event_id),
                "detector": ev.detector,
                "rule_id": ev.rule_id,
                "family": ev.family,
                "score": ev.score,
                "threshold": ev.threshold,
                "flow_id": ev.flow_id,
                "model_version": ev.model_version,
            }
        },
    }
    return rec


def _flow_base(
    node: str, flow: str, src: str, dst: str, sport: int, dport: int, proto: int
) -> dict[str, Any]:
    return {
        "flow_id": flow_id_int(node, flow),
        "host": node,
        "src_ip": src,
        "src_port": sport,
        "dest_ip": dst,
        "dest_port": dport,
        "proto": proto_name(proto),
        "metadata": {
            "flowvars": [
                {"key": "fednids_node", "value": node},
                {"key": "fednids_flow_id", "value": flow},
            ]
        },
    }


def _app_proto(rec: FlowRecord) -> str | None:
    for name in ("dns", "tls", "http", "ssh"):
        if getattr(rec, name, None) is not None:
            return name
    return None


def flow_records(rec: FlowRecord) -> list[dict[str, Any]]:
    """A finished flow as an EVE ``flow`` record and one record per application protocol."""
    base = _flow_base(
        rec.node_id, rec.flow_id, rec.src_ip, rec.dst_ip, rec.src_port, rec.dst_port, rec.proto
    )
    community = getattr(rec, "community_id", None)
    if community:
        base["community_id"] = community
    f = rec.features
    flow = {
        "pkts_toserver": int(f[FEATURE_INDEX["fwd_packets"]]),
        "pkts_toclient": int(f[FEATURE_INDEX["bwd_packets"]]),
        "bytes_toserver": int(f[FEATURE_INDEX["fwd_bytes"]]),
        "bytes_toclient": int(f[FEATURE_INDEX["bwd_bytes"]]),
        "start": suricata_time(rec.start_ts),
        "end": suricata_time(rec.end_ts),
        "age": int(rec.end_ts - rec.start_ts),
        "state": FLOW_STATE.get(rec.end_reason, "established"),
        "reason": FLOW_REASON.get(rec.end_reason, "timeout"),
        "alerted": False,
    }
    app = _app_proto(rec)
    out = [{"timestamp": suricata_time(rec.end_ts), "event_type": "flow", **base, "flow": flow}]
    if app is not None:
        out[0]["app_proto"] = app
    out.extend(app_records(rec, base))
    return out


def app_records(rec: FlowRecord, base: Mapping[str, Any]) -> list[dict[str, Any]]:
    """EVE ``dns`` (v3: the request and, when seen, the response), ``tls``, ``http``, ``ssh``."""
    t = suricata_time(rec.start_ts)
    out: list[dict[str, Any]] = []
    dns, tls, http, ssh = (getattr(rec, n, None) for n in ("dns", "tls", "http", "ssh"))
    if dns is not None:
        query = [{"rrname": dns.rrname, "rrtype": dns.rrtype}]
        out.append(
            {
                "timestamp": t,
                "event_type": "dns",
                **base,
                "dns": {"version": 3, "type": "request", "queries": query},
            }
        )
        if dns.rcode is not None:
            answer: dict[str, Any] = {
                "version": 3,
                "type": "response",
                "queries": query,
                "rcode": dns.rcode,
            }
            if dns.answers:
                answer["answers"] = [
                    {"rrname": dns.rrname, "rrtype": a.rrtype, "rdata": a.rdata}
                    for a in dns.answers
                ]
            out.append({"timestamp": t, "event_type": "dns", **base, "dns": answer})
    if tls is not None:
        body: dict[str, Any] = {"version": tls.version, "ja4": tls.ja4}
        if tls.sni:
            body["sni"] = tls.sni
        if tls.alpn:
            body["client_alpns"] = list(tls.alpn)
        out.append({"timestamp": t, "event_type": "tls", **base, "tls": body})
    if http is not None:
        req = {k: v for k, v in http.model_dump().items() if v is not None}
        out.append({"timestamp": t, "event_type": "http", **base, "http": req})
    if ssh is not None:
        sides = {s: _ssh_side(getattr(ssh, s)) for s in ("client", "server") if getattr(ssh, s)}
        out.append({"timestamp": t, "event_type": "ssh", **base, "ssh": sides})
    return out


def _ssh_side(banner: str) -> dict[str, str]:
    """``SSH-2.0-OpenSSH_9.6 comment`` -> proto_version 2.0, software_version OpenSSH_9.6."""
    parts = banner.split("-", 2)
    if len(parts) < 3 or parts[0] != "SSH":
        return {"software_version": banner}
    return {"proto_version": parts[1], "software_version": parts[2].split(" ", 1)[0]}


def stored_flow_record(row: Mapping[str, Any]) -> dict[str, Any]:
    """A flow as the hub's store keeps it (``flows`` table: no per-direction counts, no
    application metadata) as an EVE ``flow`` record with what it holds."""
    base = _flow_base(
        str(row["node_id"]),
        str(row["event_id"]),
        str(row["src_ip"]),
        str(row["dst_ip"]),
        int(row["src_port"]),
        int(row["dst_port"]),
        int(row["proto"]),
    )
    if row.get("community_id"):
        base["community_id"] = row["community_id"]
    start, end = float(row["start_ts"]), float(row["end_ts"])
    flow = {
        "start": suricata_time(start),
        "end": suricata_time(end),
        "age": int(end - start),
        "alerted": False,
    }
    return {"timestamp": suricata_time(end), "event_type": "flow", **base, "flow": flow}


def to_eve(ev: EventBase) -> list[dict[str, Any]]:
    """The EVE records of one event (none for kinds EVE has no record for)."""
    if isinstance(ev, AlertEvent):
        return [alert_record(ev)]
    if isinstance(ev, AnomalyEvent):
        return [anomaly_record(ev)]
    if isinstance(ev, FlowRecord):
        return flow_records(ev)
    return []
