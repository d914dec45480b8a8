"""Suppressions (requests and answers), and an incident's context (ATT&CK, flows, IOC hits)."""

from __future__ import annotations

import time
from datetime import datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, AwareDatetime, Field, StringConstraints

from contracts.events import AnomalyEvent
from contracts.flowmeta import DnsMeta, HttpMeta, SshMeta, TlsMeta
from hub.api.models.base import ApiModel
from hub.api.models.events import AlertItem
from hub.services.suppressions import SuppressionMatch

NO_CONTROL = r"^[^\x00-\x1f\x7f]*$"
Reason = Annotated[str, StringConstraints(min_length=1, max_length=500, pattern=NO_CONTROL)]
Iso = Annotated[str, Field(description="ISO 8601, UTC")]
MAX_DAYS = 365
"""A suppression expires at most this many days after it is created."""


def _bounded(at: datetime) -> datetime:
    try:
        ts = at.timestamp()
    except (OverflowError, ValueError, OSError) as exc:
        raise ValueError("expires_at is out of range") from exc
    now = time.time()
    if ts <= now:
        raise ValueError("expires_at must be in the future")
    if ts > now + MAX_DAYS * 86400:
        raise ValueError(f"expires_at must be at most {MAX_DAYS} days from now")
    return at


Expiry = Annotated[
    AwareDatetime,
    AfterValidator(_bounded),
    Field(description=f"In the future, at most {MAX_DAYS} days from now"),
]


class SuppressionCreate(ApiModel):
    """A new suppression: what it matches, why, and when it ends (within 365 days)."""

    match: SuppressionMatch
    reason: Reason
    expires_at: Expiry
    source_incident: (
        Annotated[str, StringConstraints(min_length=1, max_length=200, pattern=NO_CONTROL)] | None
    ) = None


class FalsePositive(ApiModel):
    """Mark an incident a false positive: a suppression from it, and it is resolved as one."""

    reason: Reason = "false positive"
    expires_at: Expiry


class AuditEntry(ApiModel):
    action: Literal["created", "expired", "deleted", "marked"]
    actor: str
    at: Iso
    detail: str | None


class Suppression(ApiModel):
    id: str
    match: SuppressionMatch
    reason: str
    author: Annotated[str, Field(description="The API token's name and role that created it")]
    created_at: Iso
    expires_at: Iso
    deleted_at: Iso | None
    source_incident: str | None
    hits: Annotated[int, Field(description="Detections of the incidents it marked")]
    last_hit: Iso | None
    state: Literal["active", "expired", "deleted"]


class SuppressionDetail(Suppression):
    audit: list[AuditEntry]


class SuppressionList(ApiModel):
    items: list[Suppression]


class SuppressionDraft(ApiModel):
    """A suppression prefilled from an incident ("suppress like this"), to edit and POST."""

    match: SuppressionMatch
    reason: str
    expires_at: datetime
    source_incident: str


class FalsePositiveResult(ApiModel):
    suppression: SuppressionDetail
    alert: AlertItem


class Technique(ApiModel):
    id: str
    name: str
    tactic: str
    url: str


class FlowMeta(ApiModel):
    """One flow of the incident with its community id and application metadata."""

    event_id: str
    node_id: str
    ts: float
    src_ip: str
    dst_ip: str
    src_port: int
    dst_port: int
    proto: int
    community_id: str | None
    dns: DnsMeta | None
    tls: TlsMeta | None
    http: HttpMeta | None
    ssh: SshMeta | None


class IncidentContext(ApiModel):
    """What the incident view shows beside the incident: its techniques with their names,
    the flows of its detections (by community id), and its IOC hits (detector ``ioc``)."""

    alert_id: str
    techniques: list[Technique]
    flows: list[FlowMeta]
    ioc_hits: list[AnomalyEvent]
