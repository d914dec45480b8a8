"""``anomaly-iforest``: ``network_data`` -> ``anomalies`` with the Isolation Forest.

The hub sees every node's flows, so it adds what no single sensor can: how many sensors saw
the same source recently. On single flows the forest is a weak signal (about 2 % of benign
flows pass its threshold), so its verdicts are "low" and feed the classifier; a source
anomalous at two or more sensors is raised to "medium" (an alert) and the evidence names them.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from contracts.events import AnomalyEvent, EventBase, FlowRecord
from contracts.topics import KafkaTopic
from models.iforest import IForestModel

DEFAULT_MODEL = Path(__file__).resolve().parents[2] / "models" / "artifacts" / "iforest"
WINDOW_S = 60.0
MAX_SOURCES = 100_000


class IForestService:
    name = "anomaly-iforest"
    inputs: Sequence[str] = (KafkaTopic.NETWORK_DATA.value,)
    accepts = frozenset({"flow"})

    def __init__(self, model: IForestModel) -> None:
        self.model = model
        self._seen: OrderedDict[str, dict[str, float]] = OrderedDict()  # src -> {sensor: last ts}

    def _sensors(self, flow: FlowRecord) -> list[str]:
        seen = self._seen.get(flow.src_ip)
        if seen is None:
            seen = self._seen[flow.src_ip] = {}
            if len(self._seen) > MAX_SOURCES:
                self._seen.popitem(last=False)
        else:
            self._seen.move_to_end(flow.src_ip)
        seen[flow.node_id] = flow.end_ts
        return sorted(n for n, t in seen.items() if flow.end_ts - t <= WINDOW_S)

    def handle(self, events: list[EventBase]) -> list[EventBase]:
        flows = [e for e in events if isinstance(e, FlowRecord)]
        if not flows:
            return []
        scores = self.model.score(np.asarray([f.features for f in flows]))
        out: list[EventBase] = []
        for flow, score in zip(flows, scores, strict=True):
            sensors = self._sensors(flow)
            if score <= self.model.threshold:
                continue
            out.append(
                AnomalyEvent(
                    node_id=flow.node_id,
                    detector="iforest",
                    score=float(score),
                    threshold=self.model.threshold,
                    severity="medium" if len(sensors) >= 2 else "low",
                    flow_id=flow.flow_id,
                    src_ip=flow.src_ip,
                    dst_ip=flow.dst_ip,
                    dst_port=flow.dst_port,
                    window_start=flow.start_ts,
                    window_end=flow.end_ts,
                    evidence={
                        "sensors_seeing_source": len(sensors),
                        "sensors": ",".join(sensors)[:200],
                    },
                )
            )
        return out
