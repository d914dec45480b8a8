"""EVE JSON: incidents, detections and flows as Suricata records, checked against our own
copy of the few schema rules that matter (strict top level, timestamp pattern, types)."""

from __future__ import annotations

import jsonschema_rs
import pytest

from contracts.events import AlertEvent, AnomalyEvent
from contracts.flowmeta import DnsAnswer, DnsMeta, HttpMeta, SshMeta, TlsMeta
from hub.outputs import eve
from tests.unit.contracts.samples import flow

# a copy of a few of Suricata's etc/schema.json rules (not the file itself)
SCHEMA = {
    "type": "object",
    "additionalProperties": False,
    "required": ["event_type", "timestamp"],
    "properties": {
        "timestamp": {
            "type": "string",
            "pattern": r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d+[+\-]\d+$",
        },
        "event_type": {"type": "string"},
        "flow_id": {"type": "integer"},
        "community_id": {"type": "string"},
        "host": {"type": "string"},
        "src_ip": {"type": "string"},
        "src_port": {"type": "integer"},
        "dest_ip": {"type": "string"},
        "dest_port": {"type": "integer"},
        "proto": {"type": "string"},
        "app_proto": {"type": "string"},
        "metadata": {"type": "object"},
        "alert": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                k: {"type": t}
                for k, t in {
                    "action": "string",
                    "category": "string",
                    "context": "object",
                    "gid": "integer",
                    "metadata": "object",
                    "rev": "integer",
                    "severity": "integer",
                    "signature": "string",
                    "signature_id": "integer",
                }.items()
            },
        },
        "flow": {"type": "object"},
        "dns": {"type": "object", "required": ["version"]},
        "tls": {"type": "object"},
        "http": {"type": "object"},
        "ssh": {"type": "object"},
    },
}
VALIDATOR = jsonschema_rs.validator_for(SCHEMA)
CID = "1:" + "A" * 27 + "="


def _incident(**kw: object) -> AlertEvent:
    base: dict[str, object] = dict(
        node_id="hub",
        incident_key="scan:192.0.2.7",
        severity="high",
        title="Port scan by 192.0.2.7",
        family="scan",
        attackers=["192.0.2.7"],
        targets=["10.0.0.5"],
        detectors=["rules", "lstm"],
        rule_ids=["port_scan_vertical"],
        nodes=["pi-1"],
        techniques=["T1046"],
        evidence={"top_ports": "22,80", "top_score_ratio": 3.5},
        event_first_ts=1_700_000_000.25,
    )
    base.update(kw)
    return AlertEvent(**base)  # type: ignore[arg-type]


def test_an_incident_is_one_valid_alert_with_attack_and_fednids_context() -> None:
    # execute
    [rec] = eve.to_eve(_incident())
    # assert
    assert not list(VALIDATOR.iter_errors(rec))
    assert rec["timestamp"] == "2023-11-14T22:13:20.250000+0000"
    assert (rec["src_ip"], rec["dest_ip"], rec["dest_port"]) == ("192.0.2.7", "10.0.0.5", 22)
    alert = rec["alert"]
    assert alert["severity"] == 1 and alert["category"] == "Detection of a Network Scan"
    assert alert["metadata"]["mitre_technique_id"] == ["T1046"]
    assert alert["metadata"]["mitre_technique_name"] == ["Network Service Discovery"]
    ctx = alert["context"]["fednids"]
    assert ctx["incident_key"] == "scan:192.0.2.7" and ctx["detectors"] == ["rules", "lstm"]
    assert ctx["nodes"] == ["pi-1"] and ctx["family"] == "scan" and ctx["score"] == 3.5
    assert eve.SID_BASE <= alert["signature_id"] < eve.SID_BASE + 1_000_000


@pytest.mark.parametrize(
    ("sev", "want"), [("critical", 1), ("high", 1), ("medium", 2), ("low", 3), ("info", 3)]
)
def test_severity_follows_suricata_one_is_worst(sev: str, want: int) -> None:
    assert eve.to_eve(_incident(severity=sev))[0]["alert"]["severity"] == want


def test_a_detection_names_its_flow_with_the_same_flow_id_as_the_flow_record() -> None:
    # prepare
    rec = flow(community_id=CID)
    an = AnomalyEvent(
        node_id="pi-1",
        detector="rules",
        rule_id="bruteforce_login",
        score=40,
        threshold=20,
        flow_id=rec.flow_id,
        community_id=CID,
        src_ip=rec.src_ip,
        dst_ip=rec.dst_ip,
        dst_port=rec.dst_port,
        evidence={"proto": 6},
        techniques=["T1110"],
        family="bruteforce",
    )
    # execute
    [alert] = eve.to_eve(an)
    [fl] = eve.to_eve(rec)
    # assert
    for r in (alert, fl):
        assert not list(VALIDATOR.iter_errors(r))
    assert alert["flow_id"] == fl["flow_id"] == eve.flow_id_int("pi-1", "f-1")
    assert 0 < fl["flow_id"] < 2**63
    assert alert["community_id"] == fl["community_id"] == CID
    assert alert["proto"] == fl["proto"] == "TCP"
    assert alert["alert"]["context"]["fednids"]["detector"] == "rules"


def test_a_flow_with_metadata_gives_dns_tls_http_ssh_records() -> None:
    # prepare
    rec = flow(
        proto=17,
        dns=DnsMeta(
            rrname="example.org",
            rrtype="A",
            rcode="NOERROR",
            answers=[DnsAnswer(rrtype="A", rdata="192.0.2.1")],
        ),
        tls=TlsMeta(
            sni="example.org",
            version="TLS 1.3",
            alpn=["h2"],
            ja4="t13d1516h2_8daaf6152771_e5627efa2ab1",
        ),
        http=HttpMeta(http_method="GET", url="/login", protocol="HTTP/1.1", hostname="example.org"),
        ssh=SshMeta(client="SSH-2.0-OpenSSH_9.6 Debian", server="SSH-2.0-dropbear_2022.83"),
    )
    # execute
    recs = eve.to_eve(rec)
    # assert
    kinds = [r["event_type"] for r in recs]
    assert kinds == ["flow", "dns", "dns", "tls", "http", "ssh"]
    assert all(not list(VALIDATOR.iter_errors(r)) for r in recs)
    assert recs[0]["proto"] == "UDP" and recs[0]["app_proto"] == "dns"
    assert recs[2]["dns"]["answers"] == [
        {"rrname": "example.org", "rrtype": "A", "rdata": "192.0.2.1"}
    ]
    assert recs[3]["tls"]["ja4"].startswith("t13d") and recs[3]["tls"]["client_alpns"] == ["h2"]
    assert recs[5]["ssh"]["client"] == {"proto_version": "2.0", "software_version": "OpenSSH_9.6"}


def test_our_schema_copy_is_strict_so_the_checks_above_can_fail() -> None:
    [rec] = eve.to_eve(_incident())
    assert list(VALIDATOR.iter_errors({**rec, "fednids": {}}))
    assert list(VALIDATOR.iter_errors({**rec, "timestamp": "2023-11-14T22:13:20Z"}))


def test_ids_are_stable_and_protocols_named_as_suricata_does() -> None:
    assert eve.flow_id_int("pi-1", "f-9") == eve.flow_id_int("pi-1", "f-9")
    assert eve.flow_id_int("pi-1", "f-9") != eve.flow_id_int("pi-2", "f-9")
    assert eve.signature_id("rules:syn_flood") == eve.signature_id("rules:syn_flood")
    assert [eve.proto_name(p) for p in (1, 6, 17, 58, 99)] == [
        "ICMP",
        "TCP",
        "UDP",
        "IPv6-ICMP",
        "99",
    ]
