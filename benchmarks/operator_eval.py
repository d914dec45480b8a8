"""What the operator sees, scored: a labelled capture replayed through the real processes.

    python -m benchmarks.operator_eval --pcap P --labels L --json OUT [--start-packet N]

Each part runs as its own process, started with the installed ``fednids`` console script
exactly as the README starts it:

    fednids agent run --source pcap:P --mqtt mqtt://... --node-id N   (the sensor)
    real Mosquitto -> fednids bridge -> real Kafka
    fednids hub anomaly-iforest | threat-classifier | gnn-predictor | alerting
    fednids hub ingestor -> real PostgreSQL

Isolation: Mosquitto and Kafka are private instances of the test harness on their own ports,
wiped before the run (the hub services' consumer groups have fixed names, so a shared Kafka
would mix other users' events in); PostgreSQL is the harness's shared server with a fresh
database of this run (dropped afterwards unless ``--keep-db``). The node id is unique.

When the agent has replayed the capture (and drained its outbox), the run waits until the
pipeline is quiet (no consumer-group lag on the private Kafka, and the stored flows, events
and alerts unchanged for ``--quiet-s`` seconds; bounded by ``--timeout``), stops every process
with SIGTERM, reads the incidents (the latest AlertEvent of each incident key) from the
``alerts`` table and scores them against the ground truth built from the labels
(:mod:`models.eval.incidents`). Incidents wholly before ``--start-packet`` (the capture's
attack-free learning prefix) are counted but not scored.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import shlex
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from benchmarks.common import REPO, add_json_arg, fednids_command, write_result
from contracts.events import AlertEvent
from contracts.topics import KafkaTopic
from contracts.transports import parse_url
from contracts.transports.kafka import ensure_topics
from hub.storage import EventStore
from models.eval.incidents import GroundTruth, GroundTruthError, score_incidents
from models.paths import artifact_dir

SERVICES = ("anomaly-iforest", "threat-classifier", "gnn-predictor", "alerting")
TARGETS = {  # issue 13, "Targets": what operator_eval on the replay capture should reach
    "every_attack_found_family_right": True,
    "incidents_max": 12,
    "false_incidents_max": 3,
    "time_to_alert_p95_s_max": 10.0,
}


class Proc:
    """One process of the chain, its output in a log file."""

    def __init__(self, name: str, args: list[str], log_dir: Path, env: dict[str, str]) -> None:
        self.name = name
        self.args = args
        self.log = log_dir / f"{name}.log"
        self._fh = self.log.open("w")
        self.started = time.monotonic()
        self.popen = subprocess.Popen(
            args, stdout=self._fh, stderr=subprocess.STDOUT, env=env, cwd=str(REPO)
        )
        self.ended: float | None = None

    def text(self) -> str:
        try:
            return self.log.read_text(errors="replace")
        except OSError:
            return ""

    def alive(self) -> bool:
        return self.popen.poll() is None

    def stop(self, timeout: float = 30.0) -> int | None:
        """SIGTERM, then wait; SIGKILL only if it does not stop in ``timeout``."""
        if self.alive():
            self.popen.send_signal(signal.SIGTERM)
            try:
                self.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait(10)
        self._fh.close()
        return self.popen.returncode

    def tail(self, n: int = 15) -> list[str]:
        return self.text().splitlines()[-n:]


def wait_for(pred: Any, timeout: float, every: float = 0.5) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return True
        time.sleep(every)
    return bool(pred())


def store_counts(store: EventStore) -> dict[str, Any]:
    with store.engine.connect() as conn:
        flows = conn.execute(text("SELECT count(*) FROM flows")).scalar_one()
        kinds: dict[str, int] = {
            str(k): int(v)
            for k, v in conn.execute(text("SELECT kind, count(*) FROM events GROUP BY kind"))
        }
        alerts, updated = conn.execute(text("SELECT count(*), max(updated) FROM alerts")).one()
    return {
        "flows": int(flows),
        "events": kinds,
        "alerts": int(alerts),
        "alerts_updated": updated,
    }


def kafka_lag(bootstrap: str) -> dict[str, int] | None:
    """Per consumer group on the (private) broker: messages not yet committed. None if the
    broker cannot be asked."""
    from confluent_kafka import Consumer, KafkaException, TopicPartition
    from confluent_kafka.admin import AdminClient

    try:
        admin = AdminClient({"bootstrap.servers": bootstrap})
        groups = [g.group_id for g in admin.list_consumer_groups().result(timeout=10).valid]
        meta = admin.list_topics(timeout=10)
        probe = Consumer({"bootstrap.servers": bootstrap, "group.id": f"lag-{uuid.uuid4().hex}"})
        try:
            lags: dict[str, int] = {}
            for g in groups:
                c = Consumer(
                    {"bootstrap.servers": bootstrap, "group.id": g, "enable.auto.commit": False}
                )
                try:
                    tps = [
                        TopicPartition(t, p)
                        for t, tm in meta.topics.items()
                        if not t.startswith("__")
                        for p in tm.partitions
                    ]
                    lag = 0
                    for tp in c.committed(tps, timeout=10):
                        if tp.offset < 0:  # never committed: nothing read here (or not yet)
                            continue
                        _lo, hi = probe.get_watermark_offsets(tp, timeout=10)
                        lag += max(0, hi - tp.offset)
                    lags[g] = lag
                finally:
                    c.close()
            return lags
        finally:
            probe.close()
    except (KafkaException, RuntimeError, ValueError):  # only means "not known yet"
        return None


def topic_sizes(bootstrap: str) -> dict[str, int]:
    from confluent_kafka import Consumer, TopicPartition

    c = Consumer({"bootstrap.servers": bootstrap, "group.id": f"size-{uuid.uuid4().hex}"})
    try:
        meta = c.list_topics(timeout=10)
        out: dict[str, int] = {}
        for t, tm in meta.topics.items():
            if t.startswith("__"):
                continue
            total = 0
            for p in tm.partitions:
                lo, hi = c.get_watermark_offsets(TopicPartition(t, p), timeout=10)
                total += hi - lo
            out[t] = total
        return out
    finally:
        c.close()


def read_incidents(store: EventStore) -> list[AlertEvent]:
    with store.engine.connect() as conn:
        rows = conn.execute(text("SELECT payload FROM alerts")).scalars().all()
    out: list[AlertEvent] = []
    for raw in rows:
        try:
            out.append(AlertEvent.model_validate_json(raw))
        except ValueError as exc:
            print(f"operator_eval: an alerts row is not an AlertEvent: {exc}", file=sys.stderr)
    return out


def agent_result(log_text: str) -> dict[str, Any] | None:
    m = re.search(r"agent stopped: (\{.*\})", log_text)
    if not m:
        return None
    try:
        result: dict[str, Any] = json.loads(m.group(1))
        return result
    except ValueError:
        return None


def fresh_database(db: str | None) -> tuple[str, Any]:
    """A new database on the given server URL, or on the harness's shared PostgreSQL."""
    name = f"opeval_{uuid.uuid4().hex[:10]}"
    if db:
        admin = EventStore(db)
        with admin.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text(f"CREATE DATABASE {name}"))
        url = db.rsplit("/", 1)[0] + f"/{name}"

        def drop() -> None:
            admin.engine.dispose()
            with admin.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))

        return url, drop
    from tests.harness.servers import ensure_postgres

    pg = ensure_postgres()
    pg.psql(f"CREATE DATABASE {name} OWNER fednids")
    return pg.url.rsplit("/", 1)[0] + f"/{name}", lambda: pg.psql(
        f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"
    )


def main() -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--pcap", type=Path, required=True)
    ap.add_argument("--labels", type=Path, required=True, help="index,label,attack per packet")
    add_json_arg(ap, required=True)
    ap.add_argument(
        "--start-packet",
        type=int,
        default=0,
        help="score from this packet on (the packets before: an attack-free learning prefix)",
    )
    ap.add_argument("--slack", type=float, default=60.0, help="capture seconds of time slack")
    ap.add_argument(
        "--model-dir",
        default=str(artifact_dir("lstm-ae")),
        help="the agent's LSTM (the shipped one by default; 'none': rules and baseline only)",
    )
    ap.add_argument(
        "--agent-args", default="", help="more `fednids agent run` options (one string)"
    )
    ap.add_argument("--quiet-s", type=float, default=45.0, help="stable this long = done")
    ap.add_argument("--timeout", type=float, default=1800.0, help="bound on the whole run")
    ap.add_argument("--mqtt", help="an existing broker (default: a private harness Mosquitto)")
    ap.add_argument("--kafka", help="an existing broker (default: a private harness Kafka)")
    ap.add_argument("--db", help="a PostgreSQL server URL: a fresh database is made on it")
    ap.add_argument("--keep-db", action="store_true")
    ap.add_argument("--log-dir", type=Path, help="process logs (default: a temp dir)")
    ap.add_argument(
        "--rescore",
        type=Path,
        help="score the incidents (AlertEvent JSON lines) an earlier run saved; no replay",
    )
    ap.add_argument("--mqtt-port", type=int, default=31983)
    ap.add_argument("--kafka-port", type=int, default=39392)
    args = ap.parse_args()

    t_begin = time.monotonic()
    try:
        truth = GroundTruth.from_capture(args.pcap, args.labels, start_packet=args.start_packet)
    except GroundTruthError as exc:
        print(f"operator_eval: {exc}", file=sys.stderr)
        return 2
    t_truth = time.monotonic() - t_begin
    if args.rescore:
        return rescore(args, truth)
    log_dir = args.log_dir or Path(tempfile.mkdtemp(prefix="opeval-"))
    log_dir.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="opeval-state-"))
    tag = uuid.uuid4().hex[:8]
    node = f"opeval-{tag}"

    private: list[Any] = []
    kafka_private = not args.kafka  # then every consumer group and topic on it is this run's
    procs: dict[str, Proc] = {}
    drop_db: Any = None
    notes: list[str] = []
    try:
        if not args.mqtt or not args.kafka:
            from tests.harness.servers import KafkaServer, MosquittoServer

            if not args.mqtt:
                m = MosquittoServer(port=args.mqtt_port)
                m.wipe()
                private.append(m)
                args.mqtt = m.start().url
            if not args.kafka:
                k = KafkaServer(port=args.kafka_port)
                k.wipe()
                private.append(k)
                args.kafka = k.start().url
        if not kafka_private:
            notes.append("an existing Kafka given: events of other users may be counted")
        db_url, drop_db = fresh_database(args.db)
        store = EventStore(db_url)
        kafka = parse_url(args.kafka)
        bootstrap = f"{kafka.host}:{kafka.port}"
        ensure_topics(kafka, [t.value for t in KafkaTopic])
        fed = fednids_command()
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        t_servers = time.monotonic() - t_begin

        # the hub side first, so nothing the agent sends waits for a consumer
        procs["ingestor"] = Proc(
            "ingestor",
            [*fed, "hub", "ingestor", "--kafka", args.kafka, "--db", db_url],
            log_dir,
            env,
        )
        for svc in SERVICES:
            procs[svc] = Proc(svc, [*fed, "hub", svc, "--kafka", args.kafka], log_dir, env)
        procs["bridge"] = Proc(
            "bridge",
            [
                *fed, "bridge", "--mqtt", args.mqtt, "--kafka", args.kafka,
                "--client-id", f"bridge-{tag}", "--group", f"opeval-{tag}",
            ],
            log_dir,
            env,
        )  # fmt: skip
        if not wait_for(lambda: " ready: " in procs["bridge"].text(), 90):
            raise RuntimeError(f"bridge not ready in 90 s: {procs['bridge'].tail()}")
        if not wait_for(lambda: _has_table(store, "alerts") or not procs["ingestor"].alive(), 90):
            raise RuntimeError(f"ingestor made no schema in 90 s: {procs['ingestor'].tail()}")
        dead = [n for n, p in procs.items() if not p.alive()]
        if dead:
            raise RuntimeError(
                "exited at start: "
                + "; ".join(f"{n}: {' | '.join(procs[n].tail(5))}" for n in dead)
            )
        t_hub_ready = time.monotonic() - t_begin

        agent_cmd = [
            *fed, "agent", "run", "--source", f"pcap:{args.pcap.resolve()}",
            "--mqtt", args.mqtt, "--node-id", node, "--outbox", str(work / "outbox.db"),
        ]  # fmt: skip
        if args.model_dir and args.model_dir.lower() != "none":
            agent_cmd += ["--model-dir", args.model_dir]
        agent_cmd += shlex.split(args.agent_args)
        t_agent0 = time.monotonic()
        procs["agent"] = Proc("agent", agent_cmd, log_dir, env)
        budget = args.timeout - (time.monotonic() - t_begin)
        try:
            procs["agent"].popen.wait(max(1.0, budget))
        except subprocess.TimeoutExpired:
            notes.append("the agent did not finish the capture within --timeout")
        agent_wall = time.monotonic() - t_agent0
        agent_rc = procs["agent"].popen.poll()
        agent_res = agent_result(procs["agent"].text())

        # quiet: no lag on Kafka and the store unchanged for quiet_s (bounded)
        t_drain0 = time.monotonic()
        last: dict[str, Any] | None = None
        stable_since = time.monotonic()
        quiet = False
        lag: dict[str, int] | None = None
        while time.monotonic() - t_begin < args.timeout:
            counts = store_counts(store)
            lag = kafka_lag(bootstrap) if kafka_private else None
            if counts != last:
                last, stable_since = counts, time.monotonic()
            lag_ok = lag is None or sum(lag.values()) == 0
            if lag_ok and time.monotonic() - stable_since >= args.quiet_s:
                quiet = True
                break
            time.sleep(2.0)
        if not quiet:
            notes.append(f"the pipeline was not quiet within --timeout (lag {lag})")
        drain_s = time.monotonic() - t_drain0

        exit_codes: dict[str, int | None] = {}
        for name in ["agent", "bridge", *SERVICES, "ingestor"]:
            if name in procs:
                exit_codes[name] = procs[name].stop()
        counts = store_counts(store)
        incidents = read_incidents(store)
        (log_dir / "incidents.jsonl").write_text(
            "".join(i.model_dump_json() + "\n" for i in incidents)
        )
        sizes = topic_sizes(bootstrap) if kafka_private else {}
    except (RuntimeError, OSError, SQLAlchemyError) as exc:
        print(f"operator_eval: {exc}", file=sys.stderr)
        for p in procs.values():
            p.stop()
        for s in private:
            with contextlib.suppress(Exception):
                s.stop()
        if drop_db is not None and not args.keep_db:
            with contextlib.suppress(Exception):
                drop_db()
        print(f"operator_eval: logs in {log_dir}", file=sys.stderr)
        return 1
    finally:
        for p in procs.values():
            if p.alive():
                p.stop()

    start_ts = truth.capture_first_ts or 0.0
    before = [i for i in incidents if i.event_last_ts is not None and i.event_last_ts < start_ts]
    scored = [i for i in incidents if i not in before]
    report = score_incidents(scored, truth, slack_s=args.slack)
    tails = {n: p.tail(8) for n, p in procs.items() if exit_codes.get(n) not in (0, None)}
    out = {
        "benchmark": "operator_eval",
        "pcap": str(args.pcap),
        "labels": str(args.labels),
        "start_packet": args.start_packet,
        "node_id": node,
        "chain": {n: " ".join(shlex.quote(a) for a in p.args) for n, p in procs.items()},
        "servers": {
            "mqtt": args.mqtt,
            "kafka": args.kafka,
            "db": db_url.rsplit("@", 1)[-1],
            "private_brokers": [s.name for s in private],
        },
        "truth": truth.to_json(),
        "score": report,
        "targets": _targets(report),
        "counts": {
            "agent": agent_res,
            "agent_exit": agent_rc,
            "flows_stored": counts["flows"],
            "anomalies_stored": counts["events"].get("anomaly", 0),
            "events_stored": counts["events"],
            "incidents_stored": counts["alerts"],
            "incidents_before_start_packet": len(before),
            "kafka_topic_messages": sizes,
            "exit_codes": exit_codes,
        },
        "timings_s": {
            "ground_truth": round(t_truth, 2),
            "servers_ready": round(t_servers, 2),
            "hub_ready": round(t_hub_ready, 2),
            "agent_replay_wall": round(agent_wall, 2),
            "agent_packets_per_s": round(agent_res["packets"] / agent_wall, 1)
            if agent_res and agent_res.get("packets") and agent_wall > 0
            else None,
            "drain_until_quiet": round(drain_s, 2),
            "quiet_window": args.quiet_s,
            "total": round(time.monotonic() - t_begin, 2),
        },
        "quiet": quiet,
        "notes": notes,
        "logs": str(log_dir),
        "failed_process_tails": tails,
    }
    for s in private:
        with contextlib.suppress(Exception):
            s.stop()
    if drop_db is not None and not args.keep_db:
        with contextlib.suppress(Exception):
            drop_db()
    write_result(args.json, out)
    print(json.dumps({"summary": report["summary"], "targets": out["targets"]}, indent=2))
    return 0


def score_after_start(
    incidents: list[AlertEvent], truth: GroundTruth, slack: float
) -> tuple[list[AlertEvent], dict[str, Any]]:
    """Incidents wholly before the first scored packet (the learning prefix) are left out."""
    start_ts = truth.capture_first_ts or 0.0
    before = [i for i in incidents if i.event_last_ts is not None and i.event_last_ts < start_ts]
    keys = {i.incident_key for i in before}
    scored = [i for i in incidents if i.incident_key not in keys]
    return before, score_incidents(scored, truth, slack_s=slack)


def rescore(args: argparse.Namespace, truth: GroundTruth) -> int:
    try:
        lines = args.rescore.read_text().splitlines()
        incidents = [AlertEvent.model_validate_json(line) for line in lines if line.strip()]
    except (OSError, ValueError) as exc:
        print(f"operator_eval: cannot read incidents {args.rescore}: {exc}", file=sys.stderr)
        return 2
    before, report = score_after_start(incidents, truth, args.slack)
    out = {
        "benchmark": "operator_eval",
        "rescored_from": str(args.rescore),
        "pcap": str(args.pcap),
        "labels": str(args.labels),
        "start_packet": args.start_packet,
        "truth": truth.to_json(),
        "score": report,
        "targets": _targets(report),
        "counts": {"incidents_before_start_packet": len(before)},
    }
    write_result(args.json, out)
    print(json.dumps({"summary": report["summary"], "targets": out["targets"]}, indent=2))
    return 0


def _has_table(store: EventStore, name: str) -> bool:
    try:
        with store.engine.connect() as conn:
            conn.execute(text(f"SELECT 1 FROM {name} LIMIT 1"))
        return True
    except SQLAlchemyError:
        return False


def _targets(report: dict[str, Any]) -> dict[str, Any]:
    s = report["summary"]
    every = all(a["found"] and a["family_right"] for a in report["attacks"])
    p95 = s["time_to_alert_p95_s"]
    return {
        "every_attack_found_family_right": every,
        "incidents": s["incidents"],
        "incidents_ok": s["incidents"] <= TARGETS["incidents_max"],
        "false_incidents_ok": s["incidents_false"] <= TARGETS["false_incidents_max"],
        "time_to_alert_p95_ok": p95 is not None and p95 <= TARGETS["time_to_alert_p95_s_max"],
        "issue_targets": TARGETS,
    }


if __name__ == "__main__":
    sys.exit(main())
