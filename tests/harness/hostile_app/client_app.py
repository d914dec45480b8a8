"""The attacker's ClientApp: a stolen sensor keeps its certificate and its registered key, and
runs code of its own choosing. This one does the real training of :mod:`federated.client_app`
on the node's own data (so its reply looks like an honest one), then poisons the reply as its
:class:`AttackPlan` says: the update scaled, the sample counts inflated, the held-out threshold
inflated, and/or another node's id claimed.

Test code only: the product (``federated/``) has no attack switch. It runs in the hostile
SuperNode's ``flwr-clientapp`` process (see :mod:`tests.harness.hostile_app.launcher`), a fresh
process per message, so the plan is read from its file on every message.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
from flwr.app import ArrayRecord, ConfigRecord, Context, Message, MetricRecord, RecordDict
from flwr.clientapp import ClientApp

from federated import client_app as honest

PLAN_ENV = "FEDNIDS_TEST_ATTACK_PLAN"
COUNTS = ("num-examples", "held-out")
app = ClientApp()


@dataclass(frozen=True)
class AttackPlan:
    scale: float = 1.0
    """The reply's weights are global + scale x (honest weights - global)."""
    samples: int | None = None
    """Every count the replies report (``num-examples``, ``held-out``), None = the honest ones."""
    threshold: float | None = None
    """Every threshold the replies report (``threshold-q995`` of an evaluation, the train
    reply's ``global-threshold-q995``), None = the honest quantiles."""
    claim: str | None = None
    """The node id the reply claims, None = the node's own."""

    def write(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(asdict(self)))

    @classmethod
    def read(cls, path: Path) -> AttackPlan:
        return cls(**json.loads(path.read_text()))


POISON = AttackPlan(scale=100.0, samples=10**9, threshold=1e6)
"""Scaled update, huge counts, huge threshold, under the node's own (registered) name."""


def impersonate(victim: str) -> AttackPlan:
    """The poisoned reply, claiming an honest node's id."""
    return AttackPlan(scale=100.0, samples=10**9, threshold=1e6, claim=victim)


def _plan() -> AttackPlan:
    return AttackPlan.read(Path(os.environ[PLAN_ENV]))


def _rewrite(reply: Message, msg: Message, plan: AttackPlan, train: bool) -> Message:
    content = reply.content
    metrics = {k: v for k, v in content.metric_records["metrics"].items()}
    for key in metrics:  # every count and every threshold the reply reports (the evaluation
        # reply's, and the train reply's own evaluation of the model it was sent)
        if plan.samples is not None and key in COUNTS:
            metrics[key] = plan.samples
        if plan.threshold is not None and "threshold" in key:
            metrics[key] = plan.threshold
    node = content.config_records["node"]["node-id"]
    records: dict[str, ArrayRecord | MetricRecord | ConfigRecord] = {
        "metrics": MetricRecord(metrics),  # type: ignore[arg-type]
        "node": ConfigRecord({"node-id": plan.claim or node}),
    }
    if train:
        base = msg.content.array_records["arrays"].to_numpy_ndarrays()
        mine = content.array_records["arrays"].to_numpy_ndarrays()
        poisoned = [
            (g + plan.scale * (w - g)).astype(w.dtype) for g, w in zip(base, mine, strict=True)
        ]
        records["arrays"] = ArrayRecord([np.asarray(w) for w in poisoned])
    return Message(content=RecordDict(records), reply_to=msg)


@app.train()
def train_fn(msg: Message, context: Context) -> Message:
    return _rewrite(honest.train_fn(msg, context), msg, _plan(), train=True)


@app.evaluate()
def evaluate_fn(msg: Message, context: Context) -> Message:
    return _rewrite(honest.evaluate_fn(msg, context), msg, _plan(), train=False)
