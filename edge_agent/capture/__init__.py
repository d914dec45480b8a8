"""Packet sources, chosen by a spec: ``pcap:PATH``, ``live:IFACE``, ``sim:SCENARIO?k=v``.

Every source is an iterable of :class:`Packet` (IP) and :class:`ArpPacket` (ARP; tell them
apart with ``isinstance(p, ArpPacket)``) with a ``stats`` (:class:`ParseStats`) of what it
skipped and why.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Protocol
from urllib.parse import parse_qsl

from edge_agent.capture.errors import CaptureError, EdgeAgentError
from edge_agent.capture.frames import write_pcap
from edge_agent.capture.packet import ArpPacket, Packet, ParseStats, parse_frame

__all__ = [
    "ArpPacket",
    "CaptureError",
    "EdgeAgentError",
    "Packet",
    "PacketSource",
    "ParseStats",
    "open_source",
    "parse_frame",
    "read_labels",
    "write_pcap",
]


class PacketSource(Protocol):
    """Iterates IP and ARP packets; a live source also yields ``None`` when idle for a moment."""

    stats: ParseStats

    def __iter__(self) -> Iterator[Packet | ArpPacket | None]: ...


def _opts(query: str) -> dict[str, str]:
    return dict(parse_qsl(query, keep_blank_values=True))


def read_labels(path: str) -> list[str]:
    """Per-frame ground truth from a CSV with a header ``index,label,attack`` (one row per
    frame, as ``make_replay_bench.py`` writes): the attack name, or ``benign`` for label 0."""
    import csv

    try:
        with open(path, newline="") as f:
            return [
                (row.get("attack") or "attack") if row["label"] not in ("0", "") else "benign"
                for row in csv.DictReader(f)
            ]
    except (OSError, KeyError, csv.Error) as exc:
        raise CaptureError(
            f"pcap labels {path}: cannot read index,label,attack rows: {exc}"
        ) from exc


def open_source(spec: str, **overrides: object) -> PacketSource:
    """Open a packet source by spec; ``overrides`` replace query options.

    ``pcap:PATH?speed=X&labels=CSV``, ``live:IFACE?filter=BPF&seconds=N``,
    ``sim:SCENARIO?seed=&hosts=&duration=&speed=&intensity=``."""
    kind, _, rest = spec.partition(":")
    target, _, query = rest.partition("?")
    opts: dict[str, object] = {**_opts(query), **overrides}
    try:
        if kind == "pcap":
            from edge_agent.capture.pcap import PcapSource

            labels = opts.get("labels")
            return PcapSource(
                target,
                speed=float(opts.get("speed", 0)),  # type: ignore[arg-type]
                labels=read_labels(str(labels)) if labels else None,
            )
        if kind == "live":
            from edge_agent.capture.live import LiveSource

            secs = opts.get("seconds")
            return LiveSource(
                target,
                bpf=opts.get("filter") or None,  # type: ignore[arg-type]
                max_seconds=float(secs) if secs else None,  # type: ignore[arg-type]
            )
        if kind == "sim":
            from edge_agent.capture.sim import SimConfig, SimSource

            fields = {k: v for k, v in opts.items() if k in SimConfig.__dataclass_fields__}
            typed = {k: type(getattr(SimConfig(), k))(v) for k, v in fields.items()}  # type: ignore[call-arg]
            return SimSource(SimConfig(scenario=target or "mixed", **typed))
    except (TypeError, ValueError) as exc:
        raise CaptureError(f"bad source options in {spec!r}: {exc}") from exc
    raise CaptureError(f"unknown source {spec!r}: use pcap:PATH, live:IFACE or sim:SCENARIO")
