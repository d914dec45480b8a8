"""Alerting: one incident per attack (floods by target, scanners by attacker), corroboration of
unsupervised detections, event-time windows, classifications, escalation, bounded state; the
runtime dead-letters bad input and commits only after its outputs were delivered."""

from __future__ import annotations

import tomllib
from datetime import UTC, datetime, timedelta

from contracts import decode, encode
from contracts.deadletter import read_dead_letter
from contracts.events import AlertEvent, AnomalyEvent, AttackClassification, AttackPrediction
from contracts.transports.memory import MemoryBroker
from edge_agent.rules.loader import DEFAULT_RULES
from hub.services.alerting import AlertingService
from hub.services.runtime import ServiceRuntime
from tests.unit.contracts.samples import flow

_RULES = tomllib.loads(DEFAULT_RULES.read_text())
RULE_FAMILY = {r["id"]: r["family"] for k in ("rule", "beaconing") for r in _RULES.get(k, [])}
"""A rule's family, from the shipped rule file (as the edge sends it in ``family``)."""
WALL = datetime(2026, 1, 1, tzinfo=UTC)
CAPTURE = 1_400_000_000.0  # a capture from 2014, replayed "now"


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def _ev(
    t: float,
    detector: str = "rules",
    rule: str | None = "port_scan_horizontal",
    src: str | None = "10.0.0.66",
    dst: str | None = "10.0.0.5",
    severity: str = "medium",
    port: int = 80,
    family: str | None = None,
    flow_id: str | None = None,
    evidence: dict | None = None,  # type: ignore[type-arg]
    wall: float | None = None,
    windowed: bool = True,
) -> AnomalyEvent:
    """An anomaly whose window ends at capture time ``CAPTURE + t``, sent at wall ``WALL``."""
    return AnomalyEvent(
        node_id="pi-1",
        detector=detector,  # type: ignore[arg-type]
        rule_id=rule if detector == "rules" else None,
        family=family or (RULE_FAMILY.get(rule or "") if detector == "rules" else None),  # type: ignore[arg-type]
        score=50,
        threshold=20,
        severity=severity,  # type: ignore[arg-type]
        src_ip=src,
        dst_ip=dst,
        dst_port=port,
        flow_id=flow_id or f"f-{src}-{dst}-{port}-{t}",
        window_start=CAPTURE + t - 0.5 if windowed else None,
        window_end=CAPTURE + t if windowed else None,
        evidence=evidence or {},
        ts=WALL + timedelta(seconds=t if wall is None else wall),
    )


def _latest(alerts: list[AlertEvent]) -> dict[str, AlertEvent]:
    out: dict[str, AlertEvent] = {}
    for a in alerts:
        out[a.incident_key] = a
    return out


def _run(svc: AlertingService, events: list, batch: int = 500) -> list[AlertEvent]:  # type: ignore[type-arg]
    out: list = []  # type: ignore[type-arg]
    for i in range(0, len(events), batch):
        out.extend(svc.handle(events[i : i + batch]))
    out.extend(svc.flush())
    return out


def test_spoofed_syn_flood_of_5000_sources_is_one_incident_about_its_target():
    # prepare: every spoofed source sends one SYN, flagged by the LSTM and the Isolation
    # Forest; the edge's syn_flood rule (keyed by target) fires once a minute
    target = "10.10.10.10"
    events: list[AnomalyEvent] = []
    for i in range(5000):
        src, t = f"{100 + i // 250}.{i % 250}.7.{i % 13 + 1}", i * 0.02
        for det in ("lstm", "iforest"):
            events.append(_ev(t, det, None, src, target, "medium", 80, flow_id=f"s{i}"))
        if i % 1000 == 150:
            events.append(
                _ev(
                    t,
                    "rules",
                    "syn_flood",
                    src,
                    target,
                    "critical",
                    80,
                    family="dos",
                    evidence={"dst_fanin_hosts": 150.0, "suppressed_hits": 0},
                )
            )
    svc = AlertingService(clock=Clock())
    # execute
    alerts = _run(svc, events)
    # assert
    latest = _latest(alerts)
    # unsupervised votes from 20 sources opened it before the rule fired; the rule named it
    assert list(latest) == [f"other:to:{target}"]
    a = next(iter(latest.values()))
    assert a.family == "dos" and a.severity == "critical"
    assert a.targets == [target] and a.attackers == []  # spoofed: counted, not named
    assert a.title.startswith(f"SYN flood against {target} from ") and "sources" in a.title
    assert abs(int(a.evidence["sources"]) - 5000) <= 50  # type: ignore[arg-type]
    assert set(a.detectors) == {"lstm", "iforest", "rules"} and a.rule_ids == ["syn_flood"]
    assert a.event_first_ts is not None and a.event_first_ts <= CAPTURE + 1
    assert a.event_last_ts == CAPTURE + 4999 * 0.02
    assert len(a.hosts) < 10 and a.nodes == ["pi-1"]


def test_a_scan_of_300_hosts_by_one_source_is_one_incident_about_the_attacker():
    # prepare: 300 probes of port 80, flagged by the LSTM, the scan rule every 100 probes
    scanner = "192.0.2.7"
    events = [
        _ev(
            i * 0.1,
            "rules" if i % 100 == 25 else "lstm",
            "port_scan_horizontal",
            scanner,
            f"10.1.{i // 200}.{i % 200 + 1}",
            evidence={"src_fanout_hosts": float(i + 1)} if i % 100 == 25 else None,
        )
        for i in range(300)
    ]
    svc = AlertingService(clock=Clock())
    # execute
    alerts = _run(svc, events, batch=50)
    # assert
    latest = _latest(alerts)
    assert list(latest) == [f"scan:{scanner}"]
    a = latest[f"scan:{scanner}"]
    assert a.attackers == [scanner] and a.family == "scan"
    assert a.evidence["targets"] == 300 and len(a.targets) == 16
    assert a.title == f"Port scan by {scanner}: 1 port on 300 hosts"
    assert set(a.detectors) == {"lstm", "rules"}
    assert len(alerts) <= 10  # updated when it changed or doubled, not per detection


def test_a_vertical_scan_says_how_many_ports_on_how_many_hosts():
    # the rule fires once a minute (its count in the evidence); the LSTM flags some probes
    events = [
        _ev(0.0, "rules", "port_scan_vertical", "192.0.2.7", "10.0.0.5", port=22,
            evidence={"src_distinct_dst_ports": 40.0, "suppressed_hits": 0}),
        *[_ev(0.01 * p, "lstm", None, "192.0.2.7", "10.0.0.5", port=p) for p in range(1, 200)],
        _ev(60.0, "rules", "port_scan_vertical", "192.0.2.7", "10.0.0.5", port=8080,
            evidence={"src_distinct_dst_ports": 1000.0, "suppressed_hits": 959}),
    ]  # fmt: skip
    latest = _latest(_run(AlertingService(clock=Clock()), events))
    a = latest["scan:192.0.2.7"]
    # the rule's window counted 1,000 ports; the detections themselves name 201: "at least"
    assert a.title == "Port scan by 192.0.2.7: ≥1,000 ports on 1 host"
    assert a.evidence["ports"] == 1000 and a.evidence["counts_exact"] is False
    assert a.evidence["hits"] == 201 + 959 and a.evidence["peak_src_distinct_dst_ports"] == 1000


def test_an_icmp_sweep_is_called_a_ping_sweep():
    events = [_ev(i, "rules", "icmp_sweep", "192.168.1.109", f"192.168.1.{i}", port=0, family="scan")
              for i in range(1, 19)]  # fmt: skip
    [a] = _latest(_run(AlertingService(clock=Clock()), events)).values()
    assert a.title == "Ping sweep by 192.168.1.109: 18 hosts"


def test_a_lone_low_novelty_detection_opens_no_incident():
    svc = AlertingService(clock=Clock())
    out = svc.handle([_ev(0, "novelty", None, "10.0.0.8", "10.0.0.9", "low")])
    assert out == [] and svc.flush() == []
    assert svc.dropped["uncorroborated"] == 1


def test_novelty_and_lstm_on_one_host_open_one_incident():
    # prepare: three flagged flows of one host within a minute, two detectors
    host = "10.0.0.8"
    events = [
        _ev(0, "novelty", None, host, "10.0.0.9", "low", 443, flow_id="a"),
        _ev(5, "lstm", None, host, "10.0.0.9", "medium", 443, flow_id="b"),
        _ev(9, "lstm", None, host, "10.0.0.7", "medium", 443, flow_id="c"),
    ]
    svc = AlertingService(clock=Clock())
    # execute
    alerts = _run(svc, events)
    # assert
    latest = _latest(alerts)
    assert list(latest) == [f"other:{host}"]
    a = latest[f"other:{host}"]
    assert a.count == 3 and set(a.detectors) == {"novelty", "lstm"}
    assert a.attackers == [host] and set(a.targets) == {"10.0.0.9", "10.0.0.7"}
    assert a.event_first_ts == CAPTURE and a.event_last_ts == CAPTURE + 9
    assert "Unusual traffic from 10.0.0.8" in a.title


def test_an_edge_escalated_unsupervised_detection_needs_corroboration_too():
    # prepare: the edge's host window gave a novelty verdict the family of a low rule
    svc = AlertingService(clock=Clock())
    lone = _ev(0, "novelty", None, "10.0.0.8", "10.0.0.9", "medium", 9999, family="botnet")
    # execute / assert: alone it opens nothing
    assert svc.handle([lone]) == []
    # a low rule (beaconing: IoT devices poll their clouds) is context, not a second detector
    context = [
        _ev(5, "rules", "beaconing", "10.0.0.8", "10.0.0.9", "low", 9999, family="botnet"),
        _ev(9, "novelty", None, "10.0.0.8", "10.0.0.9", "low", 9999),
    ]
    assert svc.handle(context) == []
    # with a second independent detector it opens one incident, named by that family
    out = svc.handle([_ev(12, "lstm", None, "10.0.0.8", "10.0.0.9", "low", 9999)])
    assert [(a.incident_key, a.family, a.count) for a in out] == [("botnet:10.0.0.8", "botnet", 4)]
    assert out[0].title == "Beaconing from 10.0.0.8 to 10.0.0.9:9999"
    assert out[0].evidence["opened_ts"] == CAPTURE + 12 and out[0].event_first_ts == CAPTURE


def test_traffic_to_an_attacker_joins_its_incident():
    svc = AlertingService(clock=Clock())
    svc.handle([_ev(0, "rules", "telnet_scan", "192.168.2.16", "1.2.3.4", "high", 23)])
    out = svc.handle([_ev(5, "rules", "telnet_scan", "192.168.2.1", "192.168.2.16", "high", 22)])
    assert [a.incident_key for a in out] == ["botnet:192.168.2.16"] and out[0].count == 2


def test_a_bots_scanning_and_its_telnet_spreading_are_one_incident():
    svc = AlertingService(clock=Clock())
    events = [
        _ev(0, "rules", "port_scan_horizontal", "10.1.0.18", "10.1.0.30", port=2323),
        _ev(2, "rules", "telnet_scan", "10.1.0.18", "10.1.0.31", "high", 23),
        _ev(4, "rules", "port_scan_horizontal", "10.1.0.18", "10.1.0.32", port=22),
    ]
    latest = _latest(_run(svc, events))
    assert list(latest) == ["scan:10.1.0.18"]
    a = latest["scan:10.1.0.18"]
    assert a.family == "botnet" and a.severity == "high" and a.count == 3
    assert a.title == "Telnet scanning by 10.1.0.18: 3 hosts"
    assert a.rule_ids == ["port_scan_horizontal", "telnet_scan"]


def test_one_detector_on_many_flows_is_not_corroboration():
    svc = AlertingService(clock=Clock())
    events = [_ev(i, "lstm", None, "10.0.0.8", "10.0.0.9", flow_id=f"x{i}") for i in range(20)]
    assert _run(svc, events) == []


def test_an_lstm_detection_on_a_host_with_a_rule_incident_joins_it():
    # prepare
    svc = AlertingService(clock=Clock())
    svc.handle([_ev(0, "rules", "bruteforce_login", "147.32.80.40", "147.32.80.37", "high", 22)])
    # execute
    out = svc.handle([_ev(3, "lstm", None, "147.32.80.40", "147.32.80.37", "medium", 22)])
    # assert
    assert [a.incident_key for a in out] == ["bruteforce:147.32.80.40"]
    a = out[0]
    assert a.detectors == ["rules", "lstm"] and a.count == 2
    assert a.title == "SSH brute force 147.32.80.40 -> 147.32.80.37:22"
    assert a.attackers == ["147.32.80.40"] and a.targets == ["147.32.80.37"]


def test_two_attacks_by_different_hosts_at_the_same_time_are_two_incidents():
    events = []
    for i in range(50):
        events.append(_ev(i, "rules", "bruteforce_login", "10.0.0.1", "10.0.0.100", "high", 22))
        events.append(_ev(i, "rules", "telnet_scan", "10.0.0.2", f"10.0.1.{i}", "high", 23))
    alerts = _run(AlertingService(clock=Clock()), events)
    latest = _latest(alerts)
    assert set(latest) == {"bruteforce:10.0.0.1", "botnet:10.0.0.2"}
    assert latest["botnet:10.0.0.2"].title == "Telnet scanning by 10.0.0.2: 50 hosts"


def test_capture_times_days_apart_make_separate_incidents_after_the_quiet_period():
    # prepare: the replay sends both within one wall second; capture times are 3 days apart
    day = 86_400.0
    events = [_ev(t, wall=t / 1e6) for t in (0.0, 10.0, 3 * day, 3 * day + 5)]
    svc = AlertingService(quiet_s=600, clock=Clock())
    # execute
    alerts = _run(svc, events)
    # assert
    latest = _latest(alerts)
    assert set(latest) == {"scan:10.0.0.66", "scan:10.0.0.66#2"}
    assert latest["scan:10.0.0.66"].event_last_ts == CAPTURE + 10
    assert latest["scan:10.0.0.66#2"].event_first_ts == CAPTURE + 3 * day
    assert latest["scan:10.0.0.66#2"].count == 2


def test_the_hubs_late_detections_join_an_incident_the_edge_has_long_moved_past():
    # prepare: the edge's rule at capture t=0, then the edge is already 2 h further on
    svc = AlertingService(quiet_s=600, clock=Clock())
    svc.handle([_ev(0, "rules", "syn_flood", "1.2.3.4", "10.10.10.10", "critical", family="dos")])
    svc.handle([_ev(7200, "rules", "port_scan_vertical", "192.0.2.7", "10.0.0.5")])
    # execute: the hub's Isolation Forest verdict on a flood flow arrives only now
    late = svc.handle([_ev(1, "iforest", None, "5.6.7.8", "10.10.10.10")])
    # assert
    assert [(a.incident_key, a.count) for a in late] == [("dos:10.10.10.10", 2)]
    assert set(late[0].detectors) == {"rules", "iforest"}


def test_a_detection_far_older_than_the_open_incident_opens_no_second_one():
    svc = AlertingService(quiet_s=600, clock=Clock())
    svc.handle([_ev(5000, "rules", "port_scan_vertical", "192.0.2.7", "10.0.0.5")])
    assert svc.handle([_ev(0, "rules", "port_scan_vertical", "192.0.2.7", "10.0.0.5")]) == []
    assert list(svc.incidents) == ["scan:192.0.2.7"] and svc.dropped["stale"] == 1


def test_a_replay_minutes_long_in_capture_time_stays_one_incident():
    events = [_ev(t * 60.0, wall=t * 0.01) for t in range(30)]  # 30 min, 1 min apart
    assert set(_latest(_run(AlertingService(quiet_s=600, clock=Clock()), events))) == {
        "scan:10.0.0.66"
    }


def test_an_event_window_in_the_future_of_its_envelope_falls_back_to_the_envelope():
    svc = AlertingService(clock=Clock())
    bad = AnomalyEvent(
        node_id="pi-1",
        detector="rules",
        rule_id="port_scan_vertical",
        family="scan",
        score=40,
        threshold=30,
        src_ip="10.0.0.66",
        dst_ip="10.0.0.5",
        window_end=4e9,  # year 2096
        ts=WALL,
    )
    out = svc.handle([bad])
    assert out[0].event_first_ts == WALL.timestamp()


def test_a_classification_names_the_family_of_an_other_incident():
    # prepare: an unsupervised incident, then the classifier's verdict on one of its anomalies
    host = "10.0.0.8"
    events = [
        _ev(i, "lstm" if i % 2 else "iforest", None, host, "10.0.0.9", flow_id=f"k{i}")
        for i in range(4)
    ]
    svc = AlertingService(clock=Clock())
    first = _run(svc, events)
    assert {a.family for a in first} == {"other"}
    cls = AttackClassification(
        node_id="pi-1",
        family="scan",
        confidence=0.7,
        src_ip=host,
        dst_ip="10.0.0.9",
        anomaly_ids=[events[1].event_id],
    )
    # execute
    out = svc.handle([cls])
    # assert
    assert [a.incident_key for a in out] == [f"other:{host}"]
    a = out[0]
    assert a.family == "scan" and "classifier" in a.detectors
    assert a.evidence["classified_family"] == "scan"
    assert a.event_last_ts == CAPTURE + 3  # the classification took its anomaly's time


def test_a_confident_classification_alone_opens_an_incident_and_repeats_fold():
    cls = [
        AttackClassification(
            node_id="pi-1",
            family="botnet",
            confidence=0.95,
            src_ip="10.0.0.1",
            dst_ip="10.0.0.2",
            ts=WALL + timedelta(seconds=k * 0.01),
        )
        for k in range(50)
    ]
    alerts = _run(AlertingService(clock=Clock()), cls)
    assert {a.incident_key for a in alerts} == {"botnet:10.0.0.1"}
    assert alerts[-1].count == 50 and alerts[-1].detectors == ["classifier"]


def test_a_confident_classification_of_one_unsupervised_vote_opens_nothing():
    def cls(votes: list[str]) -> AttackClassification:
        return AttackClassification(
            node_id="pi-1",
            family="dos",
            confidence=0.97,
            detectors=votes,  # type: ignore[arg-type]
            src_ip="10.0.0.1",
            dst_ip="10.0.0.2",
        )

    svc = AlertingService(clock=Clock())
    assert svc.handle([cls(["iforest"])]) == []
    assert [a.incident_key for a in svc.handle([cls(["iforest", "rules"])])] == ["dos:10.0.0.2"]


def test_many_brute_forcing_sources_fold_into_one_incident_about_the_target():
    events = [
        _ev(i, "rules", "bruteforce_login", f"10.9.{i // 200}.{i % 200}", "10.0.0.22", "high", 22)
        for i in range(500)
    ]
    svc = AlertingService(fanin_sources=20, clock=Clock())
    latest = _latest(_run(svc, events))
    folded = latest["bruteforce:to:10.0.0.22"]
    assert len(latest) == 20  # the first 19 sources before the fan-in was known, then one
    assert folded.targets == ["10.0.0.22"] and folded.attackers == []
    assert folded.title == "Brute force against 10.0.0.22 from 481 sources"


def test_prediction_that_comes_true_escalates():
    svc = AlertingService(clock=Clock())
    svc.handle(
        [
            AttackPrediction(
                node_id="hub",
                target_host="10.0.0.9",
                probability=0.7,
                severity="high",
                family="botnet",
                ts=WALL,
            )
        ]
    )
    out = svc.handle(
        [_ev(10, "rules", "telnet_scan", "10.0.0.9", "10.0.0.10", "high", windowed=False)]
    )
    assert out[0].escalated and out[0].severity == "critical"


def test_confident_predictions_from_one_spreading_host_are_one_predicted_incident():
    # prepare: the GNN predicts five next targets of one bot
    svc = AlertingService(clock=Clock())
    preds = [
        AttackPrediction(
            node_id="hub",
            target_host=f"10.0.1.{i}",
            probability=0.9,
            severity="high",
            family="botnet",
            path=["192.168.2.16", f"10.0.1.{i}"],
            ts=WALL,
        )
        for i in range(5)
    ]
    # execute
    latest = _latest(svc.handle(preds) + svc.flush())
    # assert
    assert list(latest) == ["predicted-botnet:192.168.2.16"]
    inc = latest["predicted-botnet:192.168.2.16"]
    assert inc.targets == [f"10.0.1.{i}" for i in range(5)]
    assert inc.title.startswith("Predicted: botnet activity from 192.168.2.16 next at 10.0.1.0")


def test_open_incidents_are_capped_and_idle_ones_expire_with_their_last_state():
    # prepare
    clock = Clock()
    svc = AlertingService(max_open=10, idle_s=100, update_every_s=1e9, clock=clock)
    # execute: 30 attackers -> at most 10 open, the oldest closed first
    svc.handle(
        [_ev(i, "rules", "port_scan_vertical", f"10.2.0.{i}", f"10.3.0.{i}") for i in range(30)]
    )
    # assert
    assert len(svc.incidents) == 10
    assert {i.subject for i in svc.incidents.values()} == {f"10.2.0.{i}" for i in range(20, 30)}
    last = [_ev(31 + k, "rules", "port_scan_vertical", "10.2.0.29", "10.3.0.29") for k in range(3)]
    assert [a.count for a in svc.handle(last[:2])] == [3]  # count doubled: sent at once
    assert svc.handle(last[2:]) == []  # 4 < 2 x 3: waits
    clock.now = 500.0  # nothing for longer than idle_s: expired, the unsent update goes out
    out = svc.due()
    assert svc.incidents == {} and svc.by_host == {} and svc.by_subject == {}
    assert [a.count for a in out if a.incident_key == "scan:10.2.0.29"] == [4]


def test_hostless_detections_open_nothing():
    svc = AlertingService(clock=Clock())
    assert svc.handle([_ev(0, "rules", "syn_flood", None, None, "critical")]) == []


def test_runtime_dead_letters_bad_input_and_acks_after_delivery():
    MemoryBroker.reset("svc")
    broker = MemoryBroker.named("svc")
    pub = broker.publisher()
    pub.publish("anomalies", encode(_ev(0)))
    pub.publish("anomalies", b"\x00garbage")
    pub.publish("anomalies", encode(flow()))  # a valid event of the wrong kind
    rt = ServiceRuntime(
        AlertingService(), broker.subscriber(["anomalies"], "alerting"), broker.publisher()
    )
    rt.step(0.1)
    alerts = [decode(m.value) for m in broker.messages("alerts")]
    dead = [read_dead_letter(m.value) for m in broker.messages("dead_letter")]
    assert [a.incident_key for a in alerts] == ["scan:10.0.0.66"]  # type: ignore[attr-defined]
    assert len(dead) == 2 and {d["service"] for d in dead} == {"alerting"}
    assert any("does not take 'flow'" in d["reason"] for d in dead)
    assert broker.lag("alerting", "anomalies") == 0


def test_the_alerting_runtime_sends_withheld_updates_on_idle_ticks():
    # prepare: three detections sent, then one more whose update is withheld (count-only)
    from hub.services.alerting.runtime import AlertingRuntime

    MemoryBroker.reset("tick")
    broker = MemoryBroker.named("tick")
    pub = broker.publisher()
    clock = Clock()
    svc = AlertingService(update_every_s=30, clock=clock)
    rt = AlertingRuntime(svc, broker.subscriber(["anomalies"], "alerting"), broker.publisher())
    for t in (0, 1, 2):
        pub.publish("anomalies", encode(_ev(t)))
    rt.step(0.05)
    pub.publish("anomalies", encode(_ev(3)))
    rt.step(0.05)
    assert [decode(m.value).count for m in broker.messages("alerts")] == [3]  # type: ignore[attr-defined]
    # execute: nothing new arrives, processing time passes
    clock.now = 31.0
    assert rt.step(0.05) == 0
    # assert
    counts = [decode(m.value).count for m in broker.messages("alerts")]  # type: ignore[attr-defined]
    assert counts == [3, 4] and rt.produced == 2


def test_the_new_incident_fields_reach_the_alerts_api_through_the_store(tmp_path):  # type: ignore[no-untyped-def]
    # prepare: an incident as the service emits it, stored as the ingestor stores it
    from hub.storage import EventStore
    from hub.storage.queries import Queries

    alert = _run(AlertingService(clock=Clock()), [_ev(0, "rules", "port_scan_vertical")])[0]
    store = EventStore(f"sqlite:///{tmp_path / 'hub.db'}")
    try:
        store.create_schema()
        store.insert_events([alert])
        # execute
        items = Queries(store).list_alerts(None, None)["items"]
    finally:
        store.engine.dispose()
    # assert
    [item] = items
    assert item["attackers"] == ["10.0.0.66"] and item["targets"] == ["10.0.0.5"]
    assert item["detectors"] == ["rules"] and item["rule_ids"] == ["port_scan_vertical"]
    assert item["event_first_ts"] == CAPTURE and item["evidence"]["detections"] == 1
    assert item["nodes"] == ["pi-1"] and item["title"].startswith("Port scan by 10.0.0.66")


def test_arp_spoofing_opens_its_own_incident():
    # prepare: the edge's ARP monitor: 192.168.1.1 moved to another MAC (family other, high)
    svc = AlertingService(clock=Clock())
    spoof = _ev(0, "rules", "arp_spoof", "192.168.1.1", "192.168.1.50", "high", 0, family="other")
    # execute
    latest = _latest(svc.handle([spoof]) + svc.flush())
    # assert
    assert len(latest) == 1
    (inc,) = latest.values()
    assert inc.title.startswith("ARP spoofing") and "arp_spoof" in inc.rule_ids


def test_an_arp_sweep_is_titled_as_one():
    svc = AlertingService(clock=Clock())
    sweep = _ev(0, "rules", "arp_scan", "192.168.1.247", None, "medium", 0, family="scan")
    sweep = sweep.model_copy(update={"evidence": {"distinct_targets": 24}})
    latest = _latest(svc.handle([sweep]) + svc.flush())
    assert [a.title for a in latest.values()] == [
        "ARP scan by 192.168.1.247: 24+ addresses asked for"
    ]
