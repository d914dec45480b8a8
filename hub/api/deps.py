"""Shared dependencies: the store, the queries, and token auth with two roles.

Every string a request brings is bounded and free of NUL and control characters before it
reaches a query: PostgreSQL refuses NUL in text (SQLite does not), and a database error on bad
input would answer 5xx where the client is at fault (4xx)."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Annotated, Literal

from fastapi import Depends, Header, HTTPException, Query, Request, status

from contracts.events import Severity
from contracts.topics import NODE_ID_PATTERN
from hub.storage import EventFilter, EventStore, Queries
from hub.storage.tokens import check_token

TOKEN_RE = re.compile(r"^[A-Za-z0-9_-]{1,200}$")
"""What a token can look like (``fnd_`` + URL-safe base64): anything else is invalid unread."""
NO_CONTROL = r"^[^\x00-\x1f\x7f]*$"
CURSOR_PATTERN = r"^[A-Za-z0-9_=-]*$"
"""A cursor is URL-safe base64 (hub/storage/queries.py encode_cursor)."""


def get_store(request: Request) -> EventStore:
    return request.app.state.store  # type: ignore[no-any-return]


def get_queries(request: Request) -> Queries:
    return request.app.state.queries  # type: ignore[no-any-return]


def token_role(store: EventStore, token: str) -> str | None:
    """The token's role, or None; a token of the wrong shape is not looked up."""
    return check_token(store, token) if TOKEN_RE.match(token) else None


def role_of(store: EventStore, authorization: str | None) -> str:
    if not authorization or not authorization.lower().startswith("bearer "):
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "missing bearer token",
            headers={"WWW-Authenticate": "Bearer"},
        )
    role = token_role(store, authorization[7:].strip())
    if role is None:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED, "invalid token", headers={"WWW-Authenticate": "Bearer"}
        )
    return role


def reader(
    store: Annotated[EventStore, Depends(get_store)],
    authorization: Annotated[str | None, Header()] = None,
) -> str:
    return role_of(store, authorization)


def operator(role: Annotated[str, Depends(reader)]) -> str:
    if role != "operator":
        raise HTTPException(status.HTTP_403_FORBIDDEN, "this needs an operator token")
    return role


def epoch_s(value: datetime | None, name: str) -> float | None:
    """Seconds since the epoch; a time without a zone is UTC; 422 when out of range."""
    if value is None:
        return None
    try:
        return (value if value.tzinfo else value.replace(tzinfo=UTC)).timestamp()
    except (OverflowError, ValueError, OSError) as exc:
        raise HTTPException(422, f"{name}: time out of range") from exc


NodeIdQuery = Annotated[str | None, Query(max_length=64, pattern=NODE_ID_PATTERN)]


def event_filter(
    node_id: NodeIdQuery = None,
    since: Annotated[datetime | None, Query()] = None,
    until: Annotated[datetime | None, Query()] = None,
    severity: Annotated[Severity | None, Query()] = None,
) -> EventFilter:
    return EventFilter(
        node_id=node_id,
        since=epoch_s(since, "since"),
        until=epoch_s(until, "until"),
        severity=severity,
    )


Predictor = Literal["gnn", "heuristic"]
"""``AttackPrediction.predictor``'s values (tests/unit/hub/test_api_routes.py pins them)."""
FLRole = Literal["server", "client"]
"""``FLEvent.role``'s values (pinned by the same test)."""
AlertStatus = Literal["open", "acknowledged", "resolved"]
"""``AlertEvent.status``'s values (pinned by the same test)."""

Limit = Annotated[int, Query(ge=1, le=500)]
Cursor = Annotated[str | None, Query(max_length=500, pattern=CURSOR_PATTERN)]
Reader = Annotated[str, Depends(reader)]
Operator = Annotated[str, Depends(operator)]
Q = Annotated[Queries, Depends(get_queries)]
Filter = Annotated[EventFilter, Depends(event_filter)]
