"""The detector interface of the edge agent's pipeline.

The pipeline calls ``on_flow`` for every finished flow (a validated :class:`FlowRecord`,
features in ``contracts.FLOW_FEATURES`` order) and ``on_tick`` about once a second with
the capture clock (packet time for replays, wall time for live capture), so a detector
can keep per-host windows (the LSTM keeps the last N flows of each source host) and emit
time-window verdicts. Both return the :class:`AnomalyEvent`s to publish (often none).
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from contracts.events import AnomalyEvent, FlowRecord


@runtime_checkable
class Detector(Protocol):
    name: str

    def on_flow(self, flow: FlowRecord) -> list[AnomalyEvent]: ...

    def on_tick(self, now: float) -> list[AnomalyEvent]: ...
