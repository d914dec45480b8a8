"""Fuzzing the inventory: random and mutated DHCP / mDNS / SSDP payloads never raise, and every
record the tracker publishes passes the contract's bounds."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from contracts.events import AssetRecord
from edge_agent.inventory import AssetTracker
from tests.unit.edge_agent.inventory_frames import (
    PI_MAC,
    SSDP_NOTIFY,
    dhcp_request,
    mdns_announcement,
    udp_packet,
)

FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
PORTS = st.sampled_from([(68, 67), (67, 68), (5353, 5353), (1900, 1900), (50000, 1900)])
VALID = [dhcp_request(), mdns_announcement(), SSDP_NOTIFY]


def _feed(payloads: list[tuple[tuple[int, int], bytes]]) -> AssetTracker:
    inv = AssetTracker("pi-1")
    for i, ((sport, dport), data) in enumerate(payloads):
        pkt = udp_packet(PI_MAC, "192.168.2.16", "224.0.0.251", sport, dport, data, ts=1000.0 + i)
        inv.on_packet(pkt)
    for rec in inv.flush(2000.0):
        AssetRecord.model_validate(rec.model_dump())  # the bounds hold on what is published
    return inv


@FUZZ
@given(st.lists(st.tuples(PORTS, st.binary(max_size=600)), max_size=6))
def test_random_payloads_never_raise(payloads):
    _feed(payloads)


@FUZZ
@given(st.data())
def test_mutated_valid_messages_never_raise(data):
    msg = bytearray(data.draw(st.sampled_from(VALID)))
    for _ in range(data.draw(st.integers(1, 8))):
        msg[data.draw(st.integers(0, len(msg) - 1))] = data.draw(st.integers(0, 255))
    cut = bytes(msg[: data.draw(st.integers(1, len(msg)))])
    ports = data.draw(PORTS)

    inv = _feed([(ports, cut)])

    assert sum(inv.parsed.values()) + sum(inv.skipped.values()) == 1  # counted either way
