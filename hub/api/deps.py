"""Shared dependencies: the store, the queries, and token auth with two roles."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import Depends, Header, HTTPException, Query, Request, status

from hub.storage import EventFilter, EventStore, Queries
from hub.storage.tokens import check_token


def get_store(request: Request) -> EventStore:
    return request.app.state.store  # type: ignore[no-any-return]


def get_queries(request: Request) -> Queries:
    return request.app.state.queries  # type: ignore[no-any-return]


def role_of(store: EventStore, authorization: str | None) -> str:
    if not authorization or not authorization.lower().startswith("bearer "):
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "missing bearer token",
            headers={"WWW-Authenticate": "Bearer"},
        )
    role = check_token(store, authorization[7:].strip())
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


def event_filter(
    node_id: Annotated[str | None, Query(max_length=64)] = None,
    since: Annotated[datetime | None, Query()] = None,
    until: Annotated[datetime | None, Query()] = None,
    severity: Annotated[str | None, Query(pattern="^(info|low|medium|high|critical)$")] = None,
) -> EventFilter:
    return EventFilter(
        node_id=node_id,
        since=since.timestamp() if since else None,
        until=until.timestamp() if until else None,
        severity=severity,
    )


Limit = Annotated[int, Query(ge=1, le=500)]
Cursor = Annotated[str | None, Query(max_length=500)]
Reader = Annotated[str, Depends(reader)]
Operator = Annotated[str, Depends(operator)]
Q = Annotated[Queries, Depends(get_queries)]
Filter = Annotated[EventFilter, Depends(event_filter)]
