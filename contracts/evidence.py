"""Packet evidence on the wire: the hub asks one node for the raw frames of a few hosts in a
time window; the node answers with one :class:`EvidenceAnswer` and, when it has frames, the
pcap cut into :class:`EvidenceChunk` messages.

Topics (:mod:`contracts.topics`): requests on ``fednids/v1/{node}/cmd/evidence`` (the hub
writes, only that node reads), answers and chunks on ``fednids/v1/{node}/evidence/reply``
(only that node writes, the hub reads). Everything is bounded here, on both sides: hosts per
request, window length, bytes per request, chunk size and count.
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import uuid
from typing import Annotated, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationError,
    field_validator,
    model_validator,
)

from contracts.errors import PayloadTooLarge, ValidationFailed
from contracts.events import MAX_EPOCH, NodeId

MAX_HOSTS = 16
"""Hosts one request may name."""
MAX_WINDOW_S = 24 * 3600.0
"""The longest time window one request may ask for."""
CHUNK_BYTES = 64 * 1024
"""Raw pcap bytes per chunk (about 87 KiB once base64-encoded in JSON)."""
MAX_EVIDENCE_BYTES = 8 * 1024 * 1024
"""The most pcap bytes one answer may carry, whatever the request asks."""
MAX_CHUNKS = -(-MAX_EVIDENCE_BYTES // CHUNK_BYTES)
MAX_REPLY_BYTES = CHUNK_BYTES * 4 // 3 + 1024
"""The largest reply message either side accepts (a full chunk and its envelope)."""
MAX_REQUEST_BYTES = 4096

Epoch = Annotated[float, Field(ge=0, le=MAX_EPOCH, allow_inf_nan=False)]
Sha256Hex = Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")]
AnswerStatus = Literal["ok", "partial", "expired", "refused"]
"""``ok``: every frame of the window still held; ``partial``: the window starts before the
oldest frame still held (frames were evicted), what is left is sent; ``expired``: the whole
window has left the buffer; ``refused``: the node will not answer (off, rate, bad request)."""


class _Wire(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    schema_version: Literal[1] = 1


class EvidenceRequest(_Wire):
    kind: Literal["evidence_request"] = "evidence_request"
    request_id: uuid.UUID
    node_id: NodeId
    hosts: Annotated[list[str], Field(min_length=1, max_length=MAX_HOSTS)]
    t0: Epoch
    t1: Epoch
    max_bytes: Annotated[int, Field(ge=1024, le=MAX_EVIDENCE_BYTES)] = MAX_EVIDENCE_BYTES
    expires_at: Epoch
    """Wall-clock time after which the node ignores the request (it may sit in a queue)."""

    @field_validator("hosts")
    @classmethod
    def _addresses(cls, hosts: list[str]) -> list[str]:
        try:
            return sorted({str(ipaddress.ip_address(h)) for h in hosts})
        except ValueError as exc:
            raise ValueError(f"hosts must be IP addresses: {exc}") from exc

    @model_validator(mode="after")
    def _window(self) -> EvidenceRequest:
        if self.t1 < self.t0:
            raise ValueError("t1 is before t0")
        if self.t1 - self.t0 > MAX_WINDOW_S:
            raise ValueError(f"window longer than {MAX_WINDOW_S:.0f} s")
        return self


class EvidenceAnswer(_Wire):
    kind: Literal["evidence_answer"] = "evidence_answer"
    request_id: uuid.UUID
    node_id: NodeId
    status: AnswerStatus
    frames: Annotated[int, Field(ge=0)] = 0
    size: Annotated[int, Field(ge=0, le=MAX_EVIDENCE_BYTES)] = 0
    """Bytes of the whole pcap (0: no chunks follow)."""
    chunks: Annotated[int, Field(ge=0, le=MAX_CHUNKS)] = 0
    sha256: Sha256Hex | None = None
    oldest_ts: Epoch | None = None
    """The oldest frame the node still holds (the edge of what can be fetched)."""
    newest_ts: Epoch | None = None
    truncated: bool = False
    """The window held more than ``max_bytes``: the pcap holds its first frames only."""
    reason: Annotated[str, Field(max_length=200)] = ""


class EvidenceChunk(_Wire):
    kind: Literal["evidence_chunk"] = "evidence_chunk"
    request_id: uuid.UUID
    node_id: NodeId
    seq: Annotated[int, Field(ge=0, lt=MAX_CHUNKS)]
    total: Annotated[int, Field(ge=1, le=MAX_CHUNKS)]
    sha256: Sha256Hex
    """Of the whole pcap (every chunk carries it; the hub checks the joined bytes)."""
    data: Annotated[str, Field(min_length=4, max_length=CHUNK_BYTES * 4 // 3 + 4)]
    """Base64 of at most :data:`CHUNK_BYTES` pcap bytes."""

    def raw(self) -> bytes:
        try:
            out = base64.b64decode(self.data, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise ValidationFailed(f"evidence chunk {self.seq}: bad base64: {exc}") from exc
        if len(out) > CHUNK_BYTES:
            raise ValidationFailed(f"evidence chunk {self.seq}: {len(out)} bytes > {CHUNK_BYTES}")
        return out


EvidenceReply = Annotated[EvidenceAnswer | EvidenceChunk, Field(discriminator="kind")]
_REPLY: TypeAdapter[EvidenceAnswer | EvidenceChunk] = TypeAdapter(EvidenceReply)


def make_chunks(
    request_id: uuid.UUID, node_id: str, pcap: bytes, sha256: str
) -> list[EvidenceChunk]:
    """``pcap`` cut into :data:`CHUNK_BYTES` chunks (at most :data:`MAX_CHUNKS`)."""
    if len(pcap) > MAX_EVIDENCE_BYTES:
        raise ValidationFailed(f"evidence of {len(pcap)} bytes > {MAX_EVIDENCE_BYTES}")
    parts = [pcap[i : i + CHUNK_BYTES] for i in range(0, len(pcap), CHUNK_BYTES)]
    return [
        EvidenceChunk(
            request_id=request_id,
            node_id=node_id,
            seq=i,
            total=len(parts),
            sha256=sha256,
            data=base64.b64encode(p).decode(),
        )
        for i, p in enumerate(parts)
    ]


def encode_wire(msg: EvidenceRequest | EvidenceAnswer | EvidenceChunk) -> bytes:
    return msg.model_dump_json().encode()


def _check(payload: bytes, limit: int) -> None:
    if len(payload) > limit:
        raise PayloadTooLarge(f"evidence message of {len(payload)} bytes > {limit}")


def decode_request(payload: bytes) -> EvidenceRequest:
    """A request from the hub; :class:`ValidationFailed` for anything else."""
    _check(payload, MAX_REQUEST_BYTES)
    try:
        return EvidenceRequest.model_validate_json(payload)
    except ValidationError as exc:
        raise ValidationFailed(f"not an evidence request: {exc.errors()[0]['msg']}") from exc


def decode_reply(payload: bytes) -> EvidenceAnswer | EvidenceChunk:
    """An answer or a chunk from a node; :class:`ValidationFailed` for anything else."""
    _check(payload, MAX_REPLY_BYTES)
    try:
        return _REPLY.validate_json(payload)
    except ValidationError as exc:
        raise ValidationFailed(f"not an evidence reply: {exc.errors()[0]['msg']}") from exc
