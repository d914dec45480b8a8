"""A broker outage costs the agent no memory: paho's queue stays within the uplink's window
(the uplink never re-publishes what paho still holds; paho resends it itself on reconnect),
the events wait on disk, and every one arrives once the real Mosquitto is back.

Before: the uplink re-published every in-flight message each 30 s of outage, and paho
queued every copy (its queue was unbounded)."""

from __future__ import annotations

import threading
import time
import uuid

import pytest

from contracts import decode_batch
from contracts.transports import TransportOptions, open_publisher, open_subscriber
from edge_agent.outbox import Outbox
from edge_agent.uplink import Uplink, UplinkConfig
from tests.harness.servers import MosquittoServer
from tests.integration.helpers import FlowFeeder

pytestmark = pytest.mark.integration
PORT = 21963
WINDOW = 8
OUTAGE_S = 36.0  # longer than the old 30 s resend timer


class _Collector:
    def __init__(self, url: str, node: str) -> None:
        self.ids: set[uuid.UUID] = set()
        self.sub = open_subscriber(
            url,
            [f"fednids/v1/{node}/flows"],
            group="",
            options=TransportOptions(client_id=f"col-{node}", session_expiry_s=600),
        )
        self.sub.wait_subscribed(10)  # type: ignore[attr-defined]
        self.stop = threading.Event()
        self.t = threading.Thread(target=self._run, daemon=True)
        self.t.start()

    def _run(self) -> None:
        while not self.stop.is_set():
            msgs = self.sub.poll(0.2)
            self.ids.update(e.event_id for m in msgs for e in decode_batch(m.value))
            self.sub.ack(msgs)

    def close(self) -> None:
        self.stop.set()
        self.t.join(5)
        self.sub.close()


def test_a_broker_outage_keeps_the_paho_queue_within_the_window(tmp_path):
    # prepare: a private broker, a persistent collector, an uplink fed 200 events/s
    broker = MosquittoServer(port=PORT)
    broker.wipe()
    broker.start()
    node = f"o{uuid.uuid4().hex[:6]}"
    col = _Collector(broker.url, node)
    ob = Outbox(tmp_path / "o.db")
    pub = open_publisher(broker.url, TransportOptions(client_id=f"agent-{node}"))
    up = Uplink(node, ob, pub, UplinkConfig(max_inflight=WINDOW, batch_max=20))
    feeder = FlowFeeder(ob, node, per_tick=20)
    sent = feeder.staged
    up.start()
    feeder.start()
    queued: list[int] = []
    try:
        time.sleep(2.0)
        # execute: the broker is away for OUTAGE_S while events keep coming
        broker.stop()
        sent_before = up.sent_messages
        deadline = time.monotonic() + OUTAGE_S
        while time.monotonic() < deadline:
            queued.append(pub.queued())  # type: ignore[attr-defined]
            time.sleep(0.5)
        published_in_outage = up.sent_messages - sent_before
        depth_in_outage = len(ob)
        broker.start()
        feeder.close()
        drained = up.drain(60)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not sent <= col.ids:
            time.sleep(0.2)
    finally:
        feeder.close()
        up.stop()
        col.close()
        pub.close()
        broker.stop()
    # assert: bounded in RAM, growing on disk, nothing lost
    assert max(queued) <= WINDOW, f"paho held up to {max(queued)} messages (window {WINDOW})"
    assert published_in_outage <= WINDOW
    assert depth_in_outage > 1000
    assert drained
    missing = sent - col.ids
    assert not missing, f"{len(missing)} of {len(sent)} events lost"
