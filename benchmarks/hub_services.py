"""Hub analytics services on the real Kafka: throughput and network_data -> alerts latency.

    python -m benchmarks.hub_services --json OUT [--kafka URL] [--flows N] [--rate R]

Starts a PRIVATE Kafka through the test harness (port 39192, wiped: no backlog) unless
--kafka is given. Runs ``fednids hub anomaly-iforest``, ``threat-classifier`` and
``alerting`` as separate processes (one consumer-group member each, 3 partitions).

- ``flows_per_second``: N pre-encoded flows (8 nodes, ~5 % attack-like with an edge LSTM
  vote each) are written to ``network_data`` while the services run; measured from the first
  write until both the iforest's and the classifier's groups committed the last offset of
  every partition (each flow decoded, scored / joined, outputs delivered, input committed).
- ``p99_ms``: then R flows/s of background traffic for D seconds, with one attack flow
  from a new source to a new target every 50 ms (alerting keys a DoS incident by its target,
  any other by its source: either way each attack is a new incident); latency = wall time
  from writing the attack flow until its alert (that new incident) is read from ``alerts``.
  ``alerts_matched`` of ``attacks_sent``: the rest were called benign or stayed below the
  alerting service's minimum severity.

Classifier: ``models/artifacts/classifier`` through ``models.classifier.ThreatClassifier``
when present; otherwise a HistGradientBoosting model with the same interface fitted here on
synthetic labelled flows (reported as ``classifier`` in the JSON).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import numpy as np

from benchmarks.common import add_json_arg, percentiles, write_result
from contracts import decode, encode
from contracts.events import AnomalyEvent, FlowRecord
from contracts.features import FLOW_FEATURES
from contracts.transports import open_publisher, open_subscriber, parse_url
from contracts.transports.kafka import ensure_topics
from models.paths import artifact_dir

NF = len(FLOW_FEATURES)
ROOT = Path(__file__).resolve().parents[1]
TOPICS = [
    "network_data",
    "anomalies",
    "attack_classified",
    "attack_predicted",
    "alerts",
    "dead_letter",
]


BENIGN = np.full(NF, 20.0)


def _normal_point(seed: int = 0) -> np.ndarray:
    """A feature vector the shipped Isolation Forest scores as normal (random search), so that
    background flows are mostly not flagged, as on real benign traffic."""
    from models.iforest import IForestModel

    m = IForestModel.load(artifact_dir("iforest"))
    rng = np.random.default_rng(seed)
    z = rng.uniform(0, 8, (5000, NF))
    s = m.score(np.expm1(z))
    best, bs = z[s.argmin()], float(s.min())
    for _ in range(300):
        c = np.clip(best + rng.normal(0, 0.5, (200, NF)) * (rng.random((200, NF)) < 0.2), 0, 15)
        sc = m.score(np.expm1(c))
        if sc.min() < bs:
            best, bs = c[sc.argmin()], float(sc.min())
        if bs < m.threshold - 0.03:
            break
    return np.expm1(best)


def _flow(rng: np.random.Generator, i: int, attack: bool, src: str | None = None) -> FlowRecord:
    base = (
        np.abs(rng.normal(1.0, 0.3, NF)) * 5e5 if attack else BENIGN * rng.uniform(0.95, 1.05, NF)
    )
    now = time.time()
    return FlowRecord(
        node_id=f"pi-{i % 8}",
        flow_id=f"b{i}-{uuid.uuid4().hex[:6]}",
        src_ip=src or f"192.168.{i % 8}.{10 + i % 200}",
        dst_ip="10.0.0.5",
        src_port=1024 + i % 60000,
        dst_port=23 if attack else 443,
        proto=6,
        start_ts=now - 1.0,
        end_ts=now,
        end_reason="fin",
        features=[float(v) for v in base],
    )


def _attack_pool(n: int = 600) -> list[tuple[np.ndarray, list[str]]]:
    """Attack flows of the edge simulator (SYN/UDP floods, scans, brute force, botnet...)
    with the edge detectors' real votes on them: features + the detectors that voted."""
    from models.classifier import VOTES
    from models.training.dataset import labelled_flows

    x, votes, families = labelled_flows(range(900, 902), per_family=n // 5, duration=300.0)
    rows = [i for i, fam in enumerate(families) if fam != "benign"]
    edge = ("rules", "lstm", "novelty")  # the hub's iforest votes by itself
    return [(x[i], [v for k, v in enumerate(VOTES) if votes[i, k] > 0 and v in edge]) for i in rows]


def _sim_attack(pool: list[tuple[np.ndarray, list[str]]], k: int, i: int, src: str, dst: str):  # type: ignore[no-untyped-def]
    feats, voters = pool[k % len(pool)]
    f = _flow(np.random.default_rng(k), i, True, src=src)
    f = f.model_copy(update={"features": [float(v) for v in feats], "dst_ip": dst})
    return f, [_vote(f, d) for d in (voters or ["rules"])]


def _vote(f: FlowRecord, detector: str = "lstm") -> AnomalyEvent:
    return AnomalyEvent(
        node_id=f.node_id,
        detector=detector,  # type: ignore[arg-type]
        score=1.0,
        threshold=0.5,
        severity="low",
        flow_id=f.flow_id,
        src_ip=f.src_ip,
        dst_ip=f.dst_ip,
    )


def _classifier_dir(tmp: Path) -> tuple[Path, str]:
    shipped = artifact_dir("classifier")
    try:
        from models.classifier import ThreatClassifier

        ThreatClassifier.load(shipped)
        return shipped, "models/artifacts/classifier"
    except Exception:  # noqa: BLE001 (absent or unloadable: use the bench model)
        pass
    import joblib
    from sklearn.ensemble import HistGradientBoostingClassifier

    rng = np.random.default_rng(0)
    xb = np.log1p(BENIGN * rng.uniform(0.9, 1.1, (3000, NF)))
    xa = np.log1p(np.abs(rng.normal(1, 0.3, (3000, NF))) * 5e5)
    vb = (rng.random((3000, 4)) < 0.05).astype(float)
    va = (rng.random((3000, 4)) < 0.7).astype(float)
    x = np.vstack([np.hstack([xb, vb]), np.hstack([xa, va])])
    y = np.array([0] * 3000 + [1] * 3000)
    model = HistGradientBoostingClassifier(max_iter=50).fit(x, y)
    out = tmp / "classifier"
    out.mkdir()
    joblib.dump(model, out / "bench_model.joblib")
    return out, "bench HistGradientBoosting (models/classifier.py not in the tree)"


RUNNER = """
import sys, joblib, numpy as np
from pathlib import Path
from contracts.features import FLOW_FEATURES
from contracts.runtime import stop_event_on_signals
from contracts.transports import open_publisher, open_subscriber
from hub.services.classifier_service import ClassifierService
from hub.services.runtime import ServiceRuntime

class Bench:
    def __init__(self, m): self.m = m
    def predict(self, x, votes):
        d = np.hstack([np.log1p(np.maximum(x, 0)), votes])
        p = self.m.predict_proba(d)
        idx = p.argmax(1)
        fam = ["scan" if i else "benign" for i in idx]
        top = np.argsort(-d[:, :len(FLOW_FEATURES)], axis=1)[:, :3]
        why = [[(FLOW_FEATURES[j], float(r[j]), float(r[j])) for j in t] for r, t in zip(d, top)]
        return fam, p[np.arange(len(idx)), idx], why

svc = ClassifierService(Bench(joblib.load(Path({model!r}) / "bench_model.joblib")), hold_s=1.0)
ServiceRuntime(svc, open_subscriber({url!r}, list(svc.inputs), group=svc.name),
               open_publisher({url!r}), batch=2000).run(stop_event_on_signals())
"""


def _committed_to_end(url: str, group: str, topics: list[str]) -> bool:
    import confluent_kafka as ck

    p = parse_url(url)
    c = ck.Consumer(
        {"bootstrap.servers": f"{p.host}:{p.port}", "group.id": group, "enable.auto.commit": False}
    )
    try:
        parts = []
        for t in topics:
            md = c.list_topics(t, timeout=10).topics[t]
            parts += [ck.TopicPartition(t, i) for i in md.partitions]
        for tp in c.committed(parts, timeout=10):
            _, hi = c.get_watermark_offsets(tp, timeout=10)
            if hi > 0 and tp.offset < hi:
                return False
        return True
    finally:
        c.close()


def main() -> int:
    ap = argparse.ArgumentParser()
    add_json_arg(ap, required=True)
    ap.add_argument("--kafka")
    ap.add_argument("--flows", type=int, default=100_000)
    ap.add_argument("--rate", type=int, default=2000, help="background flows/s in the p99 phase")
    ap.add_argument("--seconds", type=float, default=15.0)
    args = ap.parse_args()
    private = None
    if not args.kafka:
        from tests.harness.servers import KafkaServer

        private = KafkaServer(port=39192)
        private.wipe()
        args.kafka = private.start().url
    url = args.kafka
    ensure_topics(parse_url(url), TOPICS, partitions=3)
    tmp = Path(tempfile.mkdtemp(prefix="hubbench"))
    BENIGN[:] = _normal_point()
    model_dir, cls_name = _classifier_dir(tmp)
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    py = sys.executable
    procs = [
        subprocess.Popen([py, "-m", "fednids", "hub", "anomaly-iforest", "--kafka", url], env=env),
        subprocess.Popen(
            [py, "-m", "fednids", "hub", "alerting", "--kafka", url, "--update-every", "30"],
            env=env,
        ),
    ]
    if cls_name.startswith("models/"):
        procs.append(
            subprocess.Popen(
                [
                    py,
                    "-m",
                    "fednids",
                    "hub",
                    "threat-classifier",
                    "--kafka",
                    url,
                    "--model",
                    str(model_dir),
                ],
                env=env,
            )
        )
    else:
        procs.append(
            subprocess.Popen(
                [py, "-c", RUNNER.format(root=str(ROOT), model=str(model_dir), url=url)], env=env
            )
        )
    res: dict[str, object] = {"classifier": cls_name, "flows": args.flows, "partitions": 3}
    try:
        rng = np.random.default_rng(1)
        pub = open_publisher(url)
        # warm-up: the groups join and commit
        for i in range(200):
            pub.publish("network_data", encode(_flow(rng, i, False)), key=b"pi-0")
        pub.flush(30)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and not (
            _committed_to_end(url, "anomaly-iforest", ["network_data"])
            and _committed_to_end(url, "threat-classifier", ["network_data"])
        ):
            time.sleep(0.5)
        print("services ready", flush=True)
        # throughput
        recs: list[tuple[str, bytes, bytes]] = []
        for i in range(args.flows):
            atk = rng.random() < 0.05
            f = _flow(rng, i, atk)
            recs.append(("network_data", encode(f), f.node_id.encode()))
            if atk:
                recs.append(("anomalies", encode(_vote(f)), f.node_id.encode()))
        t0 = time.perf_counter()
        for t, v, k in recs:
            pub.publish(t, v, key=k)
        pub.flush(120)
        t_pub = time.perf_counter() - t0
        while not (
            _committed_to_end(url, "anomaly-iforest", ["network_data"])
            and _committed_to_end(url, "threat-classifier", ["network_data"])
        ):
            time.sleep(0.2)
        dt = time.perf_counter() - t0
        res["flows_per_second"] = round(args.flows / dt, 1)
        res["publish_seconds"] = round(t_pub, 2)
        res["through_seconds"] = round(dt, 2)
        print("throughput", res, flush=True)
        # latency, with attack flows the edge simulator made (features + the edge's real votes)
        pool = _attack_pool()
        res["attack_pool"] = f"{len(pool)} simulator attack flows with their edge votes"
        sent: dict[str, tuple[float, str]] = {}  # host -> (sent at, the attack's other host)
        lat: list[float] = []
        stop = threading.Event()
        sub = open_subscriber(url, ["alerts"], group=f"bench-{uuid.uuid4().hex[:6]}")

        def listen() -> None:
            while not stop.is_set():
                for m in sub.poll(0.2, 1000):
                    a = decode(m.value)
                    host = a.incident_key.split(":", 1)[-1]  # type: ignore[attr-defined]
                    if host in sent and not a.incident_key.startswith("predicted"):  # type: ignore[attr-defined]
                        t_sent, other = sent.pop(host)
                        sent.pop(other, None)  # one alert per attack, keyed by src or target
                        lat.append(time.time() - t_sent)

        th = threading.Thread(target=listen, daemon=True)
        th.start()
        time.sleep(3)
        n_attacks = 0
        t_end = time.monotonic() + args.seconds
        i = 0
        next_attack = time.monotonic()
        while time.monotonic() < t_end:
            tick = time.monotonic()
            for _ in range(args.rate // 20):
                i += 1
                pub.publish("network_data", encode(_flow(rng, i, False)), key=b"pi-1")
            if tick >= next_attack:
                n_attacks += 1
                src = f"172.16.{n_attacks // 250}.{n_attacks % 250 + 1}"
                dst = f"10.77.{n_attacks // 250}.{n_attacks % 250 + 1}"  # DoS incidents: by target
                f, votes = _sim_attack(pool, n_attacks, i, src, dst)
                t_sent = time.time()
                sent[src], sent[dst] = (t_sent, dst), (t_sent, src)
                for v in votes:
                    pub.publish("anomalies", encode(v), key=f.node_id.encode())
                pub.publish("network_data", encode(f), key=f.node_id.encode())
                next_attack += 0.05
            pub.poll(0)
            time.sleep(max(0.0, 0.05 - (time.monotonic() - tick)))
        pub.flush(30)
        time.sleep(5)
        stop.set()
        th.join(5)
        lat_ms = np.asarray(lat) * 1000
        res["attacks_sent"] = n_attacks
        res["alerts_matched"] = len(lat)
        res |= percentiles(lat_ms, (50, 99), suffix="_ms")
        res["background_rate"] = args.rate
        pub.close()
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            try:
                p.wait(30)
            except subprocess.TimeoutExpired:
                p.kill()
        if private is not None:
            private.stop()
    print(write_result(args.json, res))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
