"""Packet evidence: ask a node for an incident's packets, follow the request, get the pcap.

Asking and downloading need an operator token (raw packets leave the sensor only on an
operator's request); the status needs a read token. A hub with no evidence service
(``FEDNIDS_HUB_EVIDENCE_MQTT_URL`` unset) answers 409 to a request and lists none."""

from __future__ import annotations

import ipaddress
import uuid
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Path, Request, status
from fastapi.responses import FileResponse

from contracts.events import AlertEvent
from hub.api.deps import NO_CONTROL, Operator, Q, Reader
from hub.api.models.base import ERRORS, Problem
from hub.api.models.evidence import (
    EvidenceCreate,
    EvidenceList,
    EvidenceStatus,
    IncidentEvidenceCreate,
)
from hub.evidence.service import EvidenceService
from hub.evidence.store import EvidenceError, EvidenceRecord

router = APIRouter(tags=["evidence"], responses=ERRORS)
PCAP_TYPE = "application/vnd.tcpdump.pcap"
MAX_NODES = 8
"""Nodes asked at once for one incident."""
EV_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": Problem, "description": "A body that is not JSON"},
    403: {"model": Problem, "description": "This needs an operator token"},
    404: {"model": Problem, "description": "No such evidence request or incident"},
    409: {
        "model": Problem,
        "description": "Packet evidence is off on this hub, too many requests are in flight,"
        " or the incident names no node or host",
    },
}
EvidenceId = Annotated[uuid.UUID, Path()]
AlertId = Annotated[str, Path(min_length=1, max_length=200, pattern=NO_CONTROL)]


def maybe_evidence(request: Request) -> EvidenceService | None:
    return getattr(request.app.state, "evidence", None)


def get_evidence(
    svc: Annotated[EvidenceService | None, Depends(maybe_evidence)],
) -> EvidenceService:
    if svc is None:
        raise HTTPException(
            status.HTTP_409_CONFLICT,
            "packet evidence is not configured on this hub (FEDNIDS_HUB_EVIDENCE_MQTT_URL)",
        )
    return svc


Service = Annotated[EvidenceService, Depends(get_evidence)]
MaybeService = Annotated[EvidenceService | None, Depends(maybe_evidence)]


def _dt(ts: float | None) -> datetime | None:
    return None if ts is None else datetime.fromtimestamp(ts, UTC)


def to_status(rec: EvidenceRecord) -> EvidenceStatus:
    return EvidenceStatus(
        evidence_id=str(rec.evidence_id),
        node_id=rec.node_id,
        status=rec.status,
        hosts=rec.hosts,
        t0=datetime.fromtimestamp(rec.t0, UTC),
        t1=datetime.fromtimestamp(rec.t1, UTC),
        incident_key=rec.incident_key,
        created_at=datetime.fromtimestamp(rec.created_at, UTC),
        updated_at=datetime.fromtimestamp(rec.updated_at, UTC),
        frames=rec.frames,
        size=rec.size,
        sha256=rec.sha256,
        oldest_ts=_dt(rec.oldest_ts),
        newest_ts=_dt(rec.newest_ts),
        partial=rec.partial,
        truncated=rec.truncated,
        reason=rec.reason,
        pcap_url=f"/api/evidence/{rec.evidence_id}/pcap" if rec.status == "ready" else None,
    )


def _ask(
    svc: EvidenceService, node: str, hosts: list[str], t0: float, t1: float, **kw: Any
) -> EvidenceStatus:
    try:
        return to_status(svc.request(node, hosts, t0, t1, **kw))
    except EvidenceError as exc:
        raise HTTPException(409, str(exc)[:300]) from exc


@router.post("/evidence", response_model=EvidenceStatus, status_code=202, responses=EV_ERRORS)
def create_evidence(_op: Operator, body: EvidenceCreate, svc: Service) -> EvidenceStatus:
    return _ask(
        svc,
        body.node_id,
        [str(h) for h in body.hosts],
        body.t0.timestamp(),
        body.t1.timestamp(),
        max_bytes=body.max_bytes,
    )


@router.post(
    "/alerts/{alert_id}/evidence", response_model=EvidenceList, status_code=202, responses=EV_ERRORS
)
def incident_evidence(
    _op: Operator, alert_id: AlertId, svc: Service, q: Q, body: IncidentEvidenceCreate | None = None
) -> EvidenceList:
    """One request per node of the incident, for its attackers' and targets' packets."""
    body = body or IncidentEvidenceCreate()
    item = q.get_alert(alert_id)
    if item is None:
        raise HTTPException(404, f"no incident {alert_id!r}")
    a = AlertEvent.model_validate(
        {k: v for k, v in item.items() if k in AlertEvent.model_fields}, strict=False
    )
    hosts = _addresses([*a.attackers, *a.targets, *a.hosts])
    if not a.nodes or not hosts:
        raise HTTPException(409, "the incident names no node or no host address")
    pad = svc.window_pad_s if body.pad_s is None else body.pad_s
    t0 = (a.event_first_ts if a.event_first_ts is not None else a.first_seen.timestamp()) - pad
    t1 = (a.event_last_ts if a.event_last_ts is not None else a.last_seen.timestamp()) + pad
    t1 = min(max(t1, t0), t0 + 24 * 3600.0)
    return EvidenceList(
        items=[
            _ask(svc, n, hosts, max(t0, 0.0), t1, max_bytes=body.max_bytes, incident_key=alert_id)
            for n in a.nodes[:MAX_NODES]
        ]
    )


def _addresses(hosts: list[str]) -> list[str]:
    out: list[str] = []
    for h in hosts:
        try:
            ip = str(ipaddress.ip_address(h))
        except ValueError:
            continue
        if ip not in out:
            out.append(ip)
    return out[:16]


@router.get("/evidence", response_model=EvidenceList)
def list_evidence(_r: Reader, svc: MaybeService) -> EvidenceList:
    """The 50 most recent requests."""
    return EvidenceList(items=[to_status(r) for r in svc.store.list(50)] if svc else [])


@router.get("/evidence/{evidence_id}", response_model=EvidenceStatus, responses=EV_ERRORS)
def get_evidence_status(_r: Reader, evidence_id: EvidenceId, svc: MaybeService) -> EvidenceStatus:
    rec = svc.get(evidence_id) if svc else None
    if rec is None:
        raise HTTPException(404, f"no evidence request {evidence_id}")
    return to_status(rec)


@router.get(
    "/evidence/{evidence_id}/pcap",
    response_class=FileResponse,
    responses={**EV_ERRORS, 200: {"content": {PCAP_TYPE: {}}, "description": "The pcap"}},
)
def get_evidence_pcap(_op: Operator, evidence_id: EvidenceId, svc: MaybeService) -> FileResponse:
    rec = svc.get(evidence_id) if svc else None
    path = svc.store.pcap_path(evidence_id) if svc else None
    if rec is None or rec.status != "ready" or path is None or not path.is_file():
        raise HTTPException(404, f"no pcap for evidence request {evidence_id}")
    return FileResponse(
        path, media_type=PCAP_TYPE, filename=f"fednids-{rec.node_id}-{evidence_id}.pcap"
    )
