"""One hostile SuperNode in a real federation (issue 15, item 4): ``flower-superlink`` + 4
honest ``flower-supernode`` processes + one hostile one (TLS, registered keys), ``flwr run`` of
the fednids app. The hostile node keeps its registered key and runs its own ClientApp
(:mod:`tests.harness.hostile_app`): the real training, then its update scaled x100, 10^9
samples reported, a held-out threshold of 10^6, and in a second run another node's id.

The same fleet without the hostile node (same seeds: training is deterministic without DP)
is the reference. The tolerance is the honest fleet's own spread, measured in the same test:
how far the aggregate moves when the fleet has one honest node less (the same fleet before its
4th node joined). With the coordinate-wise median over 4 honest nodes (b, c the middle two
values of a coordinate, median (b + c) / 2), losing any one node moves every coordinate by
exactly |c - b| / 2, and one added value of any size by at most that: a hostile node cannot
move the median further than one honest node's absence does (as far, when its value is the
extreme of every coordinate, as a x100 update's is)."""

from __future__ import annotations

import json
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest

from contracts import decode
from contracts.events import FLEvent
from contracts.signing import generate_keypair
from contracts.transports import open_subscriber
from tests.harness.hostile_app import POISON, HostileDeployment, impersonate

pytestmark = pytest.mark.integration
PORT = 19250  # SuperLink; SuperNodes 19260..


def _data(i: int) -> str:
    return f"sim:benign?seed={40 + i}&hosts=6&duration=50&net=10.{40 + i}.0"


def _weights(summary: Path) -> list[np.ndarray]:
    with np.load(summary.with_suffix(".npz")) as z:
        return [z[f"arr_{i}"] for i in range(len(z.files))]


def _l2(a: list[np.ndarray], b: list[np.ndarray]) -> float:
    return float(np.sqrt(sum(float(np.sum((x - y) ** 2)) for x, y in zip(a, b, strict=True))))


class Runs:
    """Runs of one deployment, each with its own summary and registry; FL events go to the real
    Kafka (a run's are those of its time window: node names repeat across runs)."""

    def __init__(self, dep: HostileDeployment, tmp: Path, tag: str, kafka_url: str) -> None:
        self.dep, self.tmp, self.tag, self.kafka_url = dep, tmp, tag, kafka_url
        self.key, _ = generate_keypair(tmp / "keys")
        self.windows: dict[str, tuple[datetime, datetime]] = {}

    def run(self, name: str, nodes: int, publish: bool = False, **extra: object) -> dict:
        """One round of training (and, when ``publish``, the federated evaluation, the signed
        model and its metadata)."""
        d = self.tmp / name
        d.mkdir()
        t0 = datetime.now(UTC)
        registry = {"registry-dir": str(d / "registry"), "signing-key": str(self.key)}
        out = self.dep.run(
            {
                "num-rounds": 1,
                "min-nodes": nodes,
                "round-timeout": 120.0,
                "dp": False,
                "local-epochs": 1,
                "aggregator": "median",
                **(registry if publish else {}),
                "summary-path": str(d / "summary.json"),
                "events-url": self.kafka_url,
                "server-node": f"{self.tag}-hub",
                **extra,
            },
            timeout=300,
        )
        self.windows[name] = (t0, datetime.now(UTC))
        (d / "serverapp.log").write_text(out)
        assert (d / "summary.json").exists(), f"run {name} failed:\n{out[-3000:]}"
        summary = json.loads((d / "summary.json").read_text())
        if publish:
            version = summary["published"][-1]
            summary["metadata"] = json.loads(
                (d / "registry" / "versions" / str(version) / "metadata.json").read_text()
            )
        summary["weights"] = _weights(d / "summary.json")
        return summary

    def events(self, refusals: dict[str, int], timeout: float = 90) -> dict[str, list[FLEvent]]:
        """Each run's FL events, read until every run's aggregate event and the expected
        number of refusal events are in (keyed by node: they come in no particular order)."""
        sub = open_subscriber(self.kafka_url, ["fl_events"], group=f"fl-{uuid.uuid4().hex[:6]}")
        got: list[FLEvent] = []

        def split() -> dict[str, list[FLEvent]]:
            return {n: [e for e in got if t0 <= e.ts <= t1] for n, (t0, t1) in self.windows.items()}

        def complete() -> bool:
            runs = split()
            return all(
                any(e.phase == "aggregate" for e in evs)
                and sum(e.role == "client" and e.metrics.get("refused") == 1.0 for e in evs)
                >= refusals.get(n, 0)
                for n, evs in runs.items()
            )

        deadline = time.monotonic() + timeout
        try:
            while time.monotonic() < deadline and not complete():
                for m in sub.poll(0.5):
                    ev = decode(m.value)
                    if isinstance(ev, FLEvent) and ev.node_id.startswith(self.tag):
                        got.append(ev)
        finally:
            sub.close()
        return split()


@pytest.mark.timeout(1200)  # 4 runs; ~13 min at load average 30 on 2 cores
def test_one_hostile_supernode_is_bounded(tmp_path, kafka_server):
    # prepare: a SuperLink and 3 honest SuperNodes (no DP: runs repeat on the same nodes)
    tag = f"h{uuid.uuid4().hex[:4]}"
    honest = [f"{tag}-n{i}" for i in range(1, 5)]
    evil = f"{tag}-evil"
    policy = {"dp-required": False}
    dep = HostileDeployment.with_test_pki(tmp_path / "flower", port=PORT)
    runs = Runs(dep, tmp_path, tag, kafka_server.url)
    try:
        dep.start_superlink()
        for i, n in enumerate(honest[:3]):
            dep.start_supernode(n, _data(i), policy)

        # execute: the honest fleet without one node (the spread), the honest fleet (the
        # reference), then with the hostile node: poisoning, then impersonating n1
        short = runs.run("honest-3", 3)
        dep.start_supernode(honest[3], _data(3), policy)
        ref = runs.run("honest-4", 4)
        dep.start_hostile_supernode(evil, _data(9), POISON, policy)
        poisoned = runs.run("poison", 5, publish=True)
        dep.set_plan(evil, impersonate(honest[0]))
        posing = runs.run("impersonate", 5)
    finally:
        dep.stop()
    events = runs.events({"poison": 1, "impersonate": 1})

    # assert: the attacker really ran its own ClientApp and was asked to train
    assert "Receiving: train message" in dep.log(evil)
    spread = _l2(short["weights"], ref["weights"])
    assert spread > 0

    # poisoning: the scaled update is clipped, the threshold refused, the rest bounded
    refused = {(r[1], r[2].split(" ")[0]) for r in poisoned["refused"]}
    assert (evil, "threshold") in refused, poisoned["refused"]
    assert [c[1] for c in poisoned["clipped"]] == [evil]
    assert evil not in poisoned["thresholds_by_node"]
    assert set(poisoned["thresholds_by_node"]) == set(honest)
    honest_q = sorted(poisoned["thresholds_by_node"].values())
    assert poisoned["threshold"] == pytest.approx(float(np.median(honest_q)))
    assert poisoned["threshold"] <= 1.0  # max-threshold
    # the signed model carries the same bounded thresholds
    assert poisoned["metadata"]["threshold"] == pytest.approx(poisoned["threshold"])
    assert poisoned["metadata"]["thresholds_by_node"] == poisoned["thresholds_by_node"]
    # the refusal is in the FL events: the hostile node's own, and the round's count
    assert any(e.node_id == evil and e.metrics.get("refused") == 1.0 for e in events["poison"])
    (agg,) = [e for e in events["poison"] if e.phase == "aggregate"]
    assert agg.participants == 5 and agg.metrics["clipped"] == 1.0
    dist_poison = _l2(poisoned["weights"], ref["weights"])
    # equality when the hostile value is the extreme of every coordinate (a x100 update is):
    # allow the float32 rounding of the two sums
    assert dist_poison <= spread * (1 + 1e-5), (dist_poison, spread)

    # impersonation: both replies refused, the aggregate is the honest fleet's
    claims = [r for r in posing["refused"] if "claims node id" in r[2]]
    assert len(claims) == 1, posing["refused"]
    assert claims[0][1] == evil  # recorded against the impersonator, never its victim
    assert all(repr(honest[0]) in r[2] and repr(evil) in r[2] for r in claims)
    (agg,) = [e for e in events["impersonate"] if e.phase == "aggregate"]
    assert agg.participants == 4 and agg.metrics["refused"] == 1.0
    refusals = [e for e in events["impersonate"] if e.metrics.get("refused") == 1.0]
    assert len(refusals) == 2  # the refused reply's event and the round's count
    dist_posing = _l2(posing["weights"], ref["weights"])
    assert dist_posing <= spread, (dist_posing, spread)
    print(
        f"\nhonest spread (one honest node missing) {spread:.4f}; poisoned median "
        f"{dist_poison:.4f}; impersonating {dist_posing:.4g}; fleet threshold "
        f"{poisoned['threshold']:.4f} (honest nodes {honest_q[0]:.4f}..{honest_q[-1]:.4f})"
    )
