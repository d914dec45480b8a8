"""Reassembly of a node's answer: the hub trusts nothing a node sends.

Only replies to a request this hub issued, to that very node (the topic's node, which the
broker's ACL ties to the certificate), are looked at; everything else is counted and dropped.
An answer may announce at most the request's ``max_bytes`` (and the contract's caps); chunks
must agree with the answer (count, sha256), be full-sized except the last, and the joined
bytes must have the announced length and sha256 and be a pcap. A request with no complete
answer by its deadline fails (``timeout``).
"""

from __future__ import annotations

import hashlib
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

from contracts.errors import ContractError
from contracts.evidence import CHUNK_BYTES, EvidenceAnswer, EvidenceChunk, EvidenceRequest

PCAP_MAGICS = (b"\xd4\xc3\xb2\xa1", b"\xa1\xb2\xc3\xd4", b"\x4d\x3c\xb2\xa1", b"\xa1\xb2\x3c\x4d")
TIMEOUT_S = 60.0
MAX_PENDING = 16
"""Requests in flight at once (their chunks are held in RAM: at most 16 x 8 MiB)."""

Outcome = Literal["ready", "expired", "failed"]


@dataclass(frozen=True, slots=True)
class Result:
    request_id: uuid.UUID
    node_id: str
    status: Outcome
    reason: str = ""
    answer: EvidenceAnswer | None = None
    pcap: bytes = b""


@dataclass(slots=True)
class _Pending:
    request: EvidenceRequest
    deadline: float
    answer: EvidenceAnswer | None = None
    chunks: dict[int, bytes] = field(default_factory=dict)
    total: int | None = None
    sha256: str | None = None


class Reassembler:
    def __init__(
        self,
        timeout_s: float = TIMEOUT_S,
        max_pending: int = MAX_PENDING,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.timeout_s, self.max_pending, self.clock = timeout_s, max_pending, clock
        self._pending: dict[uuid.UUID, _Pending] = {}
        self.dropped: Counter[str] = Counter()

    def __len__(self) -> int:
        return len(self._pending)

    def expect(self, request: EvidenceRequest) -> None:
        if len(self._pending) >= self.max_pending:
            raise ContractError(f"{self.max_pending} evidence requests already in flight")
        self._pending[request.request_id] = _Pending(request, self.clock() + self.timeout_s)

    def forget(self, request_id: uuid.UUID, reason: str) -> Result | None:
        """Give up on a request (its publish failed); its result, or None when unknown."""
        p = self._pending.pop(request_id, None)
        return None if p is None else Result(request_id, p.request.node_id, "failed", reason)

    def accept(self, node_id: str, msg: EvidenceAnswer | EvidenceChunk) -> Result | None:
        """One reply that arrived on ``node_id``'s reply topic; a result once it is complete
        (or broken for good), else None."""
        p = self._pending.get(msg.request_id)
        if p is None or p.request.node_id != node_id or msg.node_id != node_id:
            self.dropped["unknown_request"] += 1  # not ours, not that node's, or already done
            return None
        error = self._answer(p, msg) if isinstance(msg, EvidenceAnswer) else self._chunk(p, msg)
        if error:
            return self._finish(p, "failed", error)
        return self._complete(p)

    def _answer(self, p: _Pending, a: EvidenceAnswer) -> str:
        if p.answer is not None:
            return "" if p.answer == a else "two different answers"
        if a.size > p.request.max_bytes:
            return f"answer of {a.size} bytes > the {p.request.max_bytes} asked for"
        if a.chunks != -(-a.size // CHUNK_BYTES) or (a.size > 0) != (a.sha256 is not None):
            return "answer's size, chunk count and sha256 disagree"
        if (p.total is not None and p.total != a.chunks) or (p.sha256 not in (None, a.sha256)):
            return "answer disagrees with its chunks"
        p.answer, p.total, p.sha256 = a, a.chunks, a.sha256
        return ""

    def _chunk(self, p: _Pending, c: EvidenceChunk) -> str:
        if p.total is None:
            p.total, p.sha256 = c.total, c.sha256
        if c.total != p.total or c.sha256 != p.sha256 or c.seq >= c.total:
            return f"chunk {c.seq} disagrees with the others (total, sha256)"
        try:
            data = c.raw()
        except ContractError as exc:
            return str(exc)
        if c.seq < c.total - 1 and len(data) != CHUNK_BYTES:
            return f"chunk {c.seq} is not full ({len(data)} bytes)"
        if c.seq in p.chunks:
            return "" if p.chunks[c.seq] == data else f"chunk {c.seq} sent twice, differently"
        if sum(map(len, p.chunks.values())) + len(data) > p.request.max_bytes:
            return f"more than the {p.request.max_bytes} bytes asked for"
        p.chunks[c.seq] = data
        return ""

    def _complete(self, p: _Pending) -> Result | None:
        a = p.answer
        if a is None:
            return None
        if a.status == "expired":
            return self._finish(p, "expired", a.reason or "the window has left the buffer")
        if a.status == "refused":
            return self._finish(p, "failed", f"node refused: {a.reason}"[:200])
        if a.size == 0:
            return self._finish(p, "ready", a.reason)
        if len(p.chunks) < a.chunks:
            return None
        pcap = b"".join(p.chunks[i] for i in range(a.chunks))
        if len(pcap) != a.size or hashlib.sha256(pcap).hexdigest() != a.sha256:
            return self._finish(p, "failed", "the joined chunks do not match the sha256 announced")
        if pcap[:4] not in PCAP_MAGICS:
            return self._finish(p, "failed", "the answer is not a pcap")
        return self._finish(p, "ready", a.reason, pcap)

    def _finish(self, p: _Pending, status: Outcome, reason: str, pcap: bytes = b"") -> Result:
        del self._pending[p.request.request_id]
        return Result(p.request.request_id, p.request.node_id, status, reason, p.answer, pcap)

    def expire(self) -> list[Result]:
        """Requests past their deadline, failed with ``timeout``."""
        now = self.clock()
        late = [p for p in self._pending.values() if now > p.deadline]
        return [
            self._finish(p, "failed", f"timeout: no complete answer in {self.timeout_s:.0f} s")
            for p in late
        ]
