"""Each output against a real receiver: rsyslog (Debian package, started by the harness) over
TCP and TLS, and a real HTTP server for the webhook, Splunk HEC and apprise's ``json://``."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from contracts.events import AlertEvent
from hub.outputs.config import AppriseOutput, SplunkHecOutput, SyslogOutput, WebhookOutput
from hub.outputs.records import render
from hub.outputs.sinks import SinkError
from hub.outputs.sinks.http import SplunkHecSink, WebhookSink
from hub.outputs.sinks.notify import AppriseSink
from hub.outputs.sinks.syslog import SyslogSink
from tests.harness.certs import make_test_pki
from tests.harness.http_receiver import HttpReceiver
from tests.harness.rsyslog import RsyslogServer

pytestmark = pytest.mark.integration
TCP_PORT, TLS_PORT = 26601, 26602


def _alerts(n: int, severity: str = "critical") -> list[AlertEvent]:
    return [
        AlertEvent(
            node_id="hub",
            incident_key=f"dos:10.0.0.{i}",
            severity=severity,  # type: ignore[arg-type]
            title=f"SYN flood against 10.0.0.{i}",
            family="dos",
            targets=[f"10.0.0.{i}"],
            techniques=["T1498.001"],
            nodes=["pi-1"],
        )
        for i in range(n)
    ]


def _records(n: int) -> list:  # type: ignore[type-arg]
    return [r for a in _alerts(n) for r in render(a, "eve")]


def _wait_messages(server: RsyslogServer, n: int, timeout: float = 15.0) -> list[dict]:  # type: ignore[type-arg]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and len(server.messages()) < n:
        time.sleep(0.1)
    return server.messages()


@pytest.fixture
def rsyslog() -> Iterator[RsyslogServer]:
    server = RsyslogServer(port=TCP_PORT)
    server.stop()
    server.clear()
    yield server.start()
    server.stop()


def test_syslog_rfc5424_octet_counted_reaches_rsyslog_parsed(rsyslog: RsyslogServer) -> None:
    # prepare
    sink = SyslogSink(
        SyslogOutput(name="s", type="syslog", host="127.0.0.1", port=TCP_PORT, facility=4)
    )
    # execute
    sink.send(_records(3))
    got = _wait_messages(rsyslog, 3)
    sink.close()
    # assert: rsyslog parsed every RFC 5424 field, the MSG is the EVE record
    assert len(got) == 3
    for i, m in enumerate(got):
        assert m["protocol_version"] == "1" and m["app"] == "fednids" and m["msgid"] == "alert"
        assert m["pri"] == str(4 * 8 + 2)  # facility 4, critical -> syslog severity 2
        body = json.loads(m["msg"])
        assert body["event_type"] == "alert"
        assert body["alert"]["context"]["fednids"]["incident_key"] == f"dos:10.0.0.{i}"
        assert body["alert"]["metadata"]["mitre_technique_id"] == ["T1498.001"]


def test_syslog_reconnects_after_rsyslog_restarts(rsyslog: RsyslogServer) -> None:
    sink = SyslogSink(SyslogOutput(name="s", type="syslog", host="127.0.0.1", port=TCP_PORT))
    sink.send(_records(2))
    assert len(_wait_messages(rsyslog, 2)) == 2
    rsyslog.restart()  # the connection the sink holds is now closed by the peer
    sink.send(_records(2))  # noticed before writing: sent on a new connection
    assert len(_wait_messages(rsyslog, 4)) == 4
    rsyslog.stop()
    with pytest.raises(SinkError):
        sink.send(_records(1))  # down: refused, not silently written
    rsyslog.start()
    sink.send(_records(1))
    got = _wait_messages(rsyslog, 5)
    sink.close()
    assert len(got) == 5


def test_syslog_over_tls_reaches_rsyslog(tmp_path: Path) -> None:
    # prepare: a private CA; rsyslog's TLS listener with its server certificate
    pki = make_test_pki(tmp_path / "pki")
    server = RsyslogServer(port=TLS_PORT, tls=(pki.ca, pki.server.cert, pki.server.key))
    server.stop()
    server.clear()
    server.start()
    try:
        cfg = SyslogOutput(
            name="t",
            type="syslog",
            host="127.0.0.1",
            port=TLS_PORT,
            tls=True,
            ca_file=pki.ca,
            server_name="localhost",
        )
        sink = SyslogSink(cfg)
        # execute
        sink.send(_records(2))
        got = _wait_messages(server, 2)
        sink.close()
        untrusted = SyslogSink(cfg.model_copy(update={"ca_file": None}))
        with pytest.raises(SinkError, match="TLS failed"):
            untrusted.send(_records(1))
    finally:
        server.stop()
    # assert
    assert [json.loads(m["msg"])["alert"]["context"]["fednids"]["incident_key"] for m in got] == [
        "dos:10.0.0.0",
        "dos:10.0.0.1",
    ]


def test_splunk_hec_posts_the_batch_with_its_token() -> None:
    # prepare
    rx = HttpReceiver().start()
    cfg = SplunkHecOutput(name="h", type="splunk_hec", url=rx.url, token="tok-123", index="ids")  # type: ignore[arg-type]
    # execute
    SplunkHecSink(cfg).send(_records(3))
    rx.status, rx.answer = 200, b'{"text":"Invalid token","code":4}'
    with pytest.raises(SinkError, match="code 4"):
        SplunkHecSink(cfg).send(_records(1))
    rx.stop()
    # assert
    [req] = rx.taken()[:1]
    assert req.path == "/services/collector/event"
    assert req.headers["Authorization"] == "Splunk tok-123"
    events = [
        json.loads(x) for x in req.body.decode().replace('}{"time"', '}\n{"time"').splitlines()
    ]
    assert [e["event"]["event_type"] for e in events] == ["alert"] * 3
    assert {e["index"] for e in events} == {"ids"} and {e["sourcetype"] for e in events} == {
        "suricata"
    }


def test_webhook_posts_one_record_each_with_bearer_token() -> None:
    rx = HttpReceiver().start()
    WebhookSink(WebhookOutput(name="w", type="webhook", url=rx.url + "/hook", token="b-1")).send(
        _records(2)
    )  # type: ignore[arg-type]
    rx.stop()
    with pytest.raises(SinkError):  # the receiver is gone: refused, not lost
        WebhookSink(
            WebhookOutput(name="w", type="webhook", url=rx.url + "/hook", timeout_s=2)
        ).send(_records(1))
    reqs = rx.taken()
    assert [r.path for r in reqs] == ["/hook", "/hook"]
    assert reqs[0].headers["Authorization"] == "Bearer b-1"
    assert reqs[1].json()["alert"]["context"]["fednids"]["incident_key"] == "dos:10.0.0.1"


def test_apprise_json_url_reaches_the_receiver() -> None:
    rx = HttpReceiver().start()
    url = f"json://127.0.0.1:{rx.port}/notify"
    AppriseSink(AppriseOutput(name="a", type="apprise", urls=[url])).send(_records(1))  # type: ignore[list-item]
    rx.stop()
    [req] = rx.taken()
    body = req.json()
    assert req.path == "/notify"
    assert body["title"] == "[fednids critical] SYN flood against 10.0.0.0"
    assert "T1498.001 Network Denial of Service: Direct Network Flood" in body["message"]
