"""Outbox (bounded, durable) and uplink (acks, batching, rewind on refusal) on memory://."""

from __future__ import annotations

import time

import pytest

from contracts import decode_batch, encode
from contracts.errors import TransportError
from contracts.events import AnomalyEvent, NodeStatus
from contracts.transports.memory import MemoryBroker, MemoryPublisher
from edge_agent.outbox import Outbox, OutboxError
from edge_agent.uplink import Uplink, UplinkConfig
from tests.unit.contracts.samples import flow


def _flows(n, node="pi-1"):
    return [("flows", encode(flow(node_id=node, flow_id=f"f{i}"))) for i in range(n)]


def test_outbox_survives_reopen(tmp_path):
    ob = Outbox(tmp_path / "o.db")
    ob.put_many(_flows(10))
    ob.close()
    again = Outbox(tmp_path / "o.db")
    assert len(again) == 10
    assert [r.kind for r in again.peek(100)] == ["flows"] * 10


def test_bound_drops_oldest_flows_never_anomalies(tmp_path):
    ob = Outbox(tmp_path / "o.db", max_rows=1000)
    anomaly = encode(AnomalyEvent(node_id="pi-1", detector="rules", score=1, threshold=1))
    ob.put_many([("anomalies", anomaly)] * 300)
    dropped = ob.put_many(_flows(1000))
    stats = ob.stats()
    assert dropped == 300 and stats["dropped_flows"] == 300
    assert stats["depth_anomalies"] == 300 and stats["depth"] == 1000
    oldest_flow = next(r for r in ob.peek(2000) if r.kind == "flows")
    assert b'"f300"' in oldest_flow.payload  # f0..f299 went first
    ob.close()
    assert Outbox(tmp_path / "o.db").dropped == 300  # the counter is persisted


def test_unknown_kind_is_refused(tmp_path):
    with pytest.raises(OutboxError):
        Outbox(tmp_path / "o.db").put_many([("bogus", b"x")])


def test_uplink_batches_and_deletes_only_after_delivery(tmp_path):
    MemoryBroker.reset("up")
    ob = Outbox(tmp_path / "o.db")
    ob.put_many([*_flows(1200), ("status", encode(NodeStatus(node_id="pi-1", online=True)))])
    pub = MemoryBroker.named("up").publisher()
    up = Uplink("pi-1", ob, pub, UplinkConfig(batch_max=200, max_inflight=2))
    # execute: the first pump publishes two messages; nothing is deleted before their callbacks
    up.pump()
    assert len(ob) == 1201
    msgs = MemoryBroker.named("up").messages("fednids/v1/pi-1/flows")
    assert [len(decode_batch(m.value)) for m in msgs] == [200, 200]
    assert up.drain(5)
    # assert: every event arrived once, the outbox is empty, status went retained to its topic
    got = [
        e
        for m in MemoryBroker.named("up").messages("fednids/v1/pi-1/flows")
        for e in decode_batch(m.value)
    ]
    assert len(got) == 1200 and len({e.event_id for e in got}) == 1200
    status = MemoryBroker.named("up").messages("fednids/v1/pi-1/status")
    assert len(status) == 1 and status[0].retained
    assert len(ob) == 0


class _RefusingPublisher(MemoryPublisher):
    """Refuses the first ``n`` deliveries, like a broker answering PUBACK with an error."""

    def __init__(self, broker, n):
        super().__init__(broker)
        self.n = n

    def publish(self, topic, value, *, key=None, on_delivery=None, retain=False):
        if self.n > 0 and on_delivery is not None:
            self.n -= 1
            on_delivery(RuntimeError("not authorized"))
            return
        super().publish(topic, value, key=key, on_delivery=on_delivery, retain=retain)


def test_refused_messages_are_sent_again(tmp_path):
    MemoryBroker.reset("rf")
    broker = MemoryBroker.named("rf")
    ob = Outbox(tmp_path / "o.db")
    ob.put_many(_flows(50))
    up = Uplink(
        "pi-1", ob, _RefusingPublisher(broker, 1), UplinkConfig(batch_max=20, retry_backoff_s=0.05)
    )
    assert up.drain(5)
    got = {
        e.event_id for m in broker.messages("fednids/v1/pi-1/flows") for e in decode_batch(m.value)
    }
    assert len(got) == 50
    assert up.refused == 1


def test_oversized_batches_are_split_under_the_message_limit(tmp_path):
    from contracts.codec import MAX_MESSAGE_BYTES

    MemoryBroker.reset("big")
    ob = Outbox(tmp_path / "o.db")
    ob.put_many(_flows(2000))
    up = Uplink(
        "pi-1",
        ob,
        MemoryBroker.named("big").publisher(),
        UplinkConfig(batch_max=5000, max_inflight=100),
    )
    assert up.drain(5)
    msgs = MemoryBroker.named("big").messages("fednids/v1/pi-1/flows")
    assert all(len(m.value) <= MAX_MESSAGE_BYTES for m in msgs)
    assert sum(len(decode_batch(m.value)) for m in msgs) == 2000


class _HoldingPublisher(MemoryPublisher):
    """Takes messages and never confirms them, like paho while the broker is away."""

    def __init__(self, broker, refuse_with=None, raise_on_publish=0):
        super().__init__(broker)
        self.calls = 0
        self.held = []
        self.refuse_with = refuse_with
        self.raise_on_publish = raise_on_publish

    def publish(self, topic, value, *, key=None, on_delivery=None, retain=False):
        self.calls += 1
        if self.raise_on_publish > 0:
            self.raise_on_publish -= 1
            raise TransportError("queue full")
        if self.refuse_with is not None:
            on_delivery(self.refuse_with)
            return
        self.held.append(on_delivery)


def test_the_uplink_never_republishes_what_the_publisher_holds(tmp_path, monkeypatch):
    # prepare: 64 messages handed over, none confirmed; then the clock runs an hour on
    MemoryBroker.reset("hold")
    ob = Outbox(tmp_path / "o.db")
    ob.put_many(_flows(2000))
    pub = _HoldingPublisher(MemoryBroker.named("hold"))
    up = Uplink("pi-1", ob, pub, UplinkConfig(batch_max=10, max_inflight=16))
    up.pump()
    now = [time.monotonic()]
    monkeypatch.setattr("edge_agent.uplink.time.monotonic", lambda: now[0])
    # execute
    for _ in range(120):
        now[0] += 30
        up.pump()
    # assert: still the first 16 messages, nothing re-published, every row on disk
    assert pub.calls == 16
    assert len(ob) == 2000
    for cb in pub.held:
        cb(None)
    up.pump()
    assert len(ob) == 2000 - 160


def test_refusals_probe_with_one_message_and_back_off(tmp_path, monkeypatch):
    # prepare: a broker answering every message with "no matching subscribers"
    from contracts.transports.mqtt import PublishNotDelivered

    MemoryBroker.reset("probe")
    ob = Outbox(tmp_path / "o.db")
    ob.put_many(_flows(500))
    pub = _HoldingPublisher(MemoryBroker.named("probe"), PublishNotDelivered(0x10, "No match"))
    up = Uplink("pi-1", ob, pub, UplinkConfig(batch_max=10, max_inflight=8, retry_backoff_s=1))
    now = [1000.0]
    monkeypatch.setattr("edge_agent.uplink.time.monotonic", lambda: now[0])
    # execute: one full window, then a pump every 0.5 s for 40 s
    up.pump()
    first = pub.calls
    for _ in range(80):
        now[0] += 0.5
        up.pump()
    # assert: one probe per round, the waits doubling (1, 2, 4, 8, 16 s), no row deleted
    assert first == 8
    assert pub.calls - first == 5
    assert len(ob) == 500 and up.refused == pub.calls


def test_a_message_the_publisher_would_not_take_is_sent_again(tmp_path):
    MemoryBroker.reset("full")
    ob = Outbox(tmp_path / "o.db")
    ob.put_many(_flows(30))
    pub = _HoldingPublisher(MemoryBroker.named("full"), raise_on_publish=1)
    up = Uplink("pi-1", ob, pub, UplinkConfig(batch_max=10, retry_backoff_s=0.01))
    for _ in range(100):  # a broker confirming whatever it got
        up.pump()
        held, pub.held = pub.held, []
        for cb in held:
            cb(None)
        if len(ob) == 0:
            break
        time.sleep(0.02)
    assert len(ob) == 0 and up.refused == 1


def test_the_default_outbox_survives_power_loss(tmp_path):
    assert Outbox(tmp_path / "o.db").synchronous() == "FULL"
    assert Outbox(tmp_path / "p.db", durable=False).synchronous() == "NORMAL"


class _NoSubscriberForData(MemoryPublisher):
    """A broker with nobody subscribed to the node's data (the hub's bridge away): every
    non-retained message is answered 0x10; retained heartbeats are kept."""

    def publish(self, topic, value, *, key=None, on_delivery=None, retain=False):
        from contracts.transports.mqtt import PublishNotDelivered

        if not retain and on_delivery is not None:
            on_delivery(PublishNotDelivered(0x10, "No matching subscribers"))
            return
        super().publish(topic, value, key=key, on_delivery=on_delivery, retain=retain)


def test_a_refused_backlog_never_freezes_the_heartbeat(tmp_path):
    # prepare: flows nobody takes, then three heartbeats, the last one naming a new model
    MemoryBroker.reset("hb")
    broker = MemoryBroker.named("hb")
    ob = Outbox(tmp_path / "o.db")
    ob.put_many(_flows(30))
    up = Uplink("pi-1", ob, _NoSubscriberForData(broker), UplinkConfig(retry_backoff_s=30))
    up.pump()  # refused: the data lane backs off
    # execute: heartbeats keep coming while the backlog waits
    for version in ("lstm-ae-1", "lstm-ae-1", "lstm-ae-2"):
        status = NodeStatus(node_id="pi-1", online=True, model_version=version)
        ob.put_many([("status", encode(status))])
        up.pump()
        time.sleep(0.01)
    # assert: every heartbeat went out, in order (the newest retained last); the flows wait
    beats = [decode_batch(m.value)[0] for m in broker.messages("fednids/v1/pi-1/status")]
    assert [b.model_version for b in beats] == ["lstm-ae-1", "lstm-ae-1", "lstm-ae-2"]
    up._collect_acks()
    assert len(ob) == 30
    assert up.refused >= 1
