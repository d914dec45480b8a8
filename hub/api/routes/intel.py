"""Threat intel: what the hub's indicator bundle holds and when it last reached the fleet.

Reads the status file ``hub.intel`` writes beside the bundle (``<bundle>.status.json``, named
by ``FEDNIDS_HUB_INTEL_STATUS``). No file, no setting or a bad file gives an empty status with
the reason, never a server error; IOC hits are the ``detector=ioc`` anomalies (``/api/anomalies``)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from pydantic import ValidationError

from hub.api.deps import Reader
from hub.api.models.base import ERRORS
from hub.api.models.intel import IntelCount, IntelPublication, IntelSource, IntelStatus

router = APIRouter(tags=["intel"], responses=ERRORS)
MAX_STATUS_BYTES = 4 * 1024 * 1024
EMPTY: dict[str, Any] = {
    "version": None, "created_at": None, "expires_at": None, "count": 0,
    "by_type": [], "sources": [], "dropped": [], "published": None,
}  # fmt: skip


def _counts(raw: object) -> list[IntelCount]:
    if not isinstance(raw, dict):
        return []
    return sorted(
        (IntelCount(key=str(k), count=v) for k, v in raw.items() if isinstance(v, int)),
        key=lambda c: (-c.count, c.key),
    )


def _num(raw: object) -> float | None:
    return float(raw) if isinstance(raw, int | float) and not isinstance(raw, bool) else None


def parse_status(raw: dict[str, Any]) -> dict[str, Any]:
    """The API's view of a status file's dict; raises ValueError/ValidationError on bad parts."""
    per_source = {c.key: c.count for c in _counts(raw.get("by_source"))}
    sources = []
    for name, entry in sorted((raw.get("sources") or {}).items()):
        s = entry if isinstance(entry, dict) else {}
        sources.append(
            IntelSource(
                name=str(name),
                imported_at=s.get("imported_at") if isinstance(s.get("imported_at"), str) else None,
                formats=[str(f) for f in s.get("formats") or []],
                parsed=int(s.get("parsed") or 0),
                indicators=per_source.get(str(name), 0),
            )
        )
    pub = raw.get("published")
    version = raw.get("version")
    return {
        "version": version if isinstance(version, int) else None,
        "created_at": _num(raw.get("created_at")),
        "expires_at": _num(raw.get("expires_at")),
        "count": int(raw.get("count") or 0),
        "by_type": _counts(raw.get("by_type")),
        "sources": sources,
        "dropped": _counts(raw.get("dropped")),
        "published": IntelPublication.model_validate(pub, strict=False)
        if isinstance(pub, dict)
        else None,
    }


def read_intel_status(path: str | None) -> IntelStatus:
    if not path:
        return IntelStatus(configured=False, error=None, **EMPTY)
    p = Path(path)
    try:
        if p.stat().st_size > MAX_STATUS_BYTES:
            raise ValueError(f"larger than {MAX_STATUS_BYTES} bytes")
        raw = json.loads(p.read_text())
        if not isinstance(raw, dict):
            raise ValueError("not a JSON object")
        return IntelStatus(configured=True, error=None, **parse_status(raw))
    except FileNotFoundError:
        return IntelStatus(configured=True, error="no threat intel imported yet", **EMPTY)
    except (OSError, ValueError, TypeError, AttributeError, ValidationError) as exc:
        msg = f"unreadable intel status: {type(exc).__name__}"
        return IntelStatus(configured=True, error=msg, **EMPTY)


@router.get("/intel", response_model=IntelStatus)
def intel_status(request: Request, _r: Reader) -> IntelStatus:
    return read_intel_status(request.app.state.settings.intel_status)
