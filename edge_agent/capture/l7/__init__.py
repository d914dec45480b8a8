"""Application-layer metadata from the first payload packets of a flow, cheap and bounded.

A :class:`~edge_agent.capture.l7.tap.Tap` rides on each new TCP flow and each UDP flow to or
from port 53; it reads at most :data:`~edge_agent.capture.l7.tap.MAX_PAYLOAD_PACKETS` payload
packets, then the flow drops it (no cost per packet after that). What it found goes on the
:class:`contracts.events.FlowRecord`: ``dns``, ``tls`` (with JA4), ``http`` or ``ssh``.
Malformed or truncated payloads are counted by reason in :class:`L7Stats` and skipped.
"""

from __future__ import annotations

from collections import Counter


class L7Stats:
    """Flows with metadata, by protocol (``parsed``), and payloads skipped, by reason."""

    __slots__ = ("parsed", "skipped")

    def __init__(self) -> None:
        self.parsed: Counter[str] = Counter()
        self.skipped: Counter[str] = Counter()

    def skip(self, reason: str) -> None:
        self.skipped[reason] += 1

    def as_dict(self) -> dict[str, int]:
        return {
            **{f"l7_{k}": v for k, v in self.parsed.items()},
            **{f"l7_skipped_{k}": v for k, v in self.skipped.items()},
        }


__all__ = ["L7Stats"]
