"""The evidence directory: ``<id>.json`` (the request and its status) and ``<id>.pcap``.

Bounded: at most ``max_bytes`` of pcaps (the oldest are deleted first; their record stays,
``failed`` with the reason) and ``max_records`` records (the oldest go). Every write is
atomic (temporary file + rename), so a reader never sees half a file.
"""

from __future__ import annotations

import os
import time
import uuid
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from hub.errors import HubError

Status = Literal["pending", "ready", "expired", "failed"]
MAX_BYTES = 1024 * 1024 * 1024
MAX_RECORDS = 2000


class EvidenceError(HubError):
    """Packet evidence cannot be asked for or kept (not configured, bad request, disk)."""


class EvidenceRecord(BaseModel):
    model_config = ConfigDict(extra="forbid")

    evidence_id: uuid.UUID
    node_id: str
    status: Status = "pending"
    hosts: list[str]
    t0: float
    t1: float
    max_bytes: int
    incident_key: str | None = None
    created_at: float = Field(default_factory=time.time)
    updated_at: float = Field(default_factory=time.time)
    deadline: float = 0.0
    """Wall-clock time by which the answer must be complete (a reader fails it after)."""
    frames: int = 0
    size: int = 0
    sha256: str | None = None
    oldest_ts: float | None = None
    newest_ts: float | None = None
    partial: bool = False
    truncated: bool = False
    reason: Annotated[str, Field(max_length=300)] = ""


class EvidenceStore:
    def __init__(
        self, root: Path, max_bytes: int = MAX_BYTES, max_records: int = MAX_RECORDS
    ) -> None:
        self.root, self.max_bytes, self.max_records = root, max_bytes, max_records
        try:
            root.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise EvidenceError(f"evidence directory {root}: {exc}") from exc

    def _path(self, evidence_id: uuid.UUID, ext: str) -> Path:
        return self.root / f"{uuid.UUID(str(evidence_id))}.{ext}"

    def pcap_path(self, evidence_id: uuid.UUID) -> Path:
        return self._path(evidence_id, "pcap")

    def put(self, rec: EvidenceRecord) -> EvidenceRecord:
        rec = rec.model_copy(update={"updated_at": time.time()})
        _atomic(self._path(rec.evidence_id, "json"), rec.model_dump_json().encode())
        return rec

    def get(self, evidence_id: uuid.UUID) -> EvidenceRecord | None:
        try:
            rec = EvidenceRecord.model_validate_json(self._path(evidence_id, "json").read_bytes())
        except (OSError, ValidationError):
            return None
        if rec.status == "pending" and time.time() > rec.deadline:
            rec = rec.model_copy(update={"status": "failed", "reason": "timeout: no answer"})
        return rec

    def list(self, limit: int = 50) -> list[EvidenceRecord]:
        files = sorted(self.root.glob("*.json"), key=_mtime, reverse=True)[:limit]
        out = [self.get(uuid.UUID(f.stem)) for f in files if _is_uuid(f.stem)]
        return [r for r in out if r is not None]

    def save_pcap(self, rec: EvidenceRecord, pcap: bytes) -> EvidenceRecord:
        """Write the pcap, then the record; delete the oldest pcaps beyond ``max_bytes``."""
        _atomic(self.pcap_path(rec.evidence_id), pcap)
        saved = self.put(rec)
        self.prune(keep=rec.evidence_id)
        return saved

    def prune(self, keep: uuid.UUID | None = None) -> int:
        """Delete the oldest pcaps (and records) beyond the bounds; how many files went."""
        gone = 0
        pcaps = sorted(self.root.glob("*.pcap"), key=_mtime)
        total = sum(_size(p) for p in pcaps)
        for p in pcaps:
            if total <= self.max_bytes:
                break
            if keep is not None and p.stem == str(keep):
                continue
            total -= _size(p)
            p.unlink(missing_ok=True)
            gone += 1
            rec = self.get(uuid.UUID(p.stem)) if _is_uuid(p.stem) else None
            if rec is not None:
                why = f"deleted to keep the evidence directory within {self.max_bytes} bytes"
                self.put(rec.model_copy(update={"status": "failed", "reason": why}))
        records = sorted(self.root.glob("*.json"), key=_mtime)
        for r in records[: max(0, len(records) - self.max_records)]:
            r.unlink(missing_ok=True)
            self.root.joinpath(f"{r.stem}.pcap").unlink(missing_ok=True)
            gone += 1
        return gone


def _atomic(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        tmp.write_bytes(data)
        os.replace(tmp, path)
    except OSError as exc:
        raise EvidenceError(f"cannot write {path}: {exc}") from exc


def _mtime(p: Path) -> float:
    try:
        return p.stat().st_mtime
    except OSError:
        return 0.0


def _size(p: Path) -> int:
    try:
        return p.stat().st_size
    except OSError:
        return 0


def _is_uuid(text: str) -> bool:
    try:
        uuid.UUID(text)
    except ValueError:
        return False
    return True
