"""A PUBACK is not always a delivery: the real Mosquitto answers 0x10 "No matching subscribers"
when nobody subscribes (after a broker restart, before the bridge re-subscribed), and drops
the message. The agent keeps its outbox rows until a Success reason code."""

from __future__ import annotations

import threading
import time
import uuid

import pytest

from contracts import decode_batch, encode
from contracts.transports import TransportOptions, open_publisher, open_subscriber
from edge_agent.outbox import Outbox
from edge_agent.uplink import Uplink, UplinkConfig
from tests.harness.servers import MosquittoServer
from tests.unit.contracts.samples import flow

pytestmark = pytest.mark.integration
PORT = 21961


def _flows(node: str, n: int) -> list[tuple[str, bytes]]:
    now = time.time()
    return [
        ("flows", encode(flow(node_id=node, flow_id=f"f{i}", start_ts=now - 1, end_ts=now)))
        for i in range(n)
    ]


def test_no_matching_subscribers_keeps_the_rows_until_someone_subscribes(tmp_path):
    # prepare: a private broker nobody subscribes to, an outbox of 100 flows
    broker = MosquittoServer(port=PORT)
    broker.wipe()
    broker.start()
    node = f"c{uuid.uuid4().hex[:6]}"
    ob = Outbox(tmp_path / "o.db")
    ob.put_many(_flows(node, 100))
    pub = open_publisher(broker.url, TransportOptions(client_id=f"agent-{node}"))
    up = Uplink(node, ob, pub, UplinkConfig(batch_max=25, retry_backoff_s=0.2, max_backoff_s=1))
    got: set[uuid.UUID] = set()
    stop = threading.Event()
    sub = None
    try:
        pub.wait_connected(10)  # type: ignore[attr-defined]
        # execute 1: the broker acknowledges, but with 0x10: it kept the messages nowhere
        drained_alone = up.drain(4)
        kept = len(ob)
        codes = dict(getattr(pub, "not_delivered", {}))
        # execute 2: a subscriber with a persistent session (the bridge) appears
        sub = open_subscriber(
            broker.url,
            [f"fednids/v1/{node}/flows"],
            group="",
            options=TransportOptions(client_id=f"col-{node}", session_expiry_s=300),
        )
        sub.wait_subscribed(10)  # type: ignore[attr-defined]

        def collect() -> None:
            while not stop.is_set():
                msgs = sub.poll(0.2)
                got.update(e.event_id for m in msgs for e in decode_batch(m.value))
                sub.ack(msgs)

        t = threading.Thread(target=collect, daemon=True)
        t.start()
        drained = up.drain(30)
        deadline = time.monotonic() + 15
        while len(got) < 100 and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        stop.set()
        pub.close()
        if sub is not None:
            time.sleep(0.3)
            sub.close()
        broker.stop()
    # assert: nothing deleted on 0x10, everything delivered once someone kept it
    assert kept == 100, f"{100 - kept} rows deleted on a 'no matching subscribers' PUBACK"
    assert not drained_alone
    assert codes.get(0x10, 0) > 0
    assert drained and len(ob) == 0
    assert len(got) == 100
