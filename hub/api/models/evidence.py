"""Packet evidence: what an operator asks for, and the status of each request."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import Field, IPvAnyAddress, model_validator

from contracts.evidence import MAX_EVIDENCE_BYTES, MAX_HOSTS, MAX_WINDOW_S
from contracts.topics import NODE_ID_PATTERN
from hub.api.models.base import ApiModel

MaxBytes = Annotated[int, Field(ge=1024, le=MAX_EVIDENCE_BYTES)]


class EvidenceCreate(ApiModel):
    """Ask one node for the frames to or from ``hosts`` between ``t0`` and ``t1``."""

    node_id: Annotated[str, Field(pattern=NODE_ID_PATTERN)]
    hosts: Annotated[list[IPvAnyAddress], Field(min_length=1, max_length=MAX_HOSTS)]
    t0: datetime
    t1: datetime
    max_bytes: MaxBytes = MAX_EVIDENCE_BYTES

    @model_validator(mode="after")
    def _window(self) -> EvidenceCreate:
        span = (self.t1 - self.t0).total_seconds()
        if not 0 <= span <= MAX_WINDOW_S:
            raise ValueError(f"t1 must be after t0 and within {MAX_WINDOW_S:.0f} s of it")
        return self


class IncidentEvidenceCreate(ApiModel):
    """Ask every node of an incident for its hosts' frames around the incident's span."""

    pad_s: Annotated[float, Field(ge=0, le=3600)] | None = None
    """Seconds before and after the span (default: the hub's ``window_pad_s``)."""
    max_bytes: MaxBytes = MAX_EVIDENCE_BYTES


class EvidenceStatus(ApiModel):
    """One evidence request: ``pending`` until the node answered, then ``ready`` (the pcap can
    be downloaded from ``pcap_url``), ``expired`` (the packets have left the node's buffer:
    ``oldest_ts`` is the oldest it still holds) or ``failed`` (``reason``)."""

    evidence_id: str
    node_id: str
    status: Literal["pending", "ready", "expired", "failed"]
    hosts: list[str]
    t0: datetime
    t1: datetime
    incident_key: str | None
    created_at: datetime
    updated_at: datetime
    frames: int
    size: int
    sha256: str | None
    oldest_ts: datetime | None
    newest_ts: datetime | None
    partial: bool
    """The window starts before the oldest frame still held: its start is missing."""
    truncated: bool
    """More frames matched than ``max_bytes``: the pcap holds the first ones."""
    reason: str
    pcap_url: str | None


class EvidenceList(ApiModel):
    items: list[EvidenceStatus]
