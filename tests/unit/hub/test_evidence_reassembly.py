"""The hub's reassembly of a node's answer trusts nothing: tampered, missing, oversized,
unasked-for or misaddressed replies fail or are dropped; late answers time out."""

from __future__ import annotations

import base64
import hashlib
import uuid

import pytest

from contracts.errors import ValidationFailed
from contracts.evidence import (
    CHUNK_BYTES,
    MAX_CHUNKS,
    EvidenceAnswer,
    EvidenceChunk,
    EvidenceRequest,
    decode_reply,
    encode_wire,
    make_chunks,
)
from hub.evidence.reassembly import Reassembler

PCAP = b"\xd4\xc3\xb2\xa1" + bytes(range(256)) * 600  # ~150 KiB: 3 chunks


class Clock:
    def __init__(self) -> None:
        self.t = 100.0

    def __call__(self) -> float:
        return self.t


def setup(pcap: bytes = PCAP, max_bytes: int = 8 * 1024 * 1024, node: str = "pi-a"):
    clock = Clock()
    r = Reassembler(timeout_s=30, clock=clock)
    req = EvidenceRequest(
        request_id=uuid.uuid4(), node_id=node, hosts=["10.0.0.1"], t0=0, t1=1,
        max_bytes=max_bytes, expires_at=2e9,
    )  # fmt: skip
    r.expect(req)
    sha = hashlib.sha256(pcap).hexdigest()
    answer = EvidenceAnswer(
        request_id=req.request_id, node_id=node, status="ok", frames=3, size=len(pcap),
        chunks=-(-len(pcap) // CHUNK_BYTES), sha256=sha,
    )  # fmt: skip
    return r, clock, answer, make_chunks(req.request_id, node, pcap, sha)


def feed(r: Reassembler, node: str, msgs):
    out = [r.accept(node, m) for m in msgs]
    return [x for x in out if x is not None]


def test_chunks_in_any_order_and_repeated_give_the_verified_pcap():
    r, _c, answer, chunks = setup()
    got = feed(r, "pi-a", [chunks[2], answer, chunks[0], chunks[0], chunks[1]])
    assert len(got) == 1 and got[0].status == "ready" and got[0].pcap == PCAP and len(r) == 0


def test_a_tampered_chunk_fails_the_request():
    r, _c, answer, chunks = setup()
    evil = bytearray(base64.b64decode(chunks[1].data))
    evil[10] ^= 1
    forged = chunks[1].model_copy(update={"data": base64.b64encode(bytes(evil)).decode()})
    got = feed(r, "pi-a", [answer, chunks[0], forged, chunks[2]])
    assert [g.status for g in got] == ["failed"] and "sha256" in got[0].reason


def test_a_missing_chunk_times_out():
    r, clock, answer, chunks = setup()
    assert feed(r, "pi-a", [answer, chunks[0], chunks[2]]) == []
    clock.t += 29
    assert r.expire() == []
    clock.t += 2
    (late,) = r.expire()
    assert late.status == "failed" and late.reason.startswith("timeout") and len(r) == 0


def test_an_answer_larger_than_asked_fails():
    r, _c, answer, _chunks = setup(max_bytes=100_000)
    (got,) = feed(r, "pi-a", [answer])
    assert got.status == "failed" and "asked for" in got.reason


def test_chunks_beyond_what_was_asked_fail_even_without_an_answer():
    big = b"\xd4\xc3\xb2\xa1" + bytes(CHUNK_BYTES * 3)
    r, _c, _answer, chunks = setup(pcap=big, max_bytes=2 * CHUNK_BYTES)
    got = feed(r, "pi-a", chunks)
    assert [g.status for g in got] == ["failed"]


def test_short_middle_chunks_and_disagreeing_totals_fail():
    r, _c, _answer, chunks = setup()
    short = chunks[0].model_copy(update={"data": base64.b64encode(b"abcd").decode()})
    assert feed(r, "pi-a", [short])[0].status == "failed"
    r, _c, _answer, chunks = setup()
    other = chunks[1].model_copy(update={"total": 7})
    assert feed(r, "pi-a", [chunks[0], other])[0].status == "failed"


def test_replies_for_requests_not_issued_or_from_another_node_are_dropped():
    r, _c, answer, chunks = setup()
    stranger = answer.model_copy(update={"request_id": uuid.uuid4()})
    as_b = answer.model_copy(update={"node_id": "pi-b"})
    assert feed(r, "pi-a", [stranger]) == []
    assert feed(r, "pi-b", [as_b, *chunks]) == []  # pi-b answering pi-a's request
    assert feed(r, "pi-b", [answer]) == []  # pi-a's answer on pi-b's topic
    assert r.dropped["unknown_request"] == 3 + len(chunks) and len(r) == 1


def test_expired_and_refused_answers_end_the_request():
    r, _c, answer, _chunks = setup()
    (got,) = feed(r, "pi-a", [answer.model_copy(update={"status": "expired", "size": 0,
                                                         "chunks": 0, "sha256": None})])  # fmt: skip
    assert got.status == "expired"


def test_not_a_pcap_fails():
    r, _c, answer, chunks = setup(pcap=b"GIF89a" + bytes(1000))
    got = feed(r, "pi-a", [answer, *chunks])
    assert got[0].status == "failed" and "pcap" in got[0].reason


def test_the_wire_bounds_sizes_before_parsing():
    with pytest.raises(ValidationFailed):
        decode_reply(b"x" * (CHUNK_BYTES * 2))
    with pytest.raises(ValidationFailed):
        decode_reply(b'{"kind":"evidence_chunk"}')
    with pytest.raises(ValueError):
        EvidenceChunk(request_id=uuid.uuid4(), node_id="pi-a", seq=MAX_CHUNKS, total=MAX_CHUNKS,
                      sha256="0" * 64, data="AAAA")  # fmt: skip
    ok = make_chunks(uuid.uuid4(), "pi-a", b"abc", "0" * 64)[0]
    assert decode_reply(encode_wire(ok)) == ok


def test_the_number_of_requests_in_flight_is_bounded():
    r = Reassembler(max_pending=2)
    for _ in range(2):
        r.expect(EvidenceRequest(request_id=uuid.uuid4(), node_id="pi-a", hosts=["10.0.0.1"],
                                 t0=0, t1=1, expires_at=2e9))  # fmt: skip
    with pytest.raises(Exception, match="in flight"):
        r.expect(EvidenceRequest(request_id=uuid.uuid4(), node_id="pi-a", hosts=["10.0.0.1"],
                                 t0=0, t1=1, expires_at=2e9))  # fmt: skip
