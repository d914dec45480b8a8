"""The node's answer to the hub's evidence requests (``fednids/v1/{node}/cmd/evidence``).

A valid request addressed to this node, not expired, not already answered and within the
rate limit gets one :class:`EvidenceAnswer` on ``fednids/v1/{node}/evidence/reply``, followed
by the pcap's chunks when frames matched. ``expired`` says that the whole window has left the
ring (with the oldest timestamp still held), ``partial`` that its start has. Anything that is
not a request is counted and dropped (there is no request id to answer).
"""

from __future__ import annotations

import hashlib
import ipaddress
import logging
import threading
import time
import uuid
from collections import Counter, deque
from collections.abc import Callable

from contracts.errors import ContractError
from contracts.evidence import (
    CHUNK_BYTES,
    EvidenceAnswer,
    EvidenceRequest,
    decode_request,
    encode_wire,
    make_chunks,
)
from contracts.topics import mqtt_evidence_reply_topic, mqtt_evidence_request_topic
from contracts.transports import Message, Subscriber
from contracts.transports.base import Publisher
from contracts.transports.loop import consume
from edge_agent.evidence.pcap import GLOBAL_HEADER, RECORD_HEADER, to_pcap
from edge_agent.evidence.ring import FrameRing

log = logging.getLogger(__name__)
PER_MINUTE = 6
"""Requests answered per minute (the rest get ``refused``)."""
_REMEMBER = 256


class EvidenceResponder:
    def __init__(
        self,
        node_id: str,
        ring: FrameRing | None,
        publisher: Publisher,
        per_minute: int = PER_MINUTE,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.node_id, self.ring, self.publisher = node_id, ring, publisher
        self.per_minute, self.clock = per_minute, clock
        self.topic = mqtt_evidence_reply_topic(node_id)
        self.request_topic = mqtt_evidence_request_topic(node_id)
        self.counts: Counter[str] = Counter()
        self._recent: deque[float] = deque()
        self._seen: deque[uuid.UUID] = deque(maxlen=_REMEMBER)

    def handle(self, payload: bytes) -> EvidenceAnswer | None:
        """Answer one request; the answer sent, or None when nothing was sent."""
        try:
            req = decode_request(payload)
        except ContractError as exc:
            self.counts["invalid"] += 1
            log.warning("evidence: dropped a bad request: %s", exc)
            return None
        if req.node_id != self.node_id or req.request_id in self._seen:
            self.counts["ignored"] += 1  # another node's, or a redelivered one
            return None
        self._seen.append(req.request_id)
        answer, pcap = self._answer(req)
        self.counts[answer.status] += 1
        self._send(answer, pcap)
        return answer

    def _answer(self, req: EvidenceRequest) -> tuple[EvidenceAnswer, bytes]:
        def refuse(reason: str) -> tuple[EvidenceAnswer, bytes]:
            return self._reply(req, "refused", reason=reason), b""

        now = self.clock()
        if now > req.expires_at:
            return refuse("request expired before it reached the node")
        if self.ring is None:
            return refuse("packet evidence is off on this node (evidence_mb = 0)")
        while self._recent and self._recent[0] < now - 60.0:
            self._recent.popleft()
        if len(self._recent) >= self.per_minute:
            return refuse(f"rate limited: {self.per_minute} requests per minute")
        self._recent.append(now)
        hosts = {ipaddress.ip_address(h).packed for h in req.hosts}
        sel = self.ring.select(hosts, req.t0, req.t1, req.max_bytes - GLOBAL_HEADER, RECORD_HEADER)
        held = {"oldest_ts": sel.oldest_ts, "newest_ts": sel.newest_ts}
        if sel.lost_until is not None and (sel.oldest_ts is None or req.t1 < sel.oldest_ts):
            reason = "the window has left the evidence buffer"
            return self._reply(req, "expired", reason=reason, **held), b""
        partial = sel.lost_until is not None and req.t0 <= sel.lost_until
        if not sel.frames:
            return self._reply(req, "partial" if partial else "ok", **held), b""
        pcap, n = to_pcap(sel.frames)
        answer = self._reply(
            req,
            "partial" if partial else "ok",
            frames=n,
            size=len(pcap),
            chunks=-(-len(pcap) // CHUNK_BYTES),
            sha256=hashlib.sha256(pcap).hexdigest(),
            truncated=sel.truncated,
            reason="the window starts before the oldest frame held" if partial else "",
            **held,
        )
        return answer, pcap

    def _reply(self, req: EvidenceRequest, status: str, **kw: object) -> EvidenceAnswer:
        return EvidenceAnswer.model_validate(
            {"request_id": req.request_id, "node_id": self.node_id, "status": status, **kw}
        )

    def _send(self, answer: EvidenceAnswer, pcap: bytes) -> None:
        msgs = [encode_wire(answer)]
        if pcap and answer.sha256:
            msgs += [
                encode_wire(c)
                for c in make_chunks(answer.request_id, self.node_id, pcap, answer.sha256)
            ]
        for m in msgs:
            try:
                self.publisher.publish(self.topic, m, on_delivery=self._delivered)
            except ContractError as exc:
                self.counts["send_failed"] += 1
                log.warning("evidence: answer %s not sent: %s", answer.request_id, exc)
                return
        log.info(
            "evidence: answered %s: %s, %d frames, %d bytes",
            answer.request_id,
            answer.status,
            answer.frames,
            answer.size,
        )

    def _delivered(self, err: Exception | None) -> None:
        if err is not None:
            self.counts["send_failed"] += 1

    def drops(self) -> dict[str, int]:
        drops = ("invalid", "ignored", "refused", "send_failed")
        return {f"evidence_{k}": v for k, v in self.counts.items() if k in drops}

    def run(self, subscriber: Subscriber, stop: threading.Event) -> None:
        consume(subscriber, stop, self._on_message, log, "evidence")

    def _on_message(self, msg: Message) -> None:
        if msg.topic == self.request_topic:
            self.handle(msg.value)
