"""The hub's evidence service: publish a request to one node's command topic (service identity
on the service listener), reassemble the node's answer (:class:`Reassembler`) and keep the pcap
in the evidence directory (:class:`EvidenceStore`).

The API embeds it (``app.state.evidence``): requests come one at a time from operators, the
answer is in the directory for every API worker to serve, and the hub needs no other process.
"""

from __future__ import annotations

import logging
import struct
import threading
import time
import uuid
from collections.abc import Sequence
from dataclasses import replace

from contracts.errors import ContractError
from contracts.evidence import MAX_EVIDENCE_BYTES, EvidenceRequest, decode_reply, encode_wire
from contracts.topics import (
    MQTT_EVIDENCE_REPLIES,
    mqtt_evidence_request_topic,
    parse_evidence_reply_topic,
)
from contracts.transports import TransportOptions, open_publisher, open_subscriber
from contracts.transports.base import Publisher, Subscriber
from hub.evidence.reassembly import TIMEOUT_S, Reassembler, Result
from hub.evidence.store import EvidenceError, EvidenceRecord, EvidenceStore

log = logging.getLogger(__name__)
GRACE_S = 5.0
EMPTY_PCAP = struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 262_144, 1)


class EvidenceService:
    def __init__(
        self,
        mqtt_url: str,
        store: EvidenceStore,
        options: TransportOptions | None = None,
        timeout_s: float = TIMEOUT_S,
    ) -> None:
        self.mqtt_url, self.store, self.timeout_s = mqtt_url, store, timeout_s
        self.window_pad_s = 60.0
        """Seconds around an incident's span when the API asks for its packets."""
        self.options = options or TransportOptions()
        self.reassembler = Reassembler(timeout_s)
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._pub: Publisher | None = None
        self._sub: Subscriber | None = None

    def start(self) -> None:
        """Connect (idempotent): a plain subscription to every node's reply topic."""
        with self._lock:
            if self._thread is not None:
                return
            name = f"hub-evidence-{uuid.uuid4().hex[:8]}"
            o = self.options
            opts = TransportOptions(
                client_id=name,
                ca_file=o.ca_file,
                cert_file=o.cert_file,
                key_file=o.key_file,
                username=o.username,
                password=o.password,
                clean_start=True,
            )
            in_process = self.mqtt_url.startswith("memory://")
            self._sub = open_subscriber(
                self.mqtt_url,
                [MQTT_EVIDENCE_REPLIES],
                group=name if in_process else "",
                options=opts,
            )
            self._pub = open_publisher(self.mqtt_url, replace(opts, client_id=f"{name}-pub"))
            self._thread = threading.Thread(target=self._run, name="evidence", daemon=True)
            self._thread.start()

    def wait_ready(self, timeout: float = 10.0) -> None:
        """Wait for the reply subscription (MQTT; a no-op in memory)."""
        self.start()
        wait = getattr(self._sub, "wait_subscribed", None)
        if wait is not None:
            wait(timeout)

    def request(
        self,
        node_id: str,
        hosts: Sequence[str],
        t0: float,
        t1: float,
        max_bytes: int = MAX_EVIDENCE_BYTES,
        incident_key: str | None = None,
    ) -> EvidenceRecord:
        """Ask ``node_id``; the pending record (its status follows in the store)."""
        self.start()
        now = time.time()
        try:
            req = EvidenceRequest(
                request_id=uuid.uuid4(),
                node_id=node_id,
                hosts=list(hosts),
                t0=t0,
                t1=t1,
                max_bytes=max_bytes,
                expires_at=now + self.timeout_s,
            )
        except ValueError as exc:  # pydantic's ValidationError is one
            raise EvidenceError(f"bad evidence request: {exc}") from exc
        rec = EvidenceRecord(
            evidence_id=req.request_id,
            node_id=node_id,
            hosts=req.hosts,
            t0=t0,
            t1=t1,
            max_bytes=max_bytes,
            incident_key=incident_key,
            deadline=now + self.timeout_s + GRACE_S,
        )
        with self._lock:
            try:
                self.reassembler.expect(req)
            except ContractError as exc:
                raise EvidenceError(str(exc)) from exc
        rec = self.store.put(rec)
        assert self._pub is not None
        try:
            self._pub.publish(
                mqtt_evidence_request_topic(node_id),
                encode_wire(req),
                on_delivery=lambda err: self._published(req.request_id, err),
            )
        except ContractError as exc:
            self._published(req.request_id, exc)
        return rec

    def _published(self, request_id: uuid.UUID, err: Exception | None) -> None:
        if err is None:
            return
        with self._lock:
            result = self.reassembler.forget(request_id, f"the node did not get it: {err}"[:200])
        if result is not None:
            self._save(result)

    def get(self, evidence_id: uuid.UUID) -> EvidenceRecord | None:
        return self.store.get(evidence_id)

    def _run(self) -> None:
        sub = self._sub
        assert sub is not None
        while not self._stop.is_set():
            try:
                batch = sub.poll(0.5, max_messages=50)
            except ContractError as exc:
                log.warning("evidence: subscription error: %s", exc)
                self._stop.wait(1.0)
                continue
            results: list[Result] = []
            with self._lock:
                for msg in batch:
                    try:
                        node = parse_evidence_reply_topic(msg.topic)
                        reply = decode_reply(msg.value)
                    except (ValueError, ContractError) as exc:
                        self.reassembler.dropped["invalid"] += 1
                        log.warning("evidence: dropped a reply on %s: %s", msg.topic, exc)
                        continue
                    got = self.reassembler.accept(node, reply)
                    if got is not None:
                        results.append(got)
                results += self.reassembler.expire()
            if batch:
                sub.ack(batch)
            for r in results:
                self._save(r)

    def _save(self, r: Result) -> None:
        rec = self.store.get(r.request_id)
        if rec is None:
            return
        a = r.answer
        update: dict[str, object] = {"status": r.status, "reason": r.reason[:300]}
        if a is not None:
            update.update(
                frames=a.frames,
                size=len(r.pcap) or (len(EMPTY_PCAP) if r.status == "ready" else 0),
                sha256=a.sha256,
                oldest_ts=a.oldest_ts,
                newest_ts=a.newest_ts,
                partial=a.status == "partial",
                truncated=a.truncated,
            )
        rec = rec.model_copy(update=update)
        try:
            if r.status == "ready":
                self.store.save_pcap(rec, r.pcap or EMPTY_PCAP)
            else:
                self.store.put(rec)
        except EvidenceError as exc:
            log.error("evidence: %s not kept: %s", r.request_id, exc)
        log.info("evidence: %s from %s: %s %s", r.request_id, r.node_id, r.status, r.reason)

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)
        for c in (self._sub, self._pub):
            if c is not None:
                c.close()
