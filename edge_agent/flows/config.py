"""Flow assembly settings."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class FlowConfig:
    idle_timeout_s: float = 30.0
    """A flow with no packet for this long ends (``end_reason="idle"``)."""
    active_timeout_s: float = 120.0
    """A flow older than this is exported (``"active"``) and continues as a new flow."""
    max_flows: int = 100_000
    """Bound of the flow table; the least recently active flow is evicted (``"evicted"``)."""
    host_window_s: float = 10.0
    """Length of the per-host windows (fan-out, distinct ports, SYN/SYN-ACK ratio)."""
    max_hosts: int = 50_000
    """Bound of the per-host window table."""
    l7: bool = True
    """Read DNS, TLS (JA4), HTTP and SSH metadata from the first payload packets of a flow."""
    community_id_seed: int | None = 0
    """Seed of the Community ID on each flow (0, the default of every tool); None: none."""
