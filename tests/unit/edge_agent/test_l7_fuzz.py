"""Fuzzing the L7 extractors: random bytes and mutated valid messages never raise, and what
they extract always passes the contract's bounds."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from edge_agent.capture.l7 import L7Stats
from edge_agent.capture.l7.tap import MAX_PAYLOAD_PACKETS, Tap
from edge_agent.capture.packet import TCP, UDP, Packet
from tests.unit.edge_agent.l7_frames import HTTP_REQUEST, client_hello, dns_query, dns_response

KINDS = [(TCP, 443), (TCP, 80), (TCP, 22), (TCP, 53), (UDP, 53)]
FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _run(proto: int, dport: int, payloads: list[tuple[bool, bytes]]) -> L7Stats:
    stats = L7Stats()
    tap = Tap(stats, proto, 50000, dport)
    for fwd, data in payloads:
        pkt = Packet(0.0, b"\x01" * 4, b"\x02" * 4, 50000, dport, proto, 0, 0, len(data), data=data)
        if tap.feed(pkt, fwd):
            break
    found = tap.result()
    if found is not None:  # the fast path skips validation: the bounds must hold already
        _name, meta = found
        type(meta).model_validate(meta.model_dump())
    return stats


def _mutate(msg: bytes, data: st.DataObject) -> bytes:
    b = bytearray(msg)
    for _ in range(data.draw(st.integers(1, 6))):
        i = data.draw(st.integers(0, len(b) - 1))
        b[i] = data.draw(st.integers(0, 255))
    return bytes(b[: data.draw(st.integers(1, len(b)))])


@FUZZ
@given(
    kind=st.sampled_from(KINDS),
    chunks=st.lists(st.tuples(st.booleans(), st.binary(max_size=600)), max_size=10),
)
def test_random_payloads_never_raise(kind, chunks):
    _run(*kind, chunks)


@FUZZ
@given(data=st.data())
def test_mutated_client_hellos_never_raise(data):
    hello = client_hello(
        sni=data.draw(st.text(max_size=40)), alpn=(data.draw(st.binary(max_size=8)),)
    )
    msg = _mutate(hello, data)
    cut = data.draw(st.integers(0, len(msg)))
    _run(TCP, 443, [(True, msg[:cut]), (True, msg[cut:])])


@FUZZ
@given(data=st.data(), tcp=st.booleans())
def test_mutated_dns_messages_never_raise(data, tcp):
    q, r = _mutate(dns_query(), data), _mutate(dns_response(), data)
    if tcp:
        _run(
            TCP, 53, [(True, len(q).to_bytes(2, "big") + q), (False, len(r).to_bytes(2, "big") + r)]
        )
    else:
        _run(UDP, 53, [(True, q), (False, r)])


@FUZZ
@given(data=st.data())
def test_mutated_http_and_ssh_never_raise(data):
    _run(TCP, 80, [(True, _mutate(HTTP_REQUEST, data))])
    _run(
        TCP,
        22,
        [
            (True, _mutate(b"SSH-2.0-OpenSSH_9.6\r\n", data)),
            (False, _mutate(b"SSH-2.0-x\r\n", data)),
        ],
    )


def test_a_tap_steps_aside_after_its_packet_budget():
    stats = L7Stats()
    tap = Tap(stats, UDP, 50000, 53)
    pkt = Packet(0.0, b"\x01" * 4, b"\x02" * 4, 50000, 53, UDP, 0, 0, 40, data=dns_query())
    done = [tap.feed(pkt, True) for _ in range(MAX_PAYLOAD_PACKETS)]
    assert done == [False] * (MAX_PAYLOAD_PACKETS - 1) + [True]
