"""The propagation predictor on a real labelled capture, through the product's own classes.

    python -m benchmarks.predictor_real --pcap P --labels L --json OUT [--model DIR]
        [--lstm DIR] [--horizon S] [--k K]

The capture is replayed in process on ``memory://``: the edge agent's own stack
(``edge_agent.agent.Agent`` with ``load_detectors``: its pipeline over ``PcapSource``) emits
flows and anomalies; the hub's Isolation Forest, threat classifier and GNN predictor run as
``ServiceRuntime`` consumers of that broker, exactly as ``fednids hub ...`` runs them on Kafka.
Every prediction the ``gnn-predictor`` publishes on ``attack_predicted`` is scored against the
labels: a prediction (target host, capture time t, horizon H) is a *hit* if the target is
source or destination of a label-1 packet of an attack that its path's hosts take part in,
in (t, t + H]; a *new hit* if the target had not taken part in that attack before t.

The baseline is the degree/neighbour heuristic (``models.gnn.model.heuristic_scores``) asked
for the same number of hosts on the same graph at the same times (the service's own graph,
``GnnService.last_graph``, at each of its prediction rounds), scored the same way. Both are
also reported as precision at k (top k of each, whatever the probabilities) on the rounds
that have a compromised host, sampled at most once per 30 s of capture time. Nothing is trained here: the GNN
artifact is whatever ``--model`` holds (see its metadata.json for its training data).
"""

from __future__ import annotations

import argparse
import csv
import socket
import tempfile
import time
from bisect import bisect_right
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.common import add_json_arg, write_result
from contracts.codec import decode, encode
from contracts.events import AttackClassification, AttackPrediction, EventBase
from contracts.topics import KafkaTopic, topic_for_event_kind
from contracts.transports.memory import MemoryBroker
from edge_agent.agent import Agent
from edge_agent.capture.packet import ParseStats, parse_frame
from edge_agent.capture.pcap import PcapSource
from edge_agent.settings import AgentSettings
from hub.services.gnn_service import GnnService
from hub.services.runtime import ServiceRuntime
from hub.services.settings import ServicesSettings
from models.gnn.model import HostGraph, candidates, heuristic_scores, load_predictor

CHUNK = 2000  # at most this many events from the agent between two rounds of the hub
STEP_S = 5.0  # capture seconds between two rounds of the hub services


# ------------------------------------------------------------------ ground truth
def ip_str(addr: bytes) -> str:
    """A parsed packet's packed address as the flow records spell it."""
    return socket.inet_ntop(socket.AF_INET if len(addr) == 4 else socket.AF_INET6, addr)


@dataclass(slots=True)
class Truth:
    """Per attack, per host: the sorted capture times of its label-1 packets."""

    times: dict[str, dict[str, list[float]]] = field(default_factory=dict)
    first_attack_ts: float | None = None
    attack_packets: int = 0

    def active(self, host: str, t0: float, t1: float) -> set[str]:
        """Attacks in which ``host`` takes part in (t0, t1]."""
        out = set()
        for att, hosts in self.times.items():
            ts = hosts.get(host)
            if ts and bisect_right(ts, t1) > bisect_right(ts, t0):
                out.add(att)
        return out

    def before(self, host: str, attack: str, t: float) -> bool:
        ts = self.times.get(attack, {}).get(host)
        return bool(ts) and ts[0] <= t  # type: ignore[index]


def load_truth(pcap: Path, labels: Path) -> Truth:
    """Label rows joined with the packets as the product's parser reads them."""
    rows: list[tuple[int, str]] = []
    with labels.open() as f:
        for row in csv.DictReader(f):
            rows.append((int(row["label"]), row["attack"]))
    truth = Truth()
    stats = ParseStats()
    per: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    for i, (linktype, ts, wirelen, data) in enumerate(PcapSource(pcap).frames()):
        if i >= len(rows) or rows[i][0] != 1:
            continue
        pkt = parse_frame(data, linktype, ts, wirelen, stats, None)
        if pkt is None:
            continue
        hosts = packet_hosts(pkt)
        if hosts is None:
            continue
        truth.attack_packets += 1
        if truth.first_attack_ts is None:
            truth.first_attack_ts = pkt.ts
        for h in hosts:
            per[rows[i][1]][h].append(pkt.ts)
    truth.times = {a: {h: sorted(v) for h, v in hs.items()} for a, hs in per.items()}
    return truth


def packet_hosts(pkt: Any) -> tuple[str, str] | None:
    """The two hosts of a parsed IP or ARP packet (IP addresses), None if it names none."""
    for a, b in (("src", "dst"), ("sender_ip", "target_ip")):
        src, dst = getattr(pkt, a, None), getattr(pkt, b, None)
        if isinstance(src, bytes) and isinstance(dst, bytes) and len(src) in (4, 16):
            return ip_str(src), ip_str(dst)
    return None


# ------------------------------------------------------------------ the replay
Pick = tuple[float, str, list[str]]
"""(capture time, target host, path)"""


def top_picks(g: HostGraph, scores: np.ndarray, k: int, t: float) -> list[Pick]:
    """The ``k`` best candidates of ``g`` by ``scores``, as the service ranks them."""
    if not k or not g.hosts:
        return []
    cand = candidates(g)
    order = [i for i in np.argsort(-scores, kind="stable") if cand[i]][:k]
    return [(t, g.hosts[i], g.path_to(int(i))) for i in order]


@dataclass(slots=True)
class Round:
    """One prediction round of the service: its time, what it published, and on the same
    graph the heuristic's picks (as many as published; and the top k of both rankers on
    sampled rounds with a compromised host)."""

    t: float
    emitted: list[AttackPrediction]
    heuristic_same: list[Pick]
    compromised: bool
    gnn_k: list[Pick] | None = None
    heuristic_k: list[Pick] | None = None


class RecordingGnn(GnnService):
    """The product's service, unchanged, plus a record of each round for the comparison."""

    def __init__(self, *a: Any, k: int = 5, sample_s: float = 30.0, **kw: Any) -> None:
        super().__init__(*a, **kw)
        self.k, self.sample_s = k, sample_s
        self.rounds: list[Round] = []
        self._sampled = -float("inf")

    def predict(self) -> list[EventBase]:
        out = super().predict()
        g, t = self.last_graph, self.now
        emitted = [e for e in out if isinstance(e, AttackPrediction)]
        heur = heuristic_scores(g) if g.hosts else np.zeros(0)
        comp = bool(g.hosts) and bool(g.compromised().any())
        r = Round(t, emitted, top_picks(g, heur, len(emitted), t), comp)
        if comp and t - self._sampled >= self.sample_s:
            self._sampled = t
            r.gnn_k = top_picks(g, self.model.scores(g), self.k, t)
            r.heuristic_k = top_picks(g, heur, self.k, t)
        self.rounds.append(r)
        return out


def _runtime(broker: MemoryBroker, svc: Any) -> ServiceRuntime:
    return ServiceRuntime(svc, broker.subscriber(list(svc.inputs), svc.name), broker.publisher())


def hub_services(broker: MemoryBroker, gnn: GnnService) -> list[ServiceRuntime]:
    """The hub's analytics services as ``fednids hub ...`` builds them (models from settings)."""
    s = ServicesSettings()
    rts: list[ServiceRuntime] = []
    if (s.iforest_model / "model.joblib").is_file():
        from hub.services.iforest_service import IForestService
        from models.iforest import IForestModel

        rts.append(_runtime(broker, IForestService(IForestModel.load(s.iforest_model))))
    if (s.classifier_model / "model.joblib").is_file():
        from hub.services.classifier_service import ClassifierService
        from models.classifier import ThreatClassifier

        rts.append(
            _runtime(
                broker,
                ClassifierService(
                    ThreatClassifier.load(s.classifier_model),
                    hold_s=s.join_hold_s,
                    grace_s=s.join_grace_s,
                ),
            )
        )
    rts.append(_runtime(broker, gnn))
    return rts


def _drain(rts: list[ServiceRuntime]) -> None:
    busy = True
    while busy:
        busy = False
        for rt in rts:
            while rt.step(0.0):
                busy = True


def _publish(broker: MemoryBroker, events: list[EventBase]) -> None:
    pub = broker.publisher()
    for ev in events:
        kind: str = ev.kind  # type: ignore[attr-defined]
        pub.publish(topic_for_event_kind(kind).value, encode(ev), key=ev.node_id.encode())


def replay(
    pcap: Path, gnn: GnnService, lstm: Path | None = None, node_id: str = "replay"
) -> tuple[MemoryBroker, dict[str, Any]]:
    """Replay ``pcap`` through the agent's stack and the hub services; returns the broker."""
    name = f"predictor-real-{time.monotonic_ns()}"
    MemoryBroker.reset(name)
    broker = MemoryBroker.named(name)
    rts = hub_services(broker, gnn)
    with tempfile.TemporaryDirectory(prefix="predictor-real-") as tmp:
        settings = AgentSettings(
            node_id=node_id,
            source=f"pcap:{pcap}",
            mqtt_url=f"memory://{name}-mqtt",
            outbox_path=Path(tmp) / "outbox.db",
            models_root=Path(tmp) / "models",
            model_dir=lstm,
        )
        agent = Agent(settings, publisher=broker.publisher(), source=PcapSource(pcap))
        pipe = agent.pipeline
        batch: list[EventBase] = []
        next_drain = -1.0
        for pkt in _packets(agent):
            batch.extend(pipe.feed(pkt))
            if (pkt.ts >= next_drain and batch) or len(batch) >= CHUNK:
                # the hub reads what the agent sent about every STEP_S of capture time, as it
                # would live (a batch spanning hours would be one prediction round)
                _publish(broker, batch)
                batch = []
                _drain(rts)
                next_drain = pkt.ts + STEP_S
        batch.extend(pipe.close())
        _publish(broker, batch)
        _drain(rts)
        for rt in rts:  # end of the replay: what waits in a window is released
            flush = getattr(rt.service, "flush", None)
            if flush is not None:
                _publish(broker, flush())
        _drain(rts)
        agent.outbox.close()
    counters: dict[str, Any] = dict(pipe.counters())
    counters["services"] = {rt.service.name: rt.produced for rt in rts}
    return broker, counters


def _packets(agent: Agent) -> Iterator[Any]:
    for pkt in agent.source:
        if pkt is not None:
            yield pkt


def topic_events(broker: MemoryBroker, topic: KafkaTopic) -> list[EventBase]:
    return [decode(m.value) for m in broker.messages(topic.value)]


# ------------------------------------------------------------------ scoring
def _attacks_of_path(truth: Truth, path: list[str], t: float, look_back: float) -> set[str]:
    out: set[str] = set()
    for h in path[:-1]:
        out |= truth.active(h, t - look_back, t)
    return out


def score(
    truth: Truth, picks: list[tuple[float, str, list[str]]], horizon: float, look_back: float
) -> dict[str, Any]:
    """``picks``: (time, target, path). Hit: target in an attack of its path within horizon."""
    hits = new = 0
    per_attack: Counter[str] = Counter()
    for t, host, path in picks:
        # the attack the prediction is about: the one its path's hosts take part in (a path
        # of only the target names none: then any attack counts)
        atts = _attacks_of_path(truth, path, t, look_back) if len(path) > 1 else set(truth.times)
        later = truth.active(host, t, t + horizon) & atts
        if later:
            hits += 1
            per_attack.update(later)
            if any(not truth.before(host, a, t) for a in later):
                new += 1
    n = len(picks)
    return {
        "predictions": n,
        "hits": hits,
        "new_hits": new,
        "precision": hits / n if n else None,
        "new_precision": new / n if n else None,
        "hits_by_attack": dict(per_attack),
        "distinct_targets": len({h for _, h, _ in picks}),
    }


def _at_k(
    truth: Truth, picks: list[list[Pick]], k: int, horizon: float, look_back: float
) -> dict[str, Any]:
    precs = [score(truth, p, horizon, look_back)["hits"] / k for p in picks if p]
    return {"rounds": len(precs), "precision_at_k": float(np.mean(precs)) if precs else None}


def evaluate(truth: Truth, gnn: RecordingGnn, train_end_ts: float | None) -> dict[str, Any]:
    """The service's published predictions, and the heuristic at the same rounds with as
    many picks, scored against the labels; plus precision at k for both on sampled rounds."""
    horizon, look_back, k = gnn.horizon_s, gnn.window_s, gnn.k
    rounds = gnn.rounds
    gnn_picks = [(r.t, p.target_host, list(p.path)) for r in rounds for p in r.emitted]
    heur = [p for r in rounds for p in r.heuristic_same]
    benign_window = [r for r in rounds if train_end_ts is not None and r.t <= train_end_ts]
    res: dict[str, Any] = {
        "gnn": score(truth, gnn_picks, horizon, look_back),
        "heuristic_same_count": score(truth, heur, horizon, look_back),
        "predictions_in_attack_free_prefix": sum(len(r.emitted) for r in benign_window),
        "rounds": len(rounds),
        "rounds_with_compromised_host": sum(1 for r in rounds if r.compromised),
        "at_k_sample_s": gnn.sample_s,
    }
    res[f"gnn_at_{k}"] = _at_k(truth, [r.gnn_k or [] for r in rounds], k, horizon, look_back)
    res[f"heuristic_at_{k}"] = _at_k(
        truth, [r.heuristic_k or [] for r in rounds], k, horizon, look_back
    )
    per: dict[str, Any] = {}
    for att, hosts in truth.times.items():
        t0 = min(v[0] for v in hosts.values())
        t1 = max(v[-1] for v in hosts.values())
        mine = [p for p in gnn_picks if t0 - horizon <= p[0] <= t1]
        theirs = [p for p in heur if t0 - horizon <= p[0] <= t1]
        per[att] = {
            "hosts": len(hosts),
            "span_s": round(t1 - t0, 1),
            "gnn": score(truth, mine, horizon, look_back),
            "heuristic_same_count": score(truth, theirs, horizon, look_back),
        }
    res["per_attack"] = per
    res["examples"] = [
        {
            "t": round(r.t, 3),
            "target": p.target_host,
            "probability": p.probability,
            "path": list(p.path),
            "hit": score(truth, [(r.t, p.target_host, list(p.path))], horizon, look_back)["hits"],
        }
        for r in rounds
        for p in r.emitted
    ][:40]
    return res


def train_end_time(pcap: Path, train_packets: int) -> float | None:
    """Capture time of the last packet of the attack-free prefix."""
    last = None
    for i, (_, ts, _, _) in enumerate(PcapSource(pcap).frames()):
        if i >= train_packets:
            break
        last = ts
    return last


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--pcap", type=Path, required=True)
    ap.add_argument("--labels", type=Path, required=True)
    add_json_arg(ap, required=True)
    ap.add_argument("--model", type=Path, default=ServicesSettings().gnn_model)
    ap.add_argument("--lstm", type=Path, help="the agent's LSTM model dir (default: rules only)")
    ap.add_argument("--horizon", type=float, default=300.0, help="seconds of capture time")
    ap.add_argument("--k", type=int, default=5)
    ap.add_argument(
        "--train-packets",
        type=int,
        default=22472,
        help="length of the attack-free prefix (predictions there are false by construction)",
    )
    args = ap.parse_args()
    t0 = time.time()
    truth = load_truth(args.pcap, args.labels)
    s = ServicesSettings()
    gnn = RecordingGnn(
        load_predictor(args.model),
        every_s=s.predict_every_s,
        top_k=s.top_k,
        min_p=s.gnn_min_p,
        window_s=s.gnn_window_s,
        horizon_s=args.horizon,
        k=args.k,
    )
    broker, counters = replay(args.pcap, gnn, args.lstm)
    cls = topic_events(broker, KafkaTopic.ATTACK_CLASSIFIED)
    res: dict[str, Any] = {
        "pcap": str(args.pcap),
        "labels": str(args.labels),
        "model": str(args.model),
        "model_trained_on": load_predictor(args.model).meta.get("training_data", "simulator"),
        "horizon_s": args.horizon,
        "min_p": gnn.min_p,
        "top_k": gnn.top_k,
        "pipeline": counters,
        "classifications": dict(
            Counter(e.family for e in cls if isinstance(e, AttackClassification))
        ),
        "predictions_published": len(broker.messages(KafkaTopic.ATTACK_PREDICTED.value)),
        "clock_held_events": gnn.clock.held,
    }
    res.update(evaluate(truth, gnn, train_end_time(args.pcap, args.train_packets)))
    res["seconds"] = round(time.time() - t0, 1)
    print(write_result(args.json, res, default=str))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
