"""``GET /api/outputs``: the outputs process writes each output's health to the store, and the
API shows it: an output whose receiver is down is unhealthy with a growing lag (records and
seconds) and its last error; once the receiver is back it is healthy and caught up. A stopped
outputs process shows as stale, and the route needs a token."""

from __future__ import annotations

import threading
import time
import uuid
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from contracts import encode
from contracts.events import AlertEvent
from contracts.transports import open_publisher
from hub.api.app import create_app
from hub.api.routes.outputs import STALE_AFTER_S
from hub.outputs.config import OutputsSettings
from hub.outputs.runner import run_outputs
from hub.outputs.state import filter_summary, redact
from hub.settings import HubSettings
from hub.storage import EventStore
from hub.storage.output_state import save_output_states
from hub.storage.tokens import create_token
from tests.harness.http_receiver import HttpReceiver
from tests.helpers import wait_until


def _alert(i: int) -> AlertEvent:
    return AlertEvent(
        node_id="hub", incident_key=f"scan:10.0.0.{i}", severity="high", title=f"scan {i}",
        family="scan", nodes=["pi-1"],
    )  # fmt: skip


def _api(db: str) -> tuple[TestClient, dict[str, str]]:
    store = EventStore(db)
    store.create_schema()
    token = create_token(store, f"rd-{uuid.uuid4().hex[:6]}", "read")
    return TestClient(create_app(HubSettings(), store)), {"Authorization": f"Bearer {token}"}


def test_a_down_output_shows_unhealthy_with_growing_lag_then_recovers(
    broker: str, tmp_path: Path
) -> None:
    # prepare: two webhook outputs, "dead" answers 503; state written every 0.1 s
    db = f"sqlite:///{tmp_path / 'hub.db'}"
    client, rd = _api(db)
    dead, live = HttpReceiver(status=503).start(), HttpReceiver().start()
    settings = OutputsSettings(
        kafka_url=broker, metrics_port=None, retry_initial_s=0.05, retry_max_s=0.1,
        db_url=db, state_every_s=0.1,
        outputs=[
            {"name": "dead", "type": "webhook", "url": dead.url},
            {"name": "live", "type": "webhook", "url": live.url,
             "filter": {"min_severity": "medium"}, "rate_limit": {"per_minute": 60, "burst": 5}},
        ],
    )  # fmt: skip
    pub = open_publisher(broker)
    for i in range(5):
        pub.publish("alerts", encode(_alert(i)))
    stop = threading.Event()
    runner = threading.Thread(target=run_outputs, args=(settings, stop), daemon=True)
    runner.start()

    def outputs() -> dict[str, dict[str, Any]]:
        res = client.get("/api/outputs", headers=rd)
        assert res.status_code == 200, res.text
        return {o["name"]: o for o in res.json()["items"]}

    try:
        # execute: the dead receiver stays down while the live one takes everything
        assert wait_until(lambda: outputs().get("dead", {}).get("consecutive_failures", 0) >= 2)
        assert wait_until(lambda: outputs().get("live", {}).get("delivered") == 5)
        first = outputs()["dead"]
        time.sleep(0.6)
        for i in range(5, 8):
            pub.publish("alerts", encode(_alert(i)))
        assert wait_until(lambda: outputs()["dead"]["lag_records"] == 8)
        later = outputs()["dead"]
        caught_up = outputs()["live"]
        dead.status = 200  # the receiver comes back
        assert wait_until(lambda: outputs()["dead"]["lag_records"] == 0)
        back = outputs()["dead"]
    finally:
        stop.set()
        runner.join(20)
        dead.stop()
        live.stop()
    # assert: down = unhealthy, its lag grows in records and seconds, its error is shown
    assert first["health"] == "unhealthy" and first["up"] is False
    assert first["last_error"] and "503" in first["last_error"] and first["last_success"] is None
    assert (first["lag_records"], later["lag_records"]) == (5, 8)
    assert later["lag_seconds"] > first["lag_seconds"] >= 0.0
    assert later["consecutive_failures"] > first["consecutive_failures"]
    assert later["delivered"] == 0 and later["kind"] == "webhook"
    # the live one: healthy, caught up, its filter summarised, its cursor at the end
    assert caught_up["health"] == "healthy" and caught_up["lag_records"] == 0
    assert caught_up["lag_seconds"] == 0.0 and caught_up["last_success"] is not None
    assert "severity >= medium" in caught_up["filter"] and "60/min" in caught_up["filter"]
    assert caught_up["cursor"] == [{"topic": "alerts", "partition": 0, "offset": 5}]
    # back: healthy, every record delivered, no failure in a row
    assert back["health"] == "healthy" and back["consecutive_failures"] == 0
    assert back["delivered"] == 8 and back["lag_seconds"] == 0.0
    assert back["cursor"] == [{"topic": "alerts", "partition": 0, "offset": 8}]


def test_a_row_the_outputs_process_stopped_writing_is_stale(tmp_path: Path) -> None:
    # prepare: a row last written long ago (the process stopped)
    db = f"sqlite:///{tmp_path / 'hub.db'}"
    client, rd = _api(db)
    old = time.time() - STALE_AFTER_S - 5
    row = {
        "name": "siem", "kind": "syslog", "filter": "all", "cursor": {"alerts:0": 3},
        "lag_records": 2, "lag_seconds": 0.0, "up": True, "last_success": old,
        "last_error": None, "last_error_at": None, "consecutive_failures": 0,
        "counts": {"sent": 3}, "started": old - 60,
    }  # fmt: skip
    save_output_states(EventStore(db), [row], now=old)
    # execute
    res = client.get("/api/outputs", headers=rd)
    anonymous = client.get("/api/outputs")
    # assert
    assert (res.status_code, anonymous.status_code) == (200, 401)
    (item,) = res.json()["items"]
    assert item["health"] == "stale" and item["age_s"] > STALE_AFTER_S
    assert item["delivered"] == 3 and item["lag_records"] == 2


def test_no_outputs_process_yet_is_an_empty_list(tmp_path: Path) -> None:
    client, rd = _api(f"sqlite:///{tmp_path / 'hub.db'}")
    assert client.get("/api/outputs", headers=rd).json() == {"items": [], "stale_after_s": 30.0}


def test_the_filter_summary_names_what_the_output_takes() -> None:
    s = OutputsSettings(
        metrics_port=None,
        outputs=[{"name": "c", "type": "apprise", "urls": ["json://localhost"],
                  "filter": {"families": ["dos"], "new_only": True, "include_suppressed": True}}],
    )  # fmt: skip
    text = filter_summary(s.outputs[0])
    assert text == (
        "severity >= info; families: dos; all nodes; new incidents only; suppressed included"
    )


def test_errors_shown_to_readers_carry_no_credentials_of_a_url() -> None:
    why = "POST https://bot:s3cret@hooks.example.org/in?token=abc&x=1: HTTP 503 Unavailable"
    assert redact(why) == "POST https://***@hooks.example.org/in?*** HTTP 503 Unavailable"
    assert redact("syslog siem:6514: send failed: [Errno 111]") == (
        "syslog siem:6514: send failed: [Errno 111]"
    )
