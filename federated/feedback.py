"""False positives feed the thresholds of the next published model.

An operator's "mark false positive" on an incident (``POST /api/alerts/{id}/false-positive``)
creates a suppression; here its LSTM detections reach the model too. At export, for each node
with marked LSTM anomalies, ``r`` is the largest ``score / threshold`` among them (how far
above the threshold it was judged against they went; a ratio, so it carries over from the
model version that raised them to the new one), and the node's threshold becomes

    computed x min(max(1, r x margin), max-factor), never above max-threshold

where ``computed`` is the node's threshold of this round (the fleet's for a node the round
did not calibrate, which then gets its own entry). The bound is what keeps a mistaken click
or a hostile operator account from switching detection off: one node's threshold rises at
most ``max-factor`` times (default 2) whatever score was marked.

The fleet threshold (nodes without their own calibration) rises only when at least
``fleet-nodes`` different nodes (default 2; 0 = never) marked false positives, and only by
the ``fleet-nodes``-th largest of their factors: a level that many nodes' own evidence
supports, so one node (or one account marking one node's incidents) never moves the fleet.

The factor is recomputed from the live marks every export (applied to the freshly computed
threshold, never to the previous model's): it does not ratchet, and it lasts as long as the
suppression does (expired, deleted or reopened: withdrawn). Everything is counted: marks
applied per node, marks not used by reason, the resulting thresholds (signed into the
metadata as ``fp_feedback`` and reported as FL events and in the run's summary).
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from contracts.events import FLEvent

if TYPE_CHECKING:
    from hub.storage.fp_feedback import FalsePositives

log = logging.getLogger(__name__)


class Mark(Protocol):
    """A marked detection (:class:`hub.storage.fp_feedback.MarkedAnomaly`)."""

    @property
    def node_id(self) -> str: ...
    @property
    def detector(self) -> str: ...
    @property
    def score(self) -> float: ...
    @property
    def threshold(self) -> float: ...
    @property
    def model_version(self) -> str | None: ...


@dataclass(frozen=True)
class FeedbackBounds:
    margin: float = 1.1
    """The new threshold sits this much above the largest marked ratio."""
    max_factor: float = 2.0
    """A node's threshold rises at most this many times its computed one."""
    max_threshold: float = 1.0
    """Never above this (the strategy's ``max-threshold``: errors of windows in [0, 1])."""
    fleet_nodes: int = 2
    """The fleet threshold reacts when this many nodes marked false positives (0: never)."""


@dataclass
class NodeFeedback:
    fps: int
    """Marked LSTM anomalies of this node that were applied."""
    ratio: float
    """The largest score / threshold among them."""
    factor: float
    computed: float
    threshold: float
    capped: bool
    """The bound (max-factor or max-threshold) cut what the marks asked for."""


@dataclass
class Feedback:
    thresholds_by_node: dict[str, float]
    threshold: float
    """The fleet threshold (nodes not listed)."""
    nodes: dict[str, NodeFeedback] = field(default_factory=dict)
    fleet_computed: float = 0.0
    fleet_factor: float = 1.0
    incidents: int = 0
    ignored: dict[str, int] = field(default_factory=dict)
    """Marks not used, by reason: ``detector`` (not the LSTM), ``model`` (another model),
    ``invalid`` (no usable score / threshold), ``unreadable`` (stored payload)."""
    error: str | None = None
    """The store could not be read: nothing applied (the thresholds are the computed ones)."""

    @property
    def applied(self) -> int:
        return sum(n.fps for n in self.nodes.values())

    def metadata(self) -> dict[str, Any]:
        """What the signed model metadata carries as ``fp_feedback``."""
        return {
            "applied": self.applied,
            "incidents": self.incidents,
            "ignored": dict(self.ignored),
            "nodes": {k: asdict(v) for k, v in sorted(self.nodes.items())},
            "fleet": {
                "computed": self.fleet_computed,
                "factor": self.fleet_factor,
                "threshold": self.threshold,
            },
            # the model goes to every agent: the reason stays on the hub (log, summary)
            **({"error": "not applied: the hub's store could not be read"} if self.error else {}),
        }

    def summary(self) -> dict[str, Any]:
        """The run summary's entry: the metadata, with the store's error when there was one."""
        return self.metadata() | ({"error": self.error} if self.error else {})


def _ratios(
    marks: Sequence[Mark], model_name: str, ignored: dict[str, int]
) -> dict[str, tuple[int, float]]:
    version = re.compile(rf"^{re.escape(model_name)}-\d+$")
    per: dict[str, tuple[int, float]] = {}
    for m in marks:
        if m.detector != "lstm":
            reason = "detector"
        elif not m.model_version or not version.match(m.model_version):
            reason = "model"
        elif not (math.isfinite(m.score) and math.isfinite(m.threshold) and m.threshold > 0):
            reason = "invalid"
        else:
            n, r = per.get(m.node_id, (0, 0.0))
            per[m.node_id] = (n + 1, max(r, m.score / m.threshold))
            continue
        ignored[reason] = ignored.get(reason, 0) + 1
    return per


def apply_feedback(
    thresholds_by_node: dict[str, float],
    threshold: float,
    marks: Sequence[Mark],
    model_name: str = "lstm-ae",
    bounds: FeedbackBounds | None = None,
    incidents: int = 0,
) -> Feedback:
    """The thresholds with the marked false positives applied (a pure function)."""
    b = bounds or FeedbackBounds()
    ignored: dict[str, int] = {}
    per = _ratios(marks, model_name, ignored)
    out = Feedback(dict(thresholds_by_node), threshold, fleet_computed=threshold)
    out.incidents, out.ignored = incidents, ignored
    for node, (n, r) in sorted(per.items()):
        computed = thresholds_by_node.get(node, threshold)
        if not computed > 0:  # nothing to scale (the strategy never signs such a threshold)
            ignored["invalid"] = ignored.get("invalid", 0) + n
            continue
        wanted = max(1.0, r * b.margin)
        factor = min(wanted, b.max_factor)
        value = max(computed, min(computed * factor, b.max_threshold))
        capped = wanted > factor or computed * factor > b.max_threshold
        out.nodes[node] = NodeFeedback(n, r, value / computed, computed, value, capped)
    raised = sorted((f.factor for f in out.nodes.values() if f.factor > 1.0), reverse=True)
    if b.fleet_nodes > 0 and len(raised) >= b.fleet_nodes and threshold > 0:
        fleet = max(threshold, min(threshold * raised[b.fleet_nodes - 1], b.max_threshold))
        out.threshold, out.fleet_factor = fleet, fleet / threshold
    for node, f in out.nodes.items():
        if node not in thresholds_by_node:  # judged against the fleet's: gets its own
            f.threshold = max(f.threshold, out.threshold)
        out.thresholds_by_node[node] = f.threshold
    return out


def _redacted(url: str) -> str:
    """The URL without its password (it goes to logs and the run's summary)."""
    return re.sub(r"(://[^:/@]*):[^/]*@", r"\1:***@", url)


def read_false_positives(url: str) -> FalsePositives:
    """The live false positives of the hub's store at ``url`` (raises ``HubError``)."""
    from sqlalchemy.exc import SQLAlchemyError

    from hub.errors import StoreError
    from hub.storage.fp_feedback import false_positive_anomalies
    from hub.storage.store import make_engine

    shown = _redacted(url)
    if url.startswith("sqlite:///") and not Path(url.removeprefix("sqlite:///")).is_file():
        raise StoreError(f"feedback-db {shown}: no such database file")
    try:
        engine = make_engine(url)
    except (SQLAlchemyError, ImportError, ValueError) as exc:  # a bad URL, a missing driver
        raise StoreError(f"feedback-db {shown}: {type(exc).__name__}") from exc
    try:
        return false_positive_anomalies(engine)
    finally:
        engine.dispose()


def feedback_for_export(
    url: str,
    thresholds_by_node: dict[str, float],
    threshold: float,
    model_name: str,
    bounds: FeedbackBounds,
) -> Feedback:
    """What the export signs: the thresholds with the store's false positives applied; when
    the store cannot be read, the computed thresholds unchanged and the reason in ``error``
    (detection is never weakened by a failure, and the failure is reported)."""
    from hub.errors import HubError

    try:
        fps = read_false_positives(url)
    except HubError as exc:
        failed = Feedback(dict(thresholds_by_node), threshold, fleet_computed=threshold)
        failed.error = str(exc)[:300]
        log.error("fl: false positives not applied (thresholds as computed): %s", failed.error)
        return failed
    out = apply_feedback(
        thresholds_by_node, threshold, fps.marks, model_name, bounds, fps.incidents
    )
    if fps.unreadable:
        out.ignored["unreadable"] = fps.unreadable
    for node, f in sorted(out.nodes.items()):
        log.info(
            "fl: %d false positive(s) of %s: threshold %.4g -> %.4g%s",
            f.fps, node, f.computed, f.threshold, " (capped)" if f.capped else "",
        )  # fmt: skip
    if out.ignored:
        log.info("fl: false positives not used: %s", out.ignored)
    return out


def fleet_metrics(fb: Feedback) -> dict[str, float]:
    """The server's ``model_published`` FL event metrics."""
    return {
        "fp_applied": float(fb.applied),
        "fp_incidents": float(fb.incidents),
        "fp_ignored": float(sum(fb.ignored.values())),
        "fp_nodes": float(len(fb.nodes)),
        "fp_fleet_factor": fb.fleet_factor,
        "fp_error": 1.0 if fb.error else 0.0,
        "threshold": fb.threshold,
    }


def node_events(fb: Feedback, rnd: int, model_version: str) -> list[FLEvent]:
    """One FL event per node whose threshold the marks raised (role server: the hub's
    verdict, under the node's id, so the dashboard lists it with the node)."""
    return [
        FLEvent(
            node_id=node,
            role="server",
            round=rnd,
            phase="model_published",
            model_version=model_version,
            metrics={
                "fp_applied": float(f.fps),
                "fp_ratio": f.ratio,
                "fp_factor": f.factor,
                "fp_capped": 1.0 if f.capped else 0.0,
                "threshold_computed": f.computed,
                "threshold": f.threshold,
            },
        )
        for node, f in sorted(fb.nodes.items())
    ]
