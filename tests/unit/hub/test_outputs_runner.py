"""The outputs' delivery loop on the in-process broker with a real HTTP receiver: filters and
rate limits are counted, the cursor moves only after the receiver accepted, a dead receiver
stalls only its own output and gets everything once it is back."""

from __future__ import annotations

import threading
from typing import Any

from contracts import encode
from contracts.events import AlertEvent
from contracts.transports import open_publisher
from hub.outputs.config import OutputsSettings, RateLimit
from hub.outputs.metrics import OutputMetrics
from hub.outputs.policy import TokenBucket
from hub.outputs.runner import OutputWorker
from tests.harness.http_receiver import HttpReceiver, Request
from tests.helpers import wait_until


def _alert(i: int, severity: str = "high", family: str = "scan") -> AlertEvent:
    return AlertEvent(
        node_id="hub",
        incident_key=f"{family}:10.0.0.{i}",
        severity=severity,  # type: ignore[arg-type]
        title=f"incident {i}",
        family=family,
        nodes=["pi-1"],  # type: ignore[arg-type]
    )


def _settings(url: str, outputs: list[dict[str, Any]]) -> OutputsSettings:
    return OutputsSettings(
        kafka_url=url, outputs=outputs, metrics_port=None, retry_initial_s=0.05, retry_max_s=0.2
    )


class _Running:
    def __init__(self, settings: OutputsSettings) -> None:
        self.stop = threading.Event()
        self.metrics = OutputMetrics()
        self.workers = {o.name: OutputWorker(o, settings, self.metrics) for o in settings.outputs}
        self.threads = [
            threading.Thread(target=w.run, args=(self.stop,), daemon=True)
            for w in self.workers.values()
        ]
        for t in self.threads:
            t.start()

    def lag(self, name: str) -> float:
        return self.metrics.lag.labels(name)._value.get()  # type: ignore[no-any-return]

    def halt(self) -> None:
        self.stop.set()
        for t in self.threads:
            t.join(10)
        assert not any(t.is_alive() for t in self.threads)


def test_filter_and_rate_limit_are_counted_and_committed(broker: str) -> None:
    # prepare: 10 high scans, 5 low ones, 3 high dos; the output takes high scans, 4 at most
    rx = HttpReceiver().start()
    out = {
        "name": "hook",
        "type": "webhook",
        "url": rx.url + "/in",
        "format": "fednids",
        "filter": {"min_severity": "high", "families": ["scan"]},
        "rate_limit": {"per_minute": 0.001, "burst": 4},
    }
    pub = open_publisher(broker)
    events = [_alert(i) for i in range(10)] + [_alert(i, "low") for i in range(10, 15)]
    events += [_alert(i, "high", "dos") for i in range(15, 18)]
    for ev in events:
        pub.publish("alerts", encode(ev))
    run = _Running(_settings(broker, [out]))
    try:
        # execute
        w = run.workers["hook"]
        assert wait_until(lambda: sum(w.counts[k] for k in ("sent", "filtered", "limited")) == 18)
        assert wait_until(lambda: run.lag("hook") == 0)
    finally:
        run.halt()
        rx.stop()
    # assert
    assert w.counts["sent"] == 4 and w.counts["limited"] == 6 and w.counts["filtered"] == 8
    got = [r.json()["incident_key"] for r in rx.taken()]
    assert got == [f"scan:10.0.0.{i}" for i in range(4)]
    assert run.metrics.records.labels("hook", "limited")._value.get() == 6


def test_a_dead_receiver_holds_its_cursor_and_gets_everything_once_back(broker: str) -> None:
    # prepare: two outputs; "dead" answers 503, "live" accepts
    dead, live = HttpReceiver(status=503).start(), HttpReceiver().start()
    outs = [
        {"name": "dead", "type": "webhook", "url": dead.url},
        {"name": "live", "type": "webhook", "url": live.url},
    ]
    pub = open_publisher(broker)
    run = _Running(_settings(broker, outs))
    try:
        for i in range(25):
            pub.publish("alerts", encode(_alert(i)))
        # execute / assert: the live one is not held up by the dead one
        assert wait_until(lambda: len(live.taken()) == 25)
        assert wait_until(lambda: run.lag("live") == 0)
        assert wait_until(lambda: run.workers["dead"].counts["failures"] >= 3)
        assert run.lag("dead") == 25 and dead.taken() == []
        dead.status = 200  # the receiver comes back
        assert wait_until(lambda: run.lag("dead") == 0)
    finally:
        run.halt()
        dead.stop()
        live.stop()
    keys = [r.json()["alert"]["context"]["fednids"]["incident_key"] for r in dead.taken()]
    assert sorted(set(keys)) == sorted(f"scan:10.0.0.{i}" for i in range(25))
    assert len(keys) - len(set(keys)) <= 0  # a clean outage: no duplicates either


def test_token_bucket_refills_at_its_rate() -> None:
    now = [0.0]
    bucket = TokenBucket(RateLimit(per_minute=60, burst=2), clock=lambda: now[0])
    assert [bucket.take() for _ in range(3)] == [True, True, False]
    now[0] = 1.0  # one second: one token
    assert [bucket.take(), bucket.take()] == [True, False]


def test_new_only_sends_an_incidents_first_record_not_its_updates(broker: str) -> None:
    # prepare: three incidents, each updated three times
    rx = HttpReceiver().start()
    out = {"name": "chat", "type": "webhook", "url": rx.url, "filter": {"new_only": True}}
    pub = open_publisher(broker)
    for _round in range(3):
        for i in range(3):
            pub.publish("alerts", encode(_alert(i)))
    run = _Running(_settings(broker, [out]))
    try:
        # execute
        w = run.workers["chat"]
        assert wait_until(lambda: w.counts["sent"] + w.counts["filtered"] == 9)
    finally:
        run.halt()
        rx.stop()
    # assert
    keys = [r.json()["alert"]["context"]["fednids"]["incident_key"] for r in rx.taken()]
    assert keys == [f"scan:10.0.0.{i}" for i in range(3)]
    assert w.counts["filtered"] == 6


def test_a_record_the_receiver_rejects_for_good_is_counted_and_the_rest_go_on(broker: str) -> None:
    # prepare: the receiver answers 422 for incident 3, 503 once for every 4th request
    rx = HttpReceiver().start()
    calls = {"n": 0}

    def decide(req: Request) -> int:
        calls["n"] += 1
        if req.json()["alert"]["context"]["fednids"]["incident_key"] == "scan:10.0.0.3":
            return 422
        return 503 if calls["n"] % 4 == 0 else 200

    rx.decide = decide
    pub = open_publisher(broker)
    for i in range(10):
        pub.publish("alerts", encode(_alert(i)))
    run = _Running(_settings(broker, [{"name": "hook", "type": "webhook", "url": rx.url}]))
    try:
        # execute
        w = run.workers["hook"]
        assert wait_until(lambda: w.counts["sent"] + w.counts["rejected"] == 10)
        assert wait_until(lambda: run.lag("hook") == 0)
    finally:
        run.halt()
        rx.stop()
    # assert: one rejected and reported; the others once each, though requests failed between
    keys = [r.json()["alert"]["context"]["fednids"]["incident_key"] for r in rx.taken()]
    assert w.counts["rejected"] == 1 and w.counts["failures"] >= 1
    assert sorted(keys) == sorted(f"scan:10.0.0.{i}" for i in range(10) if i != 3)
    assert run.metrics.records.labels("hook", "rejected")._value.get() == 1


def test_a_rejected_hec_batch_is_split_to_find_the_bad_record(broker: str) -> None:
    # prepare: HEC answers 400 to any POST holding incident 2
    rx = HttpReceiver().start()
    rx.decide = lambda req: 400 if b"scan:10.0.0.2" in req.body else 200
    pub = open_publisher(broker)
    for i in range(6):
        pub.publish("alerts", encode(_alert(i)))
    out = {"name": "hec", "type": "splunk_hec", "url": rx.url, "token": "t-1"}
    run = _Running(_settings(broker, [out]))
    try:
        # execute
        w = run.workers["hec"]
        assert wait_until(lambda: w.counts["sent"] + w.counts["rejected"] == 6)
    finally:
        run.halt()
        rx.stop()
    # assert
    bodies = b"".join(r.body for r in rx.taken()).decode()
    assert w.counts["rejected"] == 1 and w.counts["sent"] == 5
    assert all(f"scan:10.0.0.{i}" in bodies for i in (0, 1, 3, 4, 5))
    assert "scan:10.0.0.2" not in bodies
