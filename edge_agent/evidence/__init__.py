"""Packet evidence on the sensor: a bounded ring of recent raw frames (:mod:`.ring`), their
export as a pcap (:mod:`.pcap`) and the answer to the hub's requests (:mod:`.responder`).
Raw packets leave the sensor only when an operator asks, bounded by the request contract."""

from edge_agent.evidence.ring import FrameRing

__all__ = ["FrameRing"]
