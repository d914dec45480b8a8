"""The node's answers to evidence requests: a pcap in chunks of the asked hosts and window,
``expired`` / ``partial`` once frames left the ring, refusals (off, rate, late), and requests
that are not this node's or not requests at all."""

from __future__ import annotations

import base64
import hashlib
import uuid
from pathlib import Path

from contracts.evidence import (
    CHUNK_BYTES,
    EvidenceAnswer,
    EvidenceChunk,
    EvidenceRequest,
    decode_reply,
    encode_wire,
)
from edge_agent.capture.pcap import PcapSource
from edge_agent.evidence.responder import EvidenceResponder
from edge_agent.evidence.ring import FrameRing
from tests.unit.edge_agent.test_evidence_ring import HOSTS, filled

NOW = 1_800_000_000.0


class Recorder:
    def __init__(self) -> None:
        self.sent: list[tuple[str, bytes]] = []

    def publish(self, topic, value, *, key=None, on_delivery=None, retain=False):
        self.sent.append((topic, value))
        if on_delivery:
            on_delivery(None)

    def poll(self, timeout=0.0):
        return None

    def flush(self, timeout=10.0):
        return 0

    def close(self):
        return None


def request(t0: float, t1: float, hosts=("10.0.0.2",), node="pi-a", **kw) -> bytes:
    req = EvidenceRequest(
        request_id=uuid.uuid4(), node_id=node, hosts=list(hosts), t0=t0, t1=t1,
        expires_at=kw.pop("expires_at", NOW + 60), **kw,
    )  # fmt: skip
    return encode_wire(req)


def responder(ring: FrameRing | None, per_minute: int = 6) -> tuple[EvidenceResponder, Recorder]:
    pub = Recorder()
    return EvidenceResponder("pi-a", ring, pub, per_minute, clock=lambda: NOW), pub


def replies(pub: Recorder) -> tuple[EvidenceAnswer, list[EvidenceChunk]]:
    got = [decode_reply(v) for _t, v in pub.sent]
    assert all(t == "fednids/v1/pi-a/evidence/reply" for t, _ in pub.sent)
    answer, chunks = got[0], got[1:]
    assert isinstance(answer, EvidenceAnswer)
    return answer, chunks  # type: ignore[return-value]


def test_the_answer_is_a_pcap_of_exactly_the_hosts_frames(tmp_path: Path):
    # prepare
    r, pub = responder(filled(1 << 24, 20_000, size=300))
    # execute
    r.handle(request(1000.0, 21_000.0, hosts=("10.0.0.2",)))
    answer, chunks = replies(pub)
    # assert
    pcap = b"".join(base64.b64decode(c.data) for c in chunks)
    assert answer.status == "ok" and answer.frames == 4000 and answer.chunks == len(chunks) > 1
    assert hashlib.sha256(pcap).hexdigest() == answer.sha256 == chunks[0].sha256
    assert [c.seq for c in chunks] == list(range(answer.chunks))
    assert all(len(base64.b64decode(c.data)) == CHUNK_BYTES for c in chunks[:-1])
    (tmp_path / "e.pcap").write_bytes(pcap)
    pkts = list(PcapSource(tmp_path / "e.pcap"))
    assert len(pkts) == 4000 and {p.src for p in pkts} == {HOSTS[1]}  # type: ignore[union-attr]


def test_a_window_that_left_the_ring_is_expired_with_the_oldest_ts_held():
    ring = filled(64 * 1024, 5000, size=300)
    r, pub = responder(ring)
    r.handle(request(1000.0, 1010.0))
    answer, chunks = replies(pub)
    assert answer.status == "expired" and not chunks
    assert answer.oldest_ts == ring.bounds()[0] and answer.oldest_ts > 1010.0


def test_a_window_whose_start_left_the_ring_is_partial():
    ring = filled(64 * 1024, 5000, size=300)
    oldest = ring.bounds()[0]
    r, pub = responder(ring)
    r.handle(request(1000.0, oldest + 50))
    answer, chunks = replies(pub)
    assert answer.status == "partial" and answer.frames == 10 and len(chunks) == 1


def test_max_bytes_bounds_the_answer():
    r, pub = responder(filled(1 << 24, 20_000, size=300))
    r.handle(request(1000.0, 21_000.0, max_bytes=100_000))
    answer, chunks = replies(pub)
    assert answer.truncated and answer.size <= 100_000 and len(chunks) == 2


def test_refusals_off_rate_limited_and_late():
    off, pub_off = responder(None)
    off.handle(request(0, 1))
    limited, pub_lim = responder(filled(1 << 20, 100), per_minute=2)
    for _ in range(3):
        limited.handle(request(0, 1))
    late, pub_late = responder(filled(1 << 20, 100))
    late.handle(request(0, 1, expires_at=NOW - 1))
    statuses = [decode_reply(v).status for _t, v in pub_lim.sent]  # type: ignore[union-attr]
    assert replies(pub_off)[0].status == "refused"
    assert statuses == ["ok", "ok", "refused"]
    assert replies(pub_late)[0].status == "refused"
    assert limited.drops() == {"evidence_refused": 1}


def test_not_a_request_another_nodes_and_a_redelivered_one_get_no_answer():
    r, pub = responder(filled(1 << 20, 100))
    once = request(0, 1)
    r.handle(b"{not json")
    r.handle(request(0, 1, node="pi-b"))
    r.handle(once)
    r.handle(once)
    assert len(pub.sent) == 1
    assert r.counts["invalid"] == 1 and r.counts["ignored"] == 2
