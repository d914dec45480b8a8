"""``gnn-predictor``: ``attack_classified`` + ``network_data`` -> ``attack_predicted``.

Keeps the host graph of a sliding window of event time (flows aggregated per
(src, dst, port), attack classifications per (src, dst)), and every ``every_s`` of event
time, if anything was classified, ranks the hosts not yet seen attacking with the GNN and
emits an ``AttackPrediction`` for each of the ``top_k`` above ``min_p`` (path = chain of
compromised hosts leading there). The same host is predicted again only after
``horizon_s`` or if its probability rose by 0.1. Alerts come from the alerting service,
which opens a ``predicted-...`` incident for confident predictions and escalates an incident
when a predicted host is then attacked.

State: in memory, not checkpointed; after a restart the graph is rebuilt from the stream
(predictions need one window of traffic to be as good again). It is advisory state: inputs
are still committed only after the predictions of their batch are delivered.
"""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Sequence

from contracts.events import AttackClassification, AttackPrediction, EventBase, FlowRecord
from contracts.features import FLOW_FEATURES
from contracts.topics import KafkaTopic
from hub.services.gnn import HostGraph, Predictor

MAX_EDGES = 200_000
_FWD, _BWD = FLOW_FEATURES.index("fwd_bytes"), FLOW_FEATURES.index("bwd_bytes")


def severity_for(p: float) -> str:
    return "critical" if p >= 0.95 else "high" if p >= 0.8 else "medium" if p >= 0.6 else "low"


class GnnService:
    name = "gnn-predictor"
    inputs: Sequence[str] = (KafkaTopic.ATTACK_CLASSIFIED.value, KafkaTopic.NETWORK_DATA.value)
    accepts = frozenset({"flow", "classification"})

    def __init__(
        self,
        model: Predictor,
        every_s: float = 10.0,
        top_k: int = 5,
        min_p: float = 0.5,
        window_s: float = 900.0,
        horizon_s: float = 300.0,
    ) -> None:
        self.model = model
        self.every_s, self.top_k, self.min_p = every_s, top_k, min_p
        self.window_s, self.horizon_s = window_s, horizon_s
        self.flows: dict[tuple[str, str, int], tuple[float, float]] = {}  # -> (bytes, last ts)
        self.attacks: dict[tuple[str, str | None], tuple[int, float, str, uuid.UUID]] = {}
        self.now = 0.0
        self._last_run = -1e18
        self._dirty = False
        self._emitted: dict[str, tuple[float, float]] = {}  # host -> (ts, probability)

    def _graph(self) -> HostGraph:
        lo = self.now - self.window_s
        self.flows = {k: v for k, v in self.flows.items() if v[1] >= lo}
        self.attacks = {k: v for k, v in self.attacks.items() if v[1] >= lo}
        g = HostGraph()
        for (s, d, p), (b, t) in self.flows.items():
            g.add_flow(s, d, p, b, t)
        for (a_src, a_dst), (n, t, _, _) in sorted(self.attacks.items(), key=lambda kv: kv[1][1]):
            for _ in range(min(n, 50)):
                g.add_attack(a_src, a_dst, t)
        g.now = self.now
        return g

    def handle(self, events: list[EventBase]) -> list[EventBase]:
        for ev in events:
            if isinstance(ev, FlowRecord):
                k = (ev.src_ip, ev.dst_ip, ev.dst_port)
                b = self.flows.get(k, (0.0, 0.0))[0]
                if k in self.flows or len(self.flows) < MAX_EDGES:
                    nbytes = float(ev.features[_FWD]) + float(ev.features[_BWD])
                    self.flows[k] = (b + max(nbytes, 0.0), ev.end_ts)
                self.now = max(self.now, ev.end_ts)
            elif isinstance(ev, AttackClassification) and ev.src_ip and ev.family != "benign":
                t = ev.ts.timestamp()
                ak = (ev.src_ip, ev.dst_ip)
                n = self.attacks.get(ak, (0, 0.0, "", ev.event_id))[0]
                self.attacks[ak] = (n + 1, t, ev.family, ev.event_id)
                self.now = max(self.now, t)
                self._dirty = True
        if not self._dirty or self.now - self._last_run < self.every_s:
            return []
        return self.predict()

    def predict(self) -> list[EventBase]:
        self._last_run, self._dirty = self.now, False
        g = self._graph()
        out: list[EventBase] = []
        for r in self.model.rank(g, self.top_k):
            if r.probability < self.min_p:
                continue
            prev = self._emitted.get(r.host)
            if prev and self.now - prev[0] < self.horizon_s and r.probability < prev[1] + 0.1:
                continue
            self._emitted[r.host] = (self.now, r.probability)
            fam, ids = "other", []
            for s, d in itertools.pairwise(r.path):
                a = self.attacks.get((s, d))
                if a is not None:
                    fam = a[2]
                    ids.append(a[3])
            out.append(
                AttackPrediction(
                    node_id="hub",
                    target_host=r.host,
                    probability=round(r.probability, 4),
                    severity=severity_for(r.probability),  # type: ignore[arg-type]
                    family=fam,  # type: ignore[arg-type]
                    path=r.path[-16:],
                    horizon_s=self.horizon_s,
                    predictor="gnn",
                    model_version=str(self.model.meta.get("trained_at", ""))[:64] or None,
                    source_ids=ids[-64:],
                )
            )
        return out
