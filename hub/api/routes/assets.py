"""The passive device inventory: every sensor's assets, most recently seen first."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query

from hub.api.deps import NO_CONTROL, Cursor, Limit, NodeIdQuery, Reader, get_store
from hub.api.models.assets import AssetPage
from hub.api.models.base import ERRORS, Problem
from hub.storage import BadCursor, EventStore
from hub.storage.queries import decode_cursor, encode_cursor

router = APIRouter(tags=["assets"], responses=ERRORS)
PAGE_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": Problem, "description": "A cursor this API did not make"}
}


@router.get("/assets", response_model=AssetPage, responses=PAGE_ERRORS)
def list_assets(
    store: Annotated[EventStore, Depends(get_store)],
    _r: Reader,
    node_id: NodeIdQuery = None,
    vendor: Annotated[
        str | None,
        Query(min_length=1, max_length=100, pattern=NO_CONTROL, description="Substring, any case"),
    ] = None,
    q: Annotated[
        str | None,
        Query(
            min_length=1,
            max_length=100,
            pattern=NO_CONTROL,
            description="Substring of the MAC, an IP, a name or the vendor, any case",
        ),
    ] = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> AssetPage:
    try:
        after = decode_cursor(cursor) if cursor else None
    except BadCursor as exc:
        raise HTTPException(400, str(exc)) from exc
    items, nxt = store.list_assets(node_id, vendor, q, limit, after)
    return AssetPage.model_validate(
        {"items": items, "next_cursor": encode_cursor(*nxt) if nxt else None}, strict=False
    )
