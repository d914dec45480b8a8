"""End-to-end latency: agent publish (MQTT QoS 1) -> bridge -> Kafka -> ingestor -> row
committed in PostgreSQL -> WebSocket message, at a given event rate.

The agent (publisher) and the operator (WebSocket client) run as their own processes, as
they would on other machines; the hub process holds the ingestor and the API.

    python -m benchmarks.e2e_latency --rate R --json OUT [--seconds S] [--mqtt/--kafka/--db URLs]

Real Mosquitto, Kafka and PostgreSQL (through the test harness unless URLs are given); the
bridge runs as its own process; the ingestor and the API (uvicorn + FastAPI WebSocket) run in
this process; a websockets client receives the events. Events are batched like the agent
does (every 100 ms) and carry their publish time, so latency = WebSocket receipt - publish.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import numpy as np
from sqlalchemy import text

from benchmarks.common import add_json_arg, free_port, percentiles, start_bridge, write_result
from contracts import FLOW_FEATURES, encode_batch
from contracts.events import FlowRecord
from contracts.transports import TransportOptions, open_publisher, open_subscriber, parse_url
from contracts.transports.kafka import ensure_topics
from hub.bus import EventBus
from hub.ingestor import INGEST_TOPICS, Ingestor
from hub.settings import HubSettings
from hub.storage import EventStore
from hub.storage.tokens import create_token


async def _listen(args: argparse.Namespace) -> int:
    """The operator: a WebSocket client; latency = receipt - the event's publish time."""
    import websockets

    uri = f"ws://127.0.0.1:{args.port}/ws/events?topics=network_data"
    seen: set[str] = set()
    latencies: list[tuple[float, float]] = []
    offer = ["fednids.v1", f"bearer.{args.token}"]  # the token rides in Sec-WebSocket-Protocol
    async with websockets.connect(uri, max_queue=None, subprotocols=offer) as ws:  # type: ignore[arg-type]
        last = time.monotonic()
        while len(seen) < args.total and time.monotonic() - last < 30:
            try:
                raw = await asyncio.wait_for(ws.recv(), 1.0)
            except TimeoutError:
                continue
            now = time.time()
            ev = json.loads(raw)["event"]
            if ev["node_id"] == args.node and ev["event_id"] not in seen:
                seen.add(ev["event_id"])
                latencies.append((ev["start_ts"], now - ev["start_ts"]))
                last = time.monotonic()
    args.out.write_text(json.dumps({"received": len(seen), "latencies": latencies}))
    return 0


def _publish(args: argparse.Namespace) -> int:
    """The agent: one batch every 100 ms over MQTT QoS 1; each event carries its publish time."""
    feats = [0.0] * len(FLOW_FEATURES)
    pub = open_publisher(
        args.mqtt, TransportOptions(client_id=f"agent-{args.node}", clean_start=True)
    )
    per_tick = max(1, args.rate // 10)
    t_start = time.monotonic()
    for tick in range(int(args.seconds * 10)):
        due = t_start + tick * 0.1
        if (d := due - time.monotonic()) > 0:
            time.sleep(d)
        now = time.time()
        evs = [
            FlowRecord(
                node_id=args.node,
                flow_id=f"{tick}-{i}",
                src_ip="10.0.0.1",
                dst_ip="10.0.0.2",
                src_port=1,
                dst_port=443,
                proto=6,
                start_ts=now,
                end_ts=now,
                end_reason="fin",
                features=feats,
            )
            for i in range(per_tick)
        ]
        for i in range(0, len(evs), 400):
            pub.publish(f"fednids/v1/{args.node}/flows", encode_batch(args.node, evs[i : i + 400]))
    pending = pub.flush(60)
    pub.close()
    return 1 if pending else 0


def main() -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--rate", type=int, required=True, help="events per second")
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument(
        "--warmup",
        type=float,
        default=2.0,
        help="seconds of traffic first, left out of the percentiles",
    )
    add_json_arg(ap, required=True)
    ap.add_argument("--mqtt")
    ap.add_argument("--kafka")
    ap.add_argument("--db")
    ap.add_argument(
        "--role", choices=["hub", "listen", "publish"], default="hub", help=argparse.SUPPRESS
    )
    ap.add_argument("--port", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--token", help=argparse.SUPPRESS)
    ap.add_argument("--node", help=argparse.SUPPRESS)
    ap.add_argument("--total", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.role == "listen":
        return asyncio.run(_listen(args))
    if args.role == "publish":
        return _publish(args)
    private_kafka = private_mqtt = None
    if not (args.mqtt and args.kafka and args.db):
        from tests.harness.servers import KafkaServer, MosquittoServer, ensure_postgres

        args.db = args.db or ensure_postgres().url
        if not args.mqtt:  # a fresh broker: no sessions or queues left by earlier runs
            private_mqtt = MosquittoServer(port=31883)
            private_mqtt.wipe()
            args.mqtt = private_mqtt.start().url
        if not args.kafka:  # a fresh broker: no backlog from earlier runs in the measurement
            private_kafka = KafkaServer(port=39092)
            private_kafka.wipe()
            args.kafka = private_kafka.start().url
    import uvicorn

    from hub.api.app import create_app

    tag = uuid.uuid4().hex[:6]
    node = f"e2e{tag}"
    schema = f"e2e{tag}"
    with EventStore(args.db).engine.begin() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    store = EventStore(args.db + f"?options=-csearch_path%3D{schema}")
    store.create_schema()
    token = create_token(store, "bench", "read")
    ensure_topics(parse_url(args.kafka), [*INGEST_TOPICS, "dead_letter"])
    bus = EventBus(maxsize=100_000)
    stop = threading.Event()
    ingestor = Ingestor(
        open_subscriber(args.kafka, INGEST_TOPICS, group=f"ingestor-{tag}"),
        store,
        open_publisher(args.kafka),
        bus,
    )
    threading.Thread(target=ingestor.run, args=(stop,), daemon=True).start()
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(HubSettings(db_url=args.db), store, bus),
            host="127.0.0.1",
            port=port,
            log_level="warning",
        )
    )
    threading.Thread(target=server.run, daemon=True).start()
    while not server.started:
        time.sleep(0.05)
    bridge = start_bridge(args.mqtt, args.kafka, f"e2e-{tag}", session_expiry_s=60)
    total = int(args.rate * args.seconds)
    out_file = Path(tempfile.mkdtemp()) / "latencies.json"
    # the operator's browser and the agent are other machines: separate processes here
    listener = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "benchmarks.e2e_latency",
            "--role",
            "listen",
            "--port",
            str(port),
            "--token",
            token,
            "--node",
            node,
            "--total",
            str(total),
            "--out",
            str(out_file),
            "--rate",
            str(args.rate),
            "--json",
            "-",
        ]
    )
    time.sleep(2.0)  # connected and subscribed
    wall_start = time.time()
    subprocess.run(
        [
            sys.executable,
            "-m",
            "benchmarks.e2e_latency",
            "--role",
            "publish",
            "--mqtt",
            args.mqtt,
            "--node",
            node,
            "--rate",
            str(args.rate),
            "--seconds",
            str(args.seconds),
            "--json",
            "-",
        ],
        check=True,
    )
    listener.wait(180)
    result = json.loads(out_file.read_text())
    latencies = [tuple(x) for x in result["latencies"]]
    sent_count = total
    received = result["received"]
    stop.set()
    server.should_exit = True
    bridge.send_signal(signal.SIGTERM)
    bridge.wait(30)
    with EventStore(args.db).engine.begin() as conn:
        rows = conn.execute(text(f"SELECT COUNT(*) FROM {schema}.flows")).scalar_one()
        conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
    for private in (private_kafka, private_mqtt):
        if private is not None:
            private.stop()
    lat_all = np.array([x for _, x in latencies]) * 1000
    lat = np.array([x for t, x in latencies if t >= wall_start + args.warmup]) * 1000
    out = {
        "rate": args.rate,
        "seconds": args.seconds,
        "sent": sent_count,
        "received_ws": received,
        "rows_committed": int(rows),
        "lost": sent_count - received,
        **percentiles(lat, suffix="_ms"),
        "max_ms": round(float(lat.max()), 1) if len(lat) else None,
        "warmup_s": args.warmup,
        "p99_ms_including_warmup": percentiles(lat_all, (99,))["p99"],
    }
    print(write_result(args.json, out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
