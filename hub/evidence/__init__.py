"""Packet evidence on the hub: ask a node for the raw frames of a few hosts in a time window
over its authenticated MQTT channel, reassemble and verify the pcap it sends back (bounded,
with timeouts) and keep it in a bounded evidence directory (:mod:`.service`, :mod:`.store`)."""

from hub.evidence.reassembly import Reassembler, Result
from hub.evidence.service import EvidenceService
from hub.evidence.store import EvidenceRecord, EvidenceStore

__all__ = ["EvidenceRecord", "EvidenceService", "EvidenceStore", "Reassembler", "Result"]
