"""pcap and pcapng replay with raw reads and ``struct`` (about 100x faster than scapy)."""

from __future__ import annotations

import struct
import time
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from edge_agent.capture.errors import CaptureError
from edge_agent.capture.packet import ArpPacket, Packet, ParseStats, parse_frame

PCAP_MAGICS = {
    b"\xd4\xc3\xb2\xa1": ("<", 1e-6),
    b"\xa1\xb2\xc3\xd4": (">", 1e-6),
    b"\x4d\x3c\xb2\xa1": ("<", 1e-9),
    b"\xa1\xb2\x3c\x4d": (">", 1e-9),
}
PCAPNG_SHB = b"\x0a\x0d\x0d\x0a"
MAX_FRAME = 262_144 * 4
_MIN_BODY = {0x00000001: 8, 0x00000006: 20, 0x00000003: 4}
"""pcapng block type -> length of its fixed fields (interface, enhanced, simple packet)."""


class PcapSource:
    """Reads a pcap or pcapng file. ``speed`` 0 = as fast as possible, else x real time."""

    linktype = 1
    """The link type of the last frame read (pcapng may mix them)."""

    def __init__(
        self, path: str | Path, speed: float = 0.0, labels: list[str] | None = None
    ) -> None:
        self.path = Path(path)
        self.speed = speed
        self.labels = labels
        self.stats = ParseStats()
        if not self.path.is_file():
            raise CaptureError(f"pcap: no such file: {self.path}")

    def __iter__(self) -> Iterator[Packet | ArpPacket]:
        """IP packets and ARP packets (tell them apart with ``isinstance(p, ArpPacket)``)."""
        for i, (linktype, ts, wirelen, data) in enumerate(self.frames()):
            self.linktype = linktype  # of the packet just yielded (the agent's evidence ring)
            label = self.labels[i] if self.labels is not None and i < len(self.labels) else None
            pkt = parse_frame(data, linktype, ts, wirelen, self.stats, label)
            if pkt is not None:
                yield pkt

    def frames(self) -> Iterator[tuple[int, float, int, bytes]]:
        """Every frame as ``(linktype, ts, wirelen, bytes)``, paced when ``speed`` > 0."""
        try:
            f = self.path.open("rb")
        except OSError as exc:
            raise CaptureError(f"pcap: cannot open {self.path}: {exc}") from exc
        with f:
            magic = f.read(4)
            if magic in PCAP_MAGICS:
                frames = self._pcap(f, *PCAP_MAGICS[magic])
            elif magic == PCAPNG_SHB:
                frames = self._pcapng(f)
            else:
                self.stats.skip("bad_file_header")
                raise CaptureError(
                    f"pcap: {self.path} is not a pcap or pcapng file (magic {magic.hex()})"
                )
            yield from self._paced(frames) if self.speed > 0 else frames

    def _paced(
        self, frames: Iterator[tuple[int, float, int, bytes]]
    ) -> Iterator[tuple[int, float, int, bytes]]:
        start_wall = first_ts = None
        for fr in frames:
            if first_ts is None:
                first_ts, start_wall = fr[1], time.monotonic()
            else:
                due = start_wall + (fr[1] - first_ts) / self.speed  # type: ignore[operator]
                delay = due - time.monotonic()
                if delay > 0:
                    time.sleep(min(delay, 5.0))
            yield fr

    def _pcap(
        self, f: BinaryIO, endian: str, resolution: float
    ) -> Iterator[tuple[int, float, int, bytes]]:
        rest = f.read(20)
        if len(rest) < 20:
            self.stats.skip("bad_file_header")
            return
        _vmaj, _vmin, _tz, _sig, _snap, linktype = struct.unpack(endian + "HHiIII", rest)
        linktype &= 0x0FFFFFFF
        rec = struct.Struct(endian + "IIII")
        read = f.read
        while True:
            hdr = read(16)
            if len(hdr) < 16:
                if hdr:
                    self.stats.skip("truncated_record")
                return
            sec, frac, caplen, wirelen = rec.unpack(hdr)
            if caplen > MAX_FRAME:
                self.stats.skip("corrupt_record")
                return  # the rest of the file cannot be trusted
            data = read(caplen)
            if len(data) < caplen:
                self.stats.skip("truncated_record")
                return
            yield linktype, sec + frac * resolution, wirelen, data

    def _pcapng(self, f: BinaryIO) -> Iterator[tuple[int, float, int, bytes]]:
        head = f.read(8)  # rest of the SHB header: total length + byte-order magic
        if len(head) < 8:
            self.stats.skip("bad_file_header")
            return
        endian = "<" if head[4:8] == b"\x4d\x3c\x2b\x1a" else ">"
        u32 = struct.Struct(endian + "I").unpack
        shb_len = u32(head[:4])[0]
        if shb_len < 28 or shb_len % 4 or shb_len > MAX_FRAME:
            self.stats.skip("bad_file_header")
            return
        f.read(shb_len - 12)
        ifaces: list[tuple[int, float]] = []
        read = f.read
        while True:
            bh = read(8)
            if len(bh) < 8:
                if bh:
                    self.stats.skip("truncated_record")
                return
            btype, blen = struct.unpack(endian + "II", bh)
            if blen < 12 or blen > MAX_FRAME + 64 or blen % 4:
                self.stats.skip("corrupt_record")
                return
            body = read(blen - 8)
            if len(body) < blen - 8:
                self.stats.skip("truncated_record")
                return
            body = body[:-4]  # trailing block length
            if btype in _MIN_BODY and len(body) < _MIN_BODY[btype]:
                self.stats.skip("corrupt_record")  # shorter than the block's fixed fields
                continue
            if btype == 0x00000001:  # interface description
                linktype = struct.unpack(endian + "H", body[:2])[0]
                ifaces.append((linktype, _tsresol(body[8:], endian)))
            elif btype == 0x00000006:  # enhanced packet
                iface, hi, lo, caplen, wirelen = struct.unpack(endian + "IIIII", body[:20])
                if iface >= len(ifaces) or caplen > len(body) - 20:
                    self.stats.skip("corrupt_record")
                    continue
                linktype, res = ifaces[iface]
                yield linktype, ((hi << 32) | lo) * res, wirelen, body[20 : 20 + caplen]
            elif btype == 0x00000003:  # simple packet (no timestamp)
                if not ifaces:
                    self.stats.skip("corrupt_record")
                    continue
                wirelen = u32(body[:4])[0]
                yield ifaces[0][0], 0.0, wirelen, body[4 : 4 + min(wirelen, len(body) - 4)]
            elif btype == 0x0A0D0D0A:  # a new section
                ifaces = []
            # other blocks (name resolution, statistics, custom) are skipped


def _tsresol(options: bytes, endian: str) -> float:
    pos = 0
    while pos + 4 <= len(options):
        code, length = struct.unpack(endian + "HH", options[pos : pos + 4])
        if code == 0:
            break
        if code == 9 and length >= 1 and pos + 4 < len(options):
            v = options[pos + 4]
            return 2.0 ** -(v & 0x7F) if v & 0x80 else 10.0**-v
        pos += 4 + ((length + 3) // 4) * 4
    return 1e-6
