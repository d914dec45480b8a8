"""Passive device inventory: what a sensor learns about the devices it sees, with no probe.

:class:`~edge_agent.inventory.tracker.AssetTracker` keeps one asset per MAC (or per IP when the
capture has no MACs: routed / L3-only links). It reads ARP (MAC <-> IP), the payloads of UDP
67/68 (DHCP: host name, vendor class, parameter-request list), 5353 (mDNS names) and 1900
(SSDP ``SERVER`` / ``USN``), and finished flows (the services a device answered on). The MAC's
vendor comes from the IEEE OUI registry (:mod:`~edge_agent.inventory.oui`). A change (a new
asset, IP, name or service) becomes a :class:`contracts.events.AssetRecord`, at most once per
asset per ``min_interval_s`` except for a new asset. Every table and list is bounded;
malformed payloads are counted by reason and skipped.
"""

from __future__ import annotations

from edge_agent.inventory.tracker import AssetTracker, InventoryConfig, wants

__all__ = ["AssetTracker", "InventoryConfig", "wants"]
