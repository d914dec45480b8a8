"""Kafka down for minutes while a fleet publishes: nothing may be lost, and where does it wait?

    python -m benchmarks.kafka_outage [--json OUT] [--nodes 50] [--minutes 10] [--rate 10]
                                      [--before 15] [--after 15]

Private servers through the test harness (the shared ones are never stopped): a Mosquitto
and a Kafka of their own, the real bridge (``fednids bridge``, a subprocess). ``--nodes``
simulated agents run as threads, each with its own SQLite outbox, the agent's uplink and its
own MQTT connection, staging ``--rate`` flow records per second (one commit every 0.1 s, as
the agent does). After ``--before`` seconds Kafka is stopped for ``--minutes``, then started
again; the agents keep producing for ``--after`` seconds, then drain. A consumer reads
``network_data`` from the start and counts every event id.

Reported: events sent (rows the agents committed), received (distinct ids in Kafka), lost,
duplicates; peak Mosquitto RSS and its bytes written (the 1 s persistence snapshots); the
bridge's peak RSS; agent outbox depths (total and the deepest node) at the end of the outage;
time from Kafka's return until every event was in Kafka. The machine may be shared and
loaded: the figures are for this run only.
"""

from __future__ import annotations

import argparse
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

from benchmarks.common import add_json_arg, rss_kb, start_bridge, write_result
from contracts import decode, encode
from contracts.errors import ContractError
from contracts.events import FlowRecord
from contracts.features import FLOW_FEATURES
from contracts.transports import TransportOptions, open_publisher, open_subscriber, parse_url
from contracts.transports.kafka import ensure_topics
from edge_agent.outbox import Outbox
from edge_agent.uplink import Uplink, UplinkConfig

TOPICS = ["network_data", "anomalies", "node_status", "fl_events", "dead_letter"]


def write_bytes(pid: int | None) -> int:
    try:
        for line in Path(f"/proc/{pid}/io").read_text().splitlines():
            if line.startswith("write_bytes:"):
                return int(line.split()[1])
    except (OSError, TypeError):
        return 0
    return 0


class SimNode:
    """One simulated agent: outbox + uplink + MQTT publisher, fed ``rate`` flows per second."""

    def __init__(self, node: str, mqtt_url: str, directory: Path, rate: float) -> None:
        self.node = node
        self.rate = rate
        self.outbox = Outbox(directory / f"{node}.db")
        self.pub = open_publisher(mqtt_url, TransportOptions(client_id=f"agent-{node}"))
        self.uplink = Uplink(node, self.outbox, self.pub, UplinkConfig(batch_interval_s=0.1))
        self.sent: set[uuid.UUID] = set()
        self.stop = threading.Event()
        self._t = threading.Thread(target=self._produce, name=f"sim-{node}", daemon=True)
        self._i = 0

    def start(self) -> None:
        self.uplink.start()
        self._t.start()

    def _produce(self) -> None:
        owed = 0.0
        feats = [0.0] * len(FLOW_FEATURES)
        while not self.stop.is_set():
            owed += self.rate * 0.1
            n, owed = int(owed), owed - int(owed)
            now = time.time()
            evs = [
                FlowRecord(
                    node_id=self.node,
                    flow_id=f"f{self._i + j}",
                    src_ip="10.1.0.2",
                    dst_ip="10.1.0.3",
                    src_port=40000 + (self._i + j) % 20000,
                    dst_port=443,
                    proto=6,
                    start_ts=now - 1,
                    end_ts=now,
                    end_reason="fin",
                    features=feats,
                )
                for j in range(n)
            ]
            self._i += n
            if evs:
                self.outbox.put_many([("flows", encode(e)) for e in evs])
                self.sent.update(e.event_id for e in evs)
            self.stop.wait(0.1)

    def stop_producing(self) -> None:
        self.stop.set()
        self._t.join(10)

    def close(self) -> None:
        self.uplink.stop()
        self.pub.close()
        self.outbox.close()


class KafkaCount:
    """Counts, per event id, the records of our nodes on ``network_data`` (from the start)."""

    def __init__(self, kafka_url: str, prefix: str) -> None:
        self.prefix = prefix
        self.counts: dict[uuid.UUID, int] = {}
        self.sub = open_subscriber(kafka_url, ["network_data"], group=f"count-{prefix}")
        self.stop = threading.Event()
        self._t = threading.Thread(target=self._run, daemon=True)
        self._t.start()

    def _run(self) -> None:
        while not self.stop.is_set():
            for m in self.sub.poll(0.5, 5000):
                if not (m.key or b"").startswith(self.prefix.encode()):
                    continue
                try:
                    ev = decode(m.value)
                except ContractError:
                    continue
                self.counts[ev.event_id] = self.counts.get(ev.event_id, 0) + 1

    def close(self) -> None:
        self.stop.set()
        self._t.join(10)
        self.sub.close()


def run(
    nodes: int,
    outage_s: float,
    rate: float,
    before_s: float = 15.0,
    after_s: float = 15.0,
    mqtt_port: int = 21966,
    kafka_port: int = 29592,
    settle_s: float = 300.0,
) -> dict[str, Any]:
    from tests.harness.servers import KafkaServer, MosquittoServer

    broker = MosquittoServer(port=mqtt_port)
    kafka = KafkaServer(port=kafka_port)
    broker.wipe()
    kafka.wipe()
    broker.start()
    kafka.start()
    ensure_topics(parse_url(kafka.url), TOPICS)
    tag = f"ko{uuid.uuid4().hex[:6]}"
    bridge = start_bridge(broker.url, kafka.url, f"bridge-{tag}", session_expiry_s=3600)
    peak = {"mosquitto_rss_kb": 0, "bridge_rss_kb": 0}
    sampling = threading.Event()

    def sample() -> None:
        while not sampling.is_set():
            peak["mosquitto_rss_kb"] = max(peak["mosquitto_rss_kb"], rss_kb(broker.pid()))
            peak["bridge_rss_kb"] = max(peak["bridge_rss_kb"], rss_kb(bridge.pid))
            sampling.wait(1.0)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    counter: KafkaCount | None = None
    with tempfile.TemporaryDirectory(prefix="kafka-outage-") as tmp:
        sims = [SimNode(f"{tag}-{i}", broker.url, Path(tmp), rate) for i in range(nodes)]
        try:
            for s in sims:
                s.start()
            time.sleep(before_s)
            written_before = write_bytes(broker.pid())
            kafka.stop()
            t_down = time.monotonic()
            time.sleep(outage_s)
            depths = [len(s.outbox) for s in sims]
            rss_at_end_of_outage = rss_kb(broker.pid())
            written_in_outage = write_bytes(broker.pid()) - written_before
            kafka.start()
            t_up = time.monotonic()
            counter = KafkaCount(kafka.url, tag)
            time.sleep(after_s)
            for s in sims:
                s.stop_producing()
            sent = set().union(*(s.sent for s in sims))
            deadline = time.monotonic() + settle_s
            drained = all(s.uplink.drain(max(1.0, deadline - time.monotonic())) for s in sims)
            while time.monotonic() < deadline and not sent <= counter.counts.keys():
                time.sleep(0.5)
            caught_up_s = time.monotonic() - t_up
            received = set(counter.counts) & sent
            dups = sum(c - 1 for i, c in counter.counts.items() if i in sent)
        finally:
            sampling.set()
            sampler.join(5)
            for s in sims:
                s.stop_producing()
                s.close()
            if counter is not None:
                counter.close()
            bridge.send_signal(signal.SIGTERM)
            try:
                bridge.wait(30)
            except subprocess.TimeoutExpired:
                bridge.kill()
            broker.stop()
            kafka.stop()
    return {
        "benchmark": "kafka_outage",
        "nodes": nodes,
        "rate_per_node": rate,
        "outage_s": round(t_up - t_down, 1),
        "events_sent": len(sent),
        "events_received": len(received),
        "events_lost": len(sent - received),
        "duplicates": dups,
        "agents_drained": drained,
        "outbox_depth_at_end_of_outage": {
            "total": sum(depths),
            "max_node": max(depths),
            "min_node": min(depths),
        },
        "mosquitto_peak_rss_mb": round(peak["mosquitto_rss_kb"] / 1024, 1),
        "mosquitto_rss_at_end_of_outage_mb": round(rss_at_end_of_outage / 1024, 1),
        "mosquitto_bytes_written_in_outage_mb": round(written_in_outage / 2**20, 1),
        "bridge_peak_rss_mb": round(peak["bridge_rss_kb"] / 1024, 1),
        "caught_up_after_kafka_back_s": round(caught_up_s, 1),
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.kafka_outage")
    add_json_arg(ap)
    ap.add_argument("--nodes", type=int, default=50)
    ap.add_argument("--minutes", type=float, default=10.0)
    ap.add_argument("--rate", type=float, default=10.0, help="flows per second per node")
    ap.add_argument("--before", type=float, default=15.0)
    ap.add_argument("--after", type=float, default=15.0)
    args = ap.parse_args(argv)
    result = run(args.nodes, args.minutes * 60, args.rate, args.before, args.after)
    sys.stdout.write(write_result(args.json, result) + "\n")
    return 0 if result["events_lost"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
