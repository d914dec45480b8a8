"""``fednids analyze --suppressions FILE``: the operators' suppressions applied to a capture's
incidents as the hub applies them.

The file holds suppressions in the store's and the API's shape (``match``, ``reason``,
``expires_at``, ``source_incident``; what ``GET /api/suppressions`` answers loads as is, its
other fields ignored but checked): a JSON list, or an object with ``suppressions`` or ``items``
(JSON or TOML, by the file's suffix). The ones in force (not deleted, not expired by the wall
clock, as on the hub) go into the run's store before the chain starts and the chain's alerting
service marks the incidents they match (``suppressed_by``), the store counts their hits. A
marked incident is kept in ``incidents.jsonl`` (marked) and counted; it is left out of the
table, the report and ``eve.json``, as Suricata's ``suppress`` leaves an alert out of EVE.
"""

from __future__ import annotations

import json
import time
import tomllib
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, StringConstraints, ValidationError

from contracts.events import AlertEvent
from hub.services.suppressions import SuppressionMatch

NO_CONTROL = r"^[^\x00-\x1f\x7f]*$"
MAX_FILE_BYTES = 4 * 1024 * 1024
MAX_ITEMS = 10_000
NO_EXPIRY_DAYS = 3650
"""A suppression the file gives no expiry lasts the run (stored with this many days)."""
AUTHOR = "fednids analyze"


class SuppressionFileError(ValueError):
    """The file cannot be read or holds something that is not a suppression (says where)."""


class FileSuppression(BaseModel):
    """One suppression of the file: the API's ``SuppressionCreate`` (expiry optional), plus the
    fields a saved ``GET /api/suppressions`` answer carries."""

    model_config = ConfigDict(extra="forbid")

    match: SuppressionMatch
    reason: Annotated[str, StringConstraints(min_length=1, max_length=500, pattern=NO_CONTROL)]
    expires_at: AwareDatetime | None = None
    source_incident: Annotated[str, StringConstraints(max_length=200)] | None = None
    id: str | None = None
    author: str | None = None
    created_at: str | None = None
    deleted_at: str | None = None
    hits: int | None = None
    last_hit: str | None = None
    state: Literal["active", "expired", "deleted"] | None = None

    def status(self, now: float) -> str:
        if self.deleted_at is not None or self.state == "deleted":
            return "deleted"
        if self.expires_at is not None and self.expires_at.timestamp() <= now:
            return "expired"
        return "active"


def _parse(path: Path) -> Any:
    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            raise SuppressionFileError(f"{path}: larger than {MAX_FILE_BYTES} bytes")
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise SuppressionFileError(f"cannot read {path}: {exc.strerror or exc}") from exc
    except UnicodeDecodeError as exc:
        raise SuppressionFileError(f"{path}: not UTF-8 text") from exc
    try:
        return tomllib.loads(text) if path.suffix.lower() == ".toml" else json.loads(text)
    except (tomllib.TOMLDecodeError, json.JSONDecodeError) as exc:
        kind = "TOML" if path.suffix.lower() == ".toml" else "JSON"
        raise SuppressionFileError(f"{path}: not valid {kind}: {exc}") from exc


def load_suppressions(path: Path) -> list[FileSuppression]:
    doc = _parse(path)
    if isinstance(doc, dict):
        keys = [k for k in ("suppressions", "items") if k in doc]
        if len(keys) != 1:
            raise SuppressionFileError(
                f"{path}: needs a list, or one 'suppressions' or 'items' key"
            )
        doc = doc[keys[0]]
    if not isinstance(doc, list):
        raise SuppressionFileError(f"{path}: the suppressions must be a list")
    if len(doc) > MAX_ITEMS:
        raise SuppressionFileError(f"{path}: more than {MAX_ITEMS} suppressions")
    out = []
    for i, raw in enumerate(doc):
        try:
            out.append(FileSuppression.model_validate(raw))
        except ValidationError as exc:
            why = "; ".join(
                f"{'.'.join(str(p) for p in e['loc']) or 'item'}: {e['msg']}" for e in exc.errors()
            )
            raise SuppressionFileError(f"{path}: suppression [{i}]: {why}") from exc
    return out


def install(store: Any, items: Sequence[FileSuppression], source: Path) -> dict[str, Any]:
    """Store the ones in force (audited as created by ``fednids analyze``); what was skipped."""
    now = time.time()
    plan: dict[str, Any] = {"file": str(source), "in_file": len(items), "applied": 0}
    plan |= {"skipped_expired": 0, "skipped_deleted": 0}
    for item in items:
        status = item.status(now)
        if status != "active":
            plan[f"skipped_{status}"] += 1
            continue
        expires = item.expires_at.timestamp() if item.expires_at else now + NO_EXPIRY_DAYS * 86400
        store.create_suppression(
            item.match, item.reason, f"{AUTHOR} ({source.name})"[:100], expires,
            source_incident=item.source_incident, now=now,
        )  # fmt: skip
        plan["applied"] += 1
    return plan


def report(store: Any, plan: dict[str, Any], suppressed: Sequence[AlertEvent]) -> dict[str, Any]:
    """summary.json's ``suppressions``: the plan, the incidents each one marked and its hits."""
    marked: dict[str, list[AlertEvent]] = {}
    for a in suppressed:
        marked.setdefault(str(a.suppressed_by), []).append(a)
    rows = store.list_suppressions("all")
    by = [
        {
            "id": r["id"],
            "reason": r["reason"],
            "match": r["match"],
            "expires_at": r["expires_at"],
            "incidents": len(marked.get(r["id"], [])),
            "hits": r["hits"],
        }
        for r in sorted(rows, key=lambda r: r["created_at"] or "")
    ]
    return plan | {
        "incidents_suppressed": len(suppressed),
        "detections_suppressed": sum(a.count for a in suppressed),
        "by_suppression": by,
    }
