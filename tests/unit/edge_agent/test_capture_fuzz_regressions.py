"""Inputs the coverage-guided fuzzer (``python -m benchmarks.fuzz_capture``) found crashing
the pcapng reader, each rebuilt by hand as the smallest file that reaches the same line.

The reader's contract: it yields packets, stops at a corrupt record (counted in its stats),
or raises ``CaptureError``; never ``struct.error``, ``IndexError`` or ``ValueError``."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest

from edge_agent.capture.errors import CaptureError
from edge_agent.capture.pcap import PcapSource

_BOM = 0x1A2B3C4D


def _shb(total: int = 28) -> bytes:
    return (
        struct.pack("<III", 0x0A0D0D0A, total, _BOM)
        + struct.pack("<HHq", 1, 0, -1)
        + (struct.pack("<I", total))
    )


def _block(btype: int, body: bytes) -> bytes:
    n = 12 + len(body)
    return struct.pack("<II", btype, n) + body + struct.pack("<I", n)


def _idb(options: bytes = b"") -> bytes:
    return _block(1, struct.pack("<HHI", 1, 0, 65535) + options)


def _read(tmp_path: Path, data: bytes) -> tuple[int, dict[str, int]]:
    p = tmp_path / "fuzz.pcapng"
    p.write_bytes(data)
    src = PcapSource(p)
    try:
        n = sum(1 for _ in src)
    except CaptureError:
        n = -1
    return n, src.stats.as_dict()


@pytest.mark.parametrize(
    ("name", "data", "counted"),
    [
        # the section header's own length is below its minimum (was: ValueError in read())
        ("shb length 0", struct.pack("<III", 0x0A0D0D0A, 0, _BOM) + b"\0" * 32, True),
        # an interface description block with no body (was: struct.error, 2 bytes needed)
        ("empty idb", _shb() + _block(1, b""), True),
        # an enhanced packet block shorter than its fixed header (was: struct.error, 20 bytes)
        ("short epb", _shb() + _idb() + _block(6, b"\0" * 8), True),
        # an if_tsresol option announced with its value cut off (was: IndexError)
        ("cut tsresol", _shb() + _idb(struct.pack("<HH", 9, 1)), False),
        # a simple packet block with no length field
        ("empty spb", _shb() + _idb() + _block(3, b""), True),
    ],
    ids=lambda v: v if isinstance(v, str) else "",
)
def test_a_corrupt_pcapng_block_is_counted_not_raised(
    tmp_path: Path, name: str, data: bytes, counted: bool
) -> None:
    # prepare: one hand-built file per crash site; execute
    n, stats = _read(tmp_path, data)
    # assert: nothing but documented outcomes (no packets here), and the corruption is counted
    assert n in (0, -1), name
    bad = stats.get("skipped_corrupt_record", 0) + stats.get("skipped_bad_file_header", 0)
    assert (bad >= 1) == counted, (name, stats)  # a cut option is ignored (default resolution)


def test_a_good_block_after_a_short_one_is_still_read(tmp_path: Path) -> None:
    # prepare: a short enhanced packet block, then a valid one (an ARP frame)
    arp = (
        b"\xff" * 6
        + b"\xbb" * 6
        + b"\x08\x06"
        + struct.pack("!HHBBH", 1, 0x0800, 6, 4, 1)
        + b"\xbb" * 6
        + b"\n\0\0\1"
        + b"\0" * 6
        + b"\n\0\0\2"
    )
    pad = arp + b"\0" * (-len(arp) % 4)
    good = _block(6, struct.pack("<IIIII", 0, 0, 1_000_000, len(arp), len(arp)) + pad)
    data = _shb() + _idb() + _block(6, b"\0" * 8) + good
    # execute
    n, stats = _read(tmp_path, data)
    # assert: the short block is skipped and counted, the next one is parsed
    assert n == 1 and stats["skipped_corrupt_record"] == 1
