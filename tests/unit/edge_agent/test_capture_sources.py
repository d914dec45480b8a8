"""Capture sources: pcap, pcapng, sim, live (permission error); malformed input never raises."""

from __future__ import annotations

import random
import struct

import pytest

from edge_agent.capture import CaptureError, ParseStats, open_source, parse_frame, write_pcap
from edge_agent.capture.packet import LT_ETHERNET, LT_LINUX_SLL, LT_RAW
from tests.unit.edge_agent.fixtures import golden_frames


def _pcapng(path, frames):
    """A minimal little-endian pcapng with one Ethernet interface (tsresol 6)."""

    def block(btype, body):
        body += b"\x00" * (-len(body) % 4)
        n = len(body) + 12
        return struct.pack("<II", btype, n) + body + struct.pack("<I", n)

    out = block(0x0A0D0D0A, struct.pack("<IHHq", 0x1A2B3C4D, 1, 0, -1))
    out += block(
        1,
        struct.pack("<HHI", 1, 0, 262144)
        + struct.pack("<HHB3x", 9, 1, 6)
        + struct.pack("<HH", 0, 0),
    )
    for ts, data, wire, _ in frames:
        us = round(ts * 1e6)
        out += block(6, struct.pack("<IIIII", 0, us >> 32, us & 0xFFFFFFFF, len(data), wire) + data)
    path.write_bytes(out)


def test_pcap_and_pcapng_give_the_same_packets(tmp_path):
    frames = golden_frames()
    write_pcap(tmp_path / "a.pcap", frames)
    _pcapng(tmp_path / "a.pcapng", frames)
    a = [
        (p.ts, p.src, p.dst, p.sport, p.dport, p.length)
        for p in open_source(f"pcap:{tmp_path / 'a.pcap'}")
    ]
    b = [
        (p.ts, p.src, p.dst, p.sport, p.dport, p.length)
        for p in open_source(f"pcap:{tmp_path / 'a.pcapng'}")
    ]
    assert a == b and len(a) > 10


def test_paced_replay_takes_recorded_time(tmp_path):
    import time

    frames = [
        (f[0] - golden_frames()[0][0] + 100.0 if i < 3 else 0, *f[1:])
        for i, f in enumerate(golden_frames()[:3])
    ]
    write_pcap(tmp_path / "p.pcap", frames)
    t0 = time.monotonic()
    n = sum(1 for _ in open_source(f"pcap:{tmp_path / 'p.pcap'}?speed=1"))
    assert n == 3
    assert time.monotonic() - t0 >= 0.015  # 20 ms of capture time at 1x


@pytest.mark.parametrize("content", [b"", b"not a pcap at all", b"\xd4\xc3\xb2\xa1\x02"])
def test_corrupt_file_headers_are_a_clear_error_or_empty(tmp_path, content):
    path = tmp_path / "bad.pcap"
    path.write_bytes(content)
    src = open_source(f"pcap:{path}")
    try:
        packets = list(src)
    except CaptureError as exc:
        assert "not a pcap" in str(exc)
    else:
        assert packets == []


def test_missing_file_and_bad_spec_are_clear_errors(tmp_path):
    with pytest.raises(CaptureError, match="no such file"):
        open_source(f"pcap:{tmp_path / 'nope.pcap'}")
    with pytest.raises(CaptureError, match="unknown source"):
        open_source("ftp:x")
    with pytest.raises(CaptureError, match="unknown scenario"):
        open_source("sim:volcano")


def test_truncated_records_stop_cleanly(tmp_path):
    path = tmp_path / "t.pcap"
    write_pcap(path, golden_frames())
    data = path.read_bytes()
    path.write_bytes(data[: len(data) - 7])
    src = open_source(f"pcap:{path}")
    packets = list(src)
    assert len(packets) > 5
    assert src.stats.skipped["truncated_record"] == 1


def test_random_garbage_frames_never_raise():
    rng = random.Random(42)
    stats = ParseStats()
    base = [f[1] for f in golden_frames()]
    for i in range(20000):
        if i % 2:
            data = bytes(rng.getrandbits(8) for _ in range(rng.randint(0, 80)))
        else:  # mutate a real frame: flip bytes, cut it short
            data = bytearray(rng.choice(base))
            for _ in range(rng.randint(1, 6)):
                data[rng.randrange(len(data))] = rng.getrandbits(8)
            data = bytes(data[: rng.randint(0, len(data))])
        for lt in (LT_ETHERNET, LT_RAW, LT_LINUX_SLL, 276, 0, 999):
            parse_frame(data, lt, 1.0, len(data), stats)
    assert sum(stats.skipped.values()) > 0


def test_corrupt_records_in_a_file_never_raise(tmp_path):
    rng = random.Random(7)
    write_pcap(tmp_path / "g.pcap", golden_frames())
    good = (tmp_path / "g.pcap").read_bytes()
    for i in range(200):
        data = bytearray(good)
        for _ in range(20):
            data[rng.randrange(24, len(data))] = rng.getrandbits(8)
        (tmp_path / f"c{i}.pcap").write_bytes(bytes(data))
        list(open_source(f"pcap:{tmp_path / f'c{i}.pcap'}"))


def test_live_capture_without_permission_names_the_fix(monkeypatch):
    import scapy.arch  # noqa: F401
    from scapy.config import conf

    def refuse(*_a, **_k):
        raise PermissionError(1, "Operation not permitted")

    monkeypatch.setattr(conf, "L2listen", refuse)
    with pytest.raises(CaptureError, match="CAP_NET_RAW"):
        open_source("live:eth0")


def test_live_filter_without_libpcap_names_the_fix(monkeypatch):
    import scapy.arch  # noqa: F401
    from scapy.config import conf

    def no_libpcap(*_a, **_k):
        raise ImportError("libpcap is not available. Cannot compile filter !")

    monkeypatch.setattr(conf, "L2listen", no_libpcap)
    with pytest.raises(CaptureError, match=r"libpcap0\.8"):
        open_source("live:eth0?filter=tcp port 22")


def test_live_capture_on_a_missing_interface_is_a_clear_error():
    with pytest.raises(CaptureError, match="nope0"):
        open_source("live:nope0")


def test_pcap_replay_with_a_labels_file(tmp_path):
    frames = golden_frames()[:4]
    write_pcap(tmp_path / "l.pcap", frames)
    (tmp_path / "l.csv").write_text(
        "index,label,attack\n0,0,\n1,1,synflood\n2,0,benign\n3,1,synflood\n"
    )
    src = open_source(f"pcap:{tmp_path / 'l.pcap'}?labels={tmp_path / 'l.csv'}")
    assert [p.label for p in src] == ["benign", "synflood", "benign", "synflood"]
    (tmp_path / "bad.csv").write_text("a,b\n1,2\n")
    with pytest.raises(CaptureError, match="index,label,attack"):
        open_source(f"pcap:{tmp_path / 'l.pcap'}?labels={tmp_path / 'bad.csv'}")
