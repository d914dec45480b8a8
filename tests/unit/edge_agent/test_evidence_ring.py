"""The evidence ring: bounded memory, FIFO eviction, frames read back intact across the
arena's end, host and time selection, and a reader racing the writer."""

from __future__ import annotations

import threading

import pytest

from edge_agent.capture.frames import addr, arp_frame, tcp_frame
from edge_agent.capture.packet import ParseStats, parse_frame
from edge_agent.evidence.ring import OVERHEAD, FrameRing

HOSTS = [addr(f"10.0.0.{i}") for i in range(1, 6)]
SERVER = addr("10.9.9.9")


def frame(i: int, size: int = 100) -> tuple[float, bytes]:
    """Frame ``i``: from host ``i % 5``, ts ``1000 + i``, padded with the byte ``i % 251``."""
    ts, hdr, _w, _l = tcp_frame(1000.0 + i, HOSTS[i % 5], SERVER, 1024 + i % 5000, 80, 0x10)
    return ts, hdr + bytes([i % 251]) * max(0, size - len(hdr))


def filled(capacity: int, n: int, size: int = 100) -> FrameRing:
    ring = FrameRing(capacity)
    for i in range(n):
        ts, data = frame(i, size)
        ring.add(ts, 1, data)
    return ring


def test_memory_stays_within_the_capacity_and_the_oldest_go_first():
    # prepare
    cap = 64 * 1024
    # execute
    ring = filled(cap, 5000, size=300)
    # assert
    assert ring.nbytes <= cap
    assert ring.evicted > 0 and len(ring) + ring.evicted == 5000
    oldest, newest = ring.bounds()
    assert newest == 1000.0 + 4999
    assert oldest == 1000.0 + ring.evicted  # FIFO: exactly the first ones left
    assert ring.lost_until == oldest - 1
    assert ring.nbytes == len(ring) * (300 + OVERHEAD)
    assert cap - ring.nbytes < 300 + OVERHEAD  # full: not one more frame would fit
    held = ring.frames()
    assert len(held) == len(ring) and held[0][0] == oldest and held[-1][0] == newest


def test_many_small_frames_are_charged_their_overhead():
    ring = filled(64 * 1024, 20_000, size=54)
    assert len(ring) == 64 * 1024 // (54 + OVERHEAD)
    assert ring.nbytes <= 64 * 1024


def test_frames_read_back_intact_after_eviction():
    # prepare
    ring = filled(64 * 1024, 3000, size=333)
    # execute
    sel = ring.select(set(HOSTS), 0, 1e12, 1 << 30)
    # assert
    assert len(sel.frames) == len(ring)
    for f in sel.frames:
        i = int(f.ts - 1000)
        assert f.data == frame(i, 333)[1]


def test_select_returns_exactly_the_hosts_frames_in_the_window():
    ring = filled(1 << 20, 2000)
    sel = ring.select({HOSTS[1], HOSTS[3]}, 1100.0, 1300.0, 1 << 30)
    want = [i for i in range(100, 301) if i % 5 in (1, 3)]
    assert [int(f.ts - 1000) for f in sel.frames] == want
    stats = ParseStats()
    for f in sel.frames:
        pkt = parse_frame(f.data, f.linktype, f.ts, f.wirelen, stats)
        assert pkt is not None and pkt.src in (HOSTS[1], HOSTS[3])  # type: ignore[union-attr]
    assert not sel.truncated and sel.lost_until is None


def test_select_stops_at_max_bytes_and_says_so():
    ring = filled(1 << 20, 1000)
    sel = ring.select({HOSTS[0]}, 0, 1e12, max_bytes=10 * 116, per_frame=16)
    assert len(sel.frames) == 10 and sel.truncated


def test_arp_and_simulated_packets_carry_no_frame():
    ring = FrameRing(1 << 20)
    stats = ParseStats()
    ts, data, wire, _ = arp_frame(1.0, 1, bytes(6), HOSTS[0], HOSTS[1])
    arp = parse_frame(data, 1, ts, wire, stats)
    ts, data, wire, _ = tcp_frame(2.0, HOSTS[0], SERVER, 1, 80, 0x02, payload=10)
    ip = parse_frame(data, 1, ts, wire, stats)
    ring.add_packet(arp, 1)
    ring.add_packet(ip, 1)
    sel = ring.select({HOSTS[0]}, 0, 10, 1 << 20)
    assert len(ring) == 1 and sel.frames[0].data == data and sel.frames[0].wirelen == wire


def test_a_frame_larger_than_the_arena_is_counted_not_stored():
    ring = FrameRing(64 * 1024)
    ring.add(1.0, 1, b"x" * 100_000)
    assert len(ring) == 0 and ring.too_large == 1


def test_zero_megabytes_is_off_and_tiny_rings_are_refused():
    assert FrameRing.megabytes(0) is None
    with pytest.raises(ValueError, match="too small"):
        FrameRing(1000)
    assert FrameRing.megabytes(32).capacity == 32 * 1024 * 1024  # type: ignore[union-attr]


def test_a_reader_racing_the_writer_never_gets_a_torn_frame():
    # prepare
    ring = filled(64 * 1024, 2000, size=200)
    done = threading.Event()

    def write() -> None:
        for i in range(2000, 40_000):
            ts, data = frame(i, 200)
            ring.add(ts, 1, data)
        done.set()

    t = threading.Thread(target=write)
    # execute
    t.start()
    bad, seen = 0, 0
    while not done.is_set():
        for f in ring.select(set(HOSTS), 0, 1e12, 1 << 30).frames:
            seen += 1
            bad += f.data != frame(int(f.ts - 1000), 200)[1]
    t.join()
    # assert
    assert seen > 0 and bad == 0
