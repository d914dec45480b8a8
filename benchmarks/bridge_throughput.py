"""Bridge throughput with zero loss: agents' batches over real Mosquitto -> bridge -> real Kafka.

    python -m benchmarks.bridge_throughput --json OUT [--mqtt URL --kafka URL] [--events N]

Starts the real servers through the test harness unless URLs are given. Publishes N flow
records from several simulated nodes, batched as the agent sends them (100 per MQTT
message), through one bridge process, then reads everything back from Kafka and counts by
event_id: events_per_second (first publish -> last event in Kafka), lost, duplicates.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
import time
import uuid

from benchmarks.common import add_json_arg, start_bridge, write_result
from contracts import FLOW_FEATURES, decode, encode_batch
from contracts.events import FlowRecord
from contracts.transports import TransportOptions, open_publisher, open_subscriber, parse_url
from contracts.transports.kafka import ensure_topics


def make_batches(node: str, n_events: int, per_batch: int) -> tuple[list[bytes], set[uuid.UUID]]:
    batches, ids = [], set()
    feats = [float(i) for i in range(len(FLOW_FEATURES))]
    for b in range(0, n_events, per_batch):
        evs = [
            FlowRecord(
                node_id=node,
                flow_id=f"{b}-{i}",
                src_ip="10.0.0.1",
                dst_ip="10.0.0.2",
                src_port=1000 + i,
                dst_port=443,
                proto=6,
                start_ts=1.0,
                end_ts=2.0,
                end_reason="fin",
                features=feats,
            )
            for i in range(min(per_batch, n_events - b))
        ]
        ids.update(e.event_id for e in evs)
        batches.append(encode_batch(node, evs))
    return batches, ids


def main() -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    add_json_arg(ap, required=True)
    ap.add_argument("--mqtt")
    ap.add_argument("--kafka")
    ap.add_argument("--events", type=int, default=200_000)
    ap.add_argument("--nodes", type=int, default=4)
    ap.add_argument("--per-batch", type=int, default=100)
    args = ap.parse_args()
    if not (args.mqtt and args.kafka):
        from tests.harness.servers import ensure_kafka, ensure_mosquitto

        args.mqtt = args.mqtt or ensure_mosquitto().url
        args.kafka = args.kafka or ensure_kafka().url
    tag = uuid.uuid4().hex[:6]
    nodes = [f"bench{tag}-{i}" for i in range(args.nodes)]
    topic_out = "network_data"
    ensure_topics(
        parse_url(args.kafka), [topic_out, "dead_letter", "anomalies", "node_status", "fl_events"]
    )
    prepared = {n: make_batches(n, args.events // args.nodes, args.per_batch) for n in nodes}
    sent = set().union(*(ids for _, ids in prepared.values()))
    # a consumer that starts at the end of network_data is assigned before we publish
    counts: dict[uuid.UUID, int] = {}
    last_seen = [0.0]
    sub = open_subscriber(args.kafka, [topic_out], group=f"bench-{tag}")
    stop = threading.Event()

    def consume() -> None:
        while not stop.is_set():
            for m in sub.poll(0.5, 5000):
                if m.key and m.key.decode().startswith(f"bench{tag}"):
                    ev = decode(m.value)
                    counts[ev.event_id] = counts.get(ev.event_id, 0) + 1
                    last_seen[0] = time.perf_counter()

    reader = threading.Thread(target=consume, daemon=True)
    reader.start()
    bridge = start_bridge(args.mqtt, args.kafka, f"bench-{tag}", session_expiry_s=60)
    time.sleep(3)  # the reader's group assignment
    t0 = time.perf_counter()

    def publish(node: str) -> None:
        pub = open_publisher(
            args.mqtt, TransportOptions(client_id=f"pub-{node}", clean_start=True, max_inflight=200)
        )
        for payload in prepared[node][0]:
            pub.publish(f"fednids/v1/{node}/flows", payload)
        pub.flush(300)
        pub.close()

    pubs = [threading.Thread(target=publish, args=(n,)) for n in nodes]
    for t in pubs:
        t.start()
    for t in pubs:
        t.join()
    published = time.perf_counter()
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and not sent <= counts.keys():
        time.sleep(0.2)
    stop.set()
    reader.join(10)
    bridge.send_signal(signal.SIGTERM)
    bridge.wait(30)
    elapsed = last_seen[0] - t0
    out = {
        "events": len(sent),
        "nodes": args.nodes,
        "events_per_message": args.per_batch,
        "events_per_second": round(len(sent) / elapsed) if elapsed > 0 else 0,
        "messages_per_second": round(len(sent) / args.per_batch / elapsed, 1) if elapsed > 0 else 0,
        "publish_seconds": round(published - t0, 2),
        "total_seconds": round(elapsed, 2),
        "lost": len(sent - counts.keys()),
        "duplicates": sum(c - 1 for c in counts.values() if c > 1),
        "mqtt": args.mqtt,
        "kafka": args.kafka,
    }
    print(write_result(args.json, out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
