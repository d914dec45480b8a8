"""Suppressions: list, create (operator), expire / delete (operator, audited); and on an
incident: its context, "suppress like this" (a draft to edit) and "mark false positive"."""

from __future__ import annotations

import ipaddress
import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Header, HTTPException, Path, Query, status
from pydantic import ValidationError

from contracts.attack import technique_name, technique_tactic
from contracts.events import AlertEvent, AnomalyEvent
from hub.api.deps import NO_CONTROL, TOKEN_RE, Q, Reader, get_store
from hub.api.models import AlertItem, Problem
from hub.api.models.base import ERRORS
from hub.api.models.suppressions import (
    FalsePositive,
    FalsePositiveResult,
    FlowMeta,
    IncidentContext,
    SuppressionCreate,
    SuppressionDetail,
    SuppressionDraft,
    SuppressionList,
    Technique,
)
from hub.services.suppressions import Active, SuppressionMatch
from hub.storage import EventStore
from hub.storage.suppressions import incident_evidence
from hub.storage.tokens import token_identity

router = APIRouter(tags=["suppressions"], responses=ERRORS)
Store = Annotated[EventStore, Depends(get_store)]
SuppressionId = Annotated[str, Path(pattern=r"^[0-9a-f-]{36}$")]
AlertId = Annotated[str, Path(min_length=1, max_length=200, pattern=NO_CONTROL)]
DRAFT_DAYS = 30
"""A draft suppression's expiry: this many days from now (the operator edits it)."""
OP_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": Problem, "description": "A body that is not JSON"},
    403: {"model": Problem, "description": "This needs an operator token"},
    404: {"model": Problem, "description": "No such suppression or incident"},
}


def author(store: Store, authorization: Annotated[str | None, Header()] = None) -> str:
    """``name (operator)`` of an operator token: 401 without a valid token, 403 for a read one."""
    token = (
        (authorization or "")[7:].strip()
        if (authorization or "").lower().startswith("bearer ")
        else ""
    )
    got = token_identity(store, token) if TOKEN_RE.match(token) else None
    if got is None:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED, "invalid token", headers={"WWW-Authenticate": "Bearer"}
        )
    if got[1] != "operator":
        raise HTTPException(status.HTTP_403_FORBIDDEN, "this needs an operator token")
    return f"{got[0]} ({got[1]})"[:100]


Author = Annotated[str, Depends(author)]


def _expiry(at: datetime) -> float:
    return at.timestamp()  # bounded by the request model (422 otherwise)


def _detail(store: EventStore, sid: str) -> SuppressionDetail:
    got = store.get_suppression(sid)
    if got is None:
        raise HTTPException(404, f"no suppression {sid!r}")
    return SuppressionDetail.model_validate(got)


@router.get("/suppressions", response_model=SuppressionList)
def list_suppressions(
    store: Store,
    _r: Reader,
    state: Annotated[Literal["active", "expired", "deleted", "all"], Query()] = "active",
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> SuppressionList:
    return SuppressionList.model_validate({"items": store.list_suppressions(state, limit)})


@router.post("/suppressions", response_model=SuppressionDetail, responses=OP_ERRORS)
def create_suppression(
    body: SuppressionCreate, who: Author, q: Q, store: Store
) -> SuppressionDetail:
    row = store.create_suppression(
        body.match, body.reason, who, _expiry(body.expires_at), body.source_incident
    )
    src = q.get_alert(body.source_incident) if body.source_incident else None
    if src is not None and Active(uuid.UUID(row["id"]), body.match, 0.0).matches(_event(src)):
        store.mark_incident(src["alert_id"], row["id"], who)  # the incident it was made from
    return _detail(store, row["id"])


@router.get("/suppressions/{sid}", response_model=SuppressionDetail, responses=OP_ERRORS)
def get_suppression(sid: SuppressionId, store: Store, _r: Reader) -> SuppressionDetail:
    return _detail(store, sid)


@router.post("/suppressions/{sid}/expire", response_model=SuppressionDetail, responses=OP_ERRORS)
def expire_suppression(sid: SuppressionId, who: Author, store: Store) -> SuppressionDetail:
    if store.end_suppression(sid, "expired", who) is None:
        raise HTTPException(404, f"no active suppression {sid!r}")
    return _detail(store, sid)


@router.delete("/suppressions/{sid}", response_model=SuppressionDetail, responses=OP_ERRORS)
def delete_suppression(sid: SuppressionId, who: Author, store: Store) -> SuppressionDetail:
    if store.end_suppression(sid, "deleted", who) is None:
        raise HTTPException(404, f"no suppression {sid!r} (or deleted already)")
    return _detail(store, sid)


# --- on an incident ---------------------------------------------------------------------


def _incident(q: Q, alert_id: str) -> dict[str, Any]:
    item = q.get_alert(alert_id)
    if item is None:
        raise HTTPException(404, f"no alert {alert_id!r}")
    return item


def _one_net(hosts: list[str]) -> str | None:
    """The one host of a list, when it is an IP address (a suppression matches addresses)."""
    if len(hosts) != 1:
        return None
    try:
        return str(ipaddress.ip_address(hosts[0]))
    except ValueError:
        return None


def draft_match(a: AlertEvent) -> SuppressionMatch:
    """The narrowest match that still covers this incident's kind: its one attacker, its
    one target, its one rule, its family, its one node (each when there is exactly one)."""
    return SuppressionMatch(
        attacker=_one_net(a.attackers),
        target=_one_net(a.targets),
        rule_id=a.rule_ids[0] if len(a.rule_ids) == 1 else None,
        family=a.family,
        node_id=a.nodes[0] if len(a.nodes) == 1 else None,
    )


def _event(item: dict[str, Any]) -> AlertEvent:
    fields = {k: v for k, v in item.items() if k in AlertEvent.model_fields}
    return AlertEvent.model_validate(fields, strict=False)


@router.get(
    "/alerts/{alert_id}/suppression-draft", response_model=SuppressionDraft, responses=OP_ERRORS
)
def suppression_draft(alert_id: AlertId, q: Q, _r: Reader) -> SuppressionDraft:
    a = _event(_incident(q, alert_id))
    return SuppressionDraft(
        match=draft_match(a),
        reason="",
        expires_at=datetime.now(UTC) + timedelta(days=DRAFT_DAYS),
        source_incident=alert_id,
    )


@router.post(
    "/alerts/{alert_id}/false-positive", response_model=FalsePositiveResult, responses=OP_ERRORS
)
def false_positive(
    alert_id: AlertId, body: FalsePositive, who: Author, q: Q, store: Store
) -> FalsePositiveResult:
    a = _event(_incident(q, alert_id))
    row = store.create_suppression(
        draft_match(a), body.reason, who, _expiry(body.expires_at), alert_id
    )
    store.mark_incident(alert_id, row["id"], who, resolve_as="false_positive")
    return FalsePositiveResult(
        suppression=_detail(store, row["id"]),
        alert=AlertItem.model_validate(_incident(q, alert_id), strict=False),
    )


def _flow(row: dict[str, Any]) -> FlowMeta | None:
    l7 = json.loads(row["l7"]) if row.get("l7") else {}
    try:
        return FlowMeta.model_validate(
            {
                **{k: row[k] for k in ("event_id", "node_id", "ts", "src_ip", "dst_ip")},
                **{k: row[k] for k in ("src_port", "dst_port", "proto", "community_id")},
                **{k: l7.get(k) for k in ("dns", "tls", "http", "ssh")},
            }
        )
    except ValidationError:
        return None  # a row an older version stored: shown without it rather than a 500


@router.get("/alerts/{alert_id}/context", response_model=IncidentContext, responses=OP_ERRORS)
def incident_context(alert_id: AlertId, q: Q, store: Store, _r: Reader) -> IncidentContext:
    a = _event(_incident(q, alert_id))
    anomalies, flows = incident_evidence(store.engine, [str(i) for i in a.related_ids])
    techniques = [
        Technique(
            id=t,
            name=technique_name(t),
            tactic=technique_tactic(t),
            url="https://attack.mitre.org/techniques/" + t.replace(".", "/") + "/",
        )
        for t in a.techniques
    ]
    return IncidentContext(
        alert_id=alert_id,
        techniques=techniques,
        flows=[f for f in map(_flow, flows) if f is not None],
        ioc_hits=[
            AnomalyEvent.model_validate(x, strict=False)
            for x in anomalies
            if x.get("detector") == "ioc"
        ],
    )
