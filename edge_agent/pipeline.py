"""Packets -> flows -> detectors -> events: the edge agent's data plane, with no I/O.

IP packets go to the flow table and the flow detectors; ARP packets go to the ARP monitor
(:mod:`edge_agent.detectors.arp`) and never into a flow."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from typing import Protocol

from contracts.events import AnomalyEvent, EventBase, FlowRecord
from edge_agent.capture.packet import UDP, ArpPacket, Packet, ParseStats
from edge_agent.detectors.arp import ArpMonitor
from edge_agent.detectors.base import Detector
from edge_agent.flows import FlowConfig, FlowTable, to_record
from edge_agent.flows.flow import Flow
from edge_agent.inventory import AssetTracker, wants

TICK_S = 1.0


class ArpDetector(Protocol):
    def on_arp(self, pkt: ArpPacket) -> list[AnomalyEvent]: ...

    def on_tick(self, now: float) -> list[AnomalyEvent]: ...


class Pipeline:
    """Feed packets in capture order. ``feed``/``tick``/``close`` return the events to publish:
    :class:`FlowRecord` for every finished flow, the detectors' and the ARP monitor's
    :class:`AnomalyEvent`."""

    def __init__(
        self,
        node_id: str,
        detectors: Sequence[Detector] = (),
        config: FlowConfig | None = None,
        parse_stats: ParseStats | None = None,
        arp: ArpDetector | None = None,
        inventory: AssetTracker | None = None,
    ) -> None:
        self.node_id = node_id
        own = (getattr(d, "arp_path", None) for d in detectors)  # the scorer's own ARP path
        self.arp: ArpDetector = (
            arp if arp is not None else next((a for a in own if a), None) or ArpMonitor(node_id)
        )
        """Sees every ARP packet (default: the scorer's ARP monitor, else a default one)."""
        self.arp_packets = 0
        self.inventory = inventory
        """The passive device inventory (:mod:`edge_agent.inventory`); None: off."""
        self._arp_now = 0.0
        self.parse_stats = parse_stats
        """The source's skip counters (``source.stats``), reported as ``malformed_<reason>``."""
        self.detectors = list(detectors)
        self.table = FlowTable(config)
        self.packets = 0
        self.flows = 0
        self.anomalies = 0
        self.by_detector: Counter[str] = Counter()
        self._next_tick = 0.0
        self.on_flow_end: Callable[[Flow, FlowRecord], None] | None = None
        """Optional hook after the detectors saw a finished flow (benchmarks, local stores)."""

    def feed(self, pkt: Packet | ArpPacket) -> list[EventBase]:
        self.packets += 1
        out: list[EventBase]
        if isinstance(pkt, ArpPacket):
            self.arp_packets += 1
            self._arp_now = max(self._arp_now, pkt.ts)
            out = list(self._count(self.arp.on_arp(pkt)))
            if self.inventory is not None:
                self.inventory.on_arp(pkt)
        else:
            if pkt.proto == UDP and self.inventory is not None and wants(pkt):
                self.inventory.on_packet(pkt)
            ended = self.table.add(pkt)
            out = self._emit(ended) if ended else []
        if pkt.ts >= self._next_tick:
            if self._next_tick:
                out.extend(self.tick(pkt.ts))
            self._next_tick = pkt.ts + TICK_S
        return out

    def tick(self, now: float) -> list[EventBase]:
        """Expire idle flows and let detectors act on time (call about once a second)."""
        out = self._emit(self.table.expire(now))
        for det in self.detectors:
            out.extend(self._count(det.on_tick(now)))
        out.extend(self._count(self.arp.on_tick(now)))
        if self.inventory is not None:
            out.extend(self.inventory.on_tick(now))
        return out

    def close(self) -> list[EventBase]:
        """End every open flow (``end_reason="flush"``) and tick the detectors one last time."""
        out = self._emit(self.table.flush())
        for det in self.detectors:
            out.extend(self._count(det.on_tick(self.table.now)))
        out.extend(self._count(self.arp.on_tick(max(self.table.now, self._arp_now))))
        if self.inventory is not None:
            out.extend(self.inventory.flush(max(self.table.now, self._arp_now)))
        return out

    def _count(self, events: list[AnomalyEvent]) -> list[AnomalyEvent]:
        for ev in events:
            self.anomalies += 1
            self.by_detector[ev.detector] += 1
        return events

    def _emit(self, ended: list[tuple[Flow, str]]) -> list[EventBase]:
        out: list[EventBase] = []
        hook = self.on_flow_end
        for flow, reason in ended:
            rec: FlowRecord = to_record(flow, reason, self.node_id)
            self.flows += 1
            out.append(rec)
            if self.inventory is not None:
                self.inventory.on_flow(rec)
            for det in self.detectors:
                out.extend(self._count(_with_community_id(det.on_flow(rec), rec)))
            if hook is not None:
                hook(flow, rec)
        return out

    def counters(self) -> dict[str, int]:
        """Packets (``arp_packets`` of them ARP), flows, anomalies, open flows, evictions, flows
        ended by reason and, when the source's ``parse_stats`` were given, the malformed /
        skipped frames by reason."""
        out = {
            "packets": self.packets,
            "arp_packets": self.arp_packets,
            "flows": self.flows,
            "anomalies": self.anomalies,
            "open_flows": len(self.table),
            "evictions": self.table.ended["evicted"],
            **{f"ended_{k}": v for k, v in self.table.ended.items()},
            **self.table.l7_stats.as_dict(),
            **(self.inventory.counters() if self.inventory is not None else {}),
        }
        if self.parse_stats is not None:
            skipped = self.parse_stats.skipped
            out["malformed"] = sum(skipped.values())
            out.update({f"malformed_{k}": v for k, v in skipped.items()})
        return out


def _with_community_id(events: list[AnomalyEvent], rec: FlowRecord) -> list[AnomalyEvent]:
    """The verdicts about ``rec`` carry its Community ID (the detectors need not know it)."""
    cid = rec.community_id
    if cid is None or not events:
        return events
    return [
        ev.model_copy(update={"community_id": cid})
        if ev.flow_id == rec.flow_id and ev.community_id is None
        else ev
        for ev in events
    ]
