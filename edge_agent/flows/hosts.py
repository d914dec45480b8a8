"""Per-host time-window aggregates: fan-out and distinct ports of a source, fan-in of a target.

Two tumbling windows per host (current and previous); a value is the larger of the two, so
it never drops to zero right after a window boundary. Sets are capped to bound memory.
"""

from __future__ import annotations

from collections import OrderedDict

SET_CAP = 4096


class HostWindow:
    __slots__ = (
        "flows",
        "peers",
        "ports",
        "prev_flows",
        "prev_peers",
        "prev_ports",
        "prev_syn",
        "prev_synack",
        "start",
        "syn",
        "synack",
    )

    def __init__(self, start: float) -> None:
        self.start = start
        self.peers: set[bytes] = set()
        self.ports: set[int] = set()
        self.flows = self.syn = self.synack = 0
        self.prev_peers = self.prev_ports = self.prev_flows = self.prev_syn = self.prev_synack = 0

    def roll(self, ts: float, length: float) -> None:
        if ts - self.start < length:
            return
        if ts - self.start < 2 * length:  # the current window becomes the previous one
            self.prev_peers, self.prev_ports = len(self.peers), len(self.ports)
            self.prev_flows, self.prev_syn, self.prev_synack = self.flows, self.syn, self.synack
        else:  # idle for more than a whole window: nothing recent
            self.prev_peers = self.prev_ports = self.prev_flows = self.prev_syn = (
                self.prev_synack
            ) = 0
        self.start = ts - ((ts - self.start) % length)
        self.peers = set()
        self.ports = set()
        self.flows = self.syn = self.synack = 0

    # max(a, b) written out (the first of equals, as max() returns): called per flow
    def fanout(self) -> int:
        n, prev = len(self.peers), self.prev_peers
        return n if n >= prev else prev

    def distinct_ports(self) -> int:
        n, prev = len(self.ports), self.prev_ports
        return n if n >= prev else prev

    def nflows(self) -> int:
        n, prev = self.flows, self.prev_flows
        return n if n >= prev else prev

    def syn_ratio(self) -> float:
        syn = self.syn if self.syn >= self.prev_syn else self.prev_syn
        synack = self.synack if self.synack >= self.prev_synack else self.prev_synack
        return syn / (synack + 1.0)


class HostTable:
    """``src`` windows (as initiator) and ``dst`` windows (as target), LRU-bounded."""

    __slots__ = ("dst", "length", "max_hosts", "src")

    def __init__(self, length: float, max_hosts: int) -> None:
        self.length = length
        self.max_hosts = max_hosts
        self.src: OrderedDict[bytes, HostWindow] = OrderedDict()
        self.dst: OrderedDict[bytes, HostWindow] = OrderedDict()

    def _get(self, table: OrderedDict[bytes, HostWindow], host: bytes, ts: float) -> HostWindow:
        w = table.get(host)
        if w is None:
            w = table[host] = HostWindow(ts)
            if len(table) > self.max_hosts:
                table.popitem(last=False)
        else:
            table.move_to_end(host)
            w.roll(ts, self.length)
        return w

    def new_flow(
        self, src: bytes, dst: bytes, dport: int, ts: float
    ) -> tuple[HostWindow, HostWindow]:
        s = self._get(self.src, src, ts)
        s.flows += 1
        if len(s.peers) < SET_CAP:
            s.peers.add(dst)
        if len(s.ports) < SET_CAP:
            s.ports.add(dport)
        d = self._get(self.dst, dst, ts)
        d.flows += 1
        if len(d.peers) < SET_CAP:
            d.peers.add(src)
        return s, d

    def syn(self, src: bytes, ts: float) -> None:
        self._get(self.src, src, ts).syn += 1

    def synack(self, to_host: bytes, ts: float) -> None:
        self._get(self.src, to_host, ts).synack += 1
