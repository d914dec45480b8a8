"""``live:IFACE``: live capture with scapy's L2 socket (raw frames into our own parser).

With no filter (the default) every frame reaches the parser, ARP included. A user's BPF filter
is passed as is; it must let ``arp`` through for the ARP monitor to see anything (e.g.
``"ip or ip6 or arp"``, not ``"ip"``)."""

from __future__ import annotations

import select
import time
from collections.abc import Iterator

from edge_agent.capture.errors import CaptureError
from edge_agent.capture.packet import LT_ETHERNET, ArpPacket, Packet, ParseStats, parse_frame

NO_PERMISSION = (
    "live capture on {iface} needs CAP_NET_RAW: run as root, or grant it with "
    "`sudo setcap cap_net_raw+ep $(readlink -f $(which python3))`, or under systemd set "
    "`AmbientCapabilities=CAP_NET_RAW` (the shipped fednids-agent.service does)"
)

NO_LIBPCAP = (
    "the BPF filter {bpf!r} needs libpcap to compile ({exc}): install it "
    "(`apt install libpcap0.8` on Debian / Raspberry Pi OS) or capture without a filter"
)


class LiveSource:
    """Frames from a network interface; ``stop()`` (or ``max_seconds``) ends the iteration."""

    def __init__(
        self, iface: str, bpf: str | None = None, max_seconds: float | None = None
    ) -> None:
        self.iface = iface
        self.bpf = bpf
        self.max_seconds = max_seconds
        self.stats = ParseStats()
        self._stop = False
        try:
            import scapy.arch  # noqa: F401 - sets conf.L2listen for this platform
            from scapy.config import conf
        except ImportError as exc:  # pragma: no cover
            raise CaptureError("live capture needs scapy: pip install 'fednids[edge]'") from exc
        try:
            self._sock = conf.L2listen(iface=iface, filter=bpf)
        except PermissionError as exc:
            raise CaptureError(NO_PERMISSION.format(iface=iface)) from exc
        except OSError as exc:
            if exc.errno in (1, 13):
                raise CaptureError(NO_PERMISSION.format(iface=iface)) from exc
            raise CaptureError(f"live capture on {iface!r} failed: {exc}") from exc
        except ImportError as exc:  # scapy compiles BPF filters with libpcap
            raise CaptureError(NO_LIBPCAP.format(bpf=bpf, exc=exc)) from exc
        except Exception as exc:  # scapy's own Scapy_Exception: bad interface or filter
            raise CaptureError(f"live capture on {iface!r} failed: {exc}") from exc

    def stop(self) -> None:
        self._stop = True

    def __iter__(self) -> Iterator[Packet | ArpPacket | None]:
        """IP and ARP packets, and ``None`` after 0.2 s without one (so the caller can expire
        flows)."""
        deadline = time.monotonic() + self.max_seconds if self.max_seconds else None
        try:
            while not self._stop and (deadline is None or time.monotonic() < deadline):
                ready, _, _ = select.select([self._sock.fileno()], [], [], 0.2)
                if not ready:
                    yield None
                    continue
                try:
                    raw = self._sock.recv_raw()
                except OSError:
                    self.stats.skip("recv_error")
                    continue
                _cls, data, ts = raw
                if not data:
                    continue
                pkt = parse_frame(
                    bytes(data), LT_ETHERNET, ts or time.time(), len(data), self.stats
                )
                if pkt is not None:
                    yield pkt
        finally:
            self._sock.close()
