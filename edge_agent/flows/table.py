"""The flow table: bidirectional 5-tuple flows, FIN/RST end, idle and active timeouts, bounded."""

from __future__ import annotations

import socket
import uuid
import zlib
from collections import Counter, OrderedDict
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from contracts.events import FlowRecord
from edge_agent.capture.l7 import L7Stats
from edge_agent.capture.l7.tap import Starter, wants
from edge_agent.capture.packet import ACK, SYN, TCP, Packet
from edge_agent.flows.community import CommunityIds
from edge_agent.flows.config import FlowConfig
from edge_agent.flows.flow import Flow
from edge_agent.flows.hosts import HostTable

FlowKey = tuple[bytes, bytes, int, int, int]
CLOSE_GRACE_S = 2.0


def _ip(addr: bytes) -> str:
    return socket.inet_ntop(socket.AF_INET if len(addr) == 4 else socket.AF_INET6, addr)


class FlowTable:
    """Feed packets in time order; finished flows come out as ``(Flow, end_reason)``."""

    def __init__(self, config: FlowConfig | None = None) -> None:
        self.config = config or FlowConfig()
        self.flows: OrderedDict[FlowKey, Flow] = OrderedDict()
        self.hosts = HostTable(self.config.host_window_s, self.config.max_hosts)
        self.ended: Counter[str] = Counter()
        self.now = 0.0
        # keys of flows that just ended with FIN/RST: their trailing ACKs are not new flows
        self.closed: OrderedDict[FlowKey, tuple[float, Flow]] = OrderedDict()
        self.absorbed = 0
        self.last: Flow | None = None
        """The flow the last packet belonged to (for per-packet scoring in benchmarks)."""
        self.l7_stats = L7Stats()
        """Flows with L7 metadata by protocol, and payloads skipped by reason."""
        seed = self.config.community_id_seed
        self._cids = CommunityIds(seed) if seed is not None else None
        self._l7 = Starter(self.l7_stats) if self.config.l7 else None

    def __len__(self) -> int:
        return len(self.flows)

    def add(self, pkt: Packet) -> list[tuple[Flow, str]]:
        """Account ``pkt``; returns the flows that ended because of it (usually none)."""
        out: list[tuple[Flow, str]] = []
        self.now = max(self.now, pkt.ts)
        a, b = (pkt.src, pkt.sport), (pkt.dst, pkt.dport)
        key: FlowKey = (
            (pkt.src, pkt.dst, pkt.sport, pkt.dport, pkt.proto)
            if a <= b
            else (pkt.dst, pkt.src, pkt.dport, pkt.sport, pkt.proto)
        )
        flows = self.flows
        flow = flows.get(key)
        if flow is None and key in self.closed:
            closed_ts, closed_flow = self.closed[key]
            if pkt.ts - closed_ts < CLOSE_GRACE_S and not pkt.payload and not pkt.flags & SYN:
                self.absorbed += 1
                self.last = closed_flow
                return out
            del self.closed[key]
        if flow is not None:
            if pkt.ts - flow.first_ts > self.config.active_timeout_s:
                del flows[key]
                out.append((flow, "active"))
                flow = None
            elif pkt.ts - flow.last_ts > self.config.idle_timeout_s:
                del flows[key]
                out.append((flow, "idle"))
                flow = None
            else:
                flows.move_to_end(key)
        if pkt.proto == TCP and pkt.flags & SYN:
            if pkt.flags & ACK:
                self.hosts.synack(pkt.dst, pkt.ts)
            else:
                self.hosts.syn(pkt.src, pkt.ts)
        if flow is None:
            src_win, dst_win = self.hosts.new_flow(pkt.src, pkt.dst, pkt.dport, pkt.ts)
            flow = flows[key] = Flow(key, pkt, src_win, dst_win)
            if self._cids is not None:
                flow.community_id = self._cids.of(pkt, key)
            if self._l7 is not None and pkt.data and wants(pkt.proto, pkt.sport, pkt.dport):
                flow.l7 = self._l7
            if len(flows) > self.config.max_flows:
                _, victim = flows.popitem(last=False)
                out.append((victim, "evicted"))
        if flow.add(pkt):
            del flows[key]
            out.append((flow, "rst" if flow.rst else "fin"))
            self.closed[key] = (pkt.ts, flow)
            while len(self.closed) > 10_000 or (
                self.closed and pkt.ts - next(iter(self.closed.values()))[0] > CLOSE_GRACE_S
            ):
                self.closed.popitem(last=False)
        self.last = flow
        for _, reason in out:
            self.ended[reason] += 1
        return out

    def expire(self, now: float) -> list[tuple[Flow, str]]:
        """End the flows idle for longer than the idle timeout at time ``now``."""
        self.now = max(self.now, now)
        out: list[tuple[Flow, str]] = []
        limit = now - self.config.idle_timeout_s
        flows = self.flows
        while flows:
            key, flow = next(iter(flows.items()))
            if flow.last_ts >= limit:
                break
            del flows[key]
            out.append((flow, "idle"))
        self.ended["idle"] += len(out)
        return out

    def flush(self) -> list[tuple[Flow, str]]:
        out = [(f, "flush") for f in self.flows.values()]
        self.flows.clear()
        self.ended["flush"] += len(out)
        return out

    def active(self) -> Iterator[Flow]:
        return iter(self.flows.values())


_NO_L7 = {"dns": None, "tls": None, "http": None, "ssh": None}


def to_record(flow: Flow, reason: str, node_id: str) -> FlowRecord:
    """A finished flow as the wire contract (values are known-good: no re-validation)."""
    fid = f"{int(flow.first_ts * 1e6):x}-{zlib.crc32(b''.join((flow.src, flow.dst))) ^ (flow.sport << 16 | flow.dport):x}"
    meta = flow.tap.result() if flow.tap is not None else None
    l7: dict[str, Any] = dict(_NO_L7)
    if meta is not None:
        l7[meta[0]] = meta[1]
    # every field given: model_construct looks up the default of each one left out
    return FlowRecord.model_construct(
        schema_version=1,
        kind="flow",
        feature_version=1,
        event_id=uuid.uuid4(),  # given here: pydantic inspects default factories on every call
        ts=datetime.now(UTC),
        node_id=node_id,
        flow_id=fid[:64],
        src_ip=_ip(flow.src),
        dst_ip=_ip(flow.dst),
        src_port=flow.sport,
        dst_port=flow.dport,
        proto=flow.proto,
        start_ts=flow.first_ts,
        end_ts=flow.last_ts,
        end_reason=reason,  # type: ignore[arg-type]
        features=flow.features(),
        label=flow.label,
        community_id=flow.community_id,
        **l7,
    )
