"""The flow table: bidirectional 5-tuple flows, FIN/RST end, idle and active timeouts, bounded."""

from __future__ import annotations

import socket
import uuid
import zlib
from collections import Counter, OrderedDict
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from contracts.events import SCHEMA_VERSION, FlowRecord
from contracts.features import FEATURE_VERSION
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
        ts = pkt.ts
        if ts > self.now:  # noqa: PLR1730 - max() without the call, on the hot path
            self.now = ts
        src, dst, sport, dport = pkt.src, pkt.dst, pkt.sport, pkt.dport
        key: FlowKey = (
            (src, dst, sport, dport, pkt.proto)
            if (src, sport) <= (dst, dport)
            else (dst, src, dport, sport, pkt.proto)
        )
        flows = self.flows
        flow = flows.get(key)
        if flow is None:
            closed = self.closed.get(key)
            if closed is not None:
                closed_ts, closed_flow = closed
                if ts - closed_ts < CLOSE_GRACE_S and not pkt.payload and not pkt.flags & SYN:
                    self.absorbed += 1
                    self.last = closed_flow
                    return out
                del self.closed[key]
        else:
            cfg = self.config
            if ts - flow.first_ts > cfg.active_timeout_s:
                del flows[key]
                out.append((flow, "active"))
                flow = None
            elif ts - flow.last_ts > cfg.idle_timeout_s:
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
        if out:
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


_IPS: dict[bytes, str] = {}
"""Addresses as text, by packed address (cleared when full): a host ends many flows."""
MAX_IPS = 65_536


def _ip_text(addr: bytes) -> str:
    text = _IPS.get(addr)
    if text is None:
        if len(_IPS) >= MAX_IPS:
            _IPS.clear()
        text = _IPS[addr] = _ip(addr)
    return text


def _values(  # one argument per field of the record
    event_id: uuid.UUID,
    ts: datetime,
    node_id: str,
    flow_id: str,
    src_ip: str,
    dst_ip: str,
    src_port: int,
    dst_port: int,
    proto: int,
    start_ts: float,
    end_ts: float,
    end_reason: str,
    features: list[float],
    label: str | None,
    community_id: str | None,
    dns: Any,
    tls: Any,
    http: Any,
    ssh: Any,
) -> dict[str, Any]:
    """Every field of a :class:`FlowRecord`, in the model's order (the JSON keeps this order)."""
    return {
        "schema_version": SCHEMA_VERSION,
        "event_id": event_id,
        "node_id": node_id,
        "ts": ts,
        "kind": "flow",
        "flow_id": flow_id,
        "src_ip": src_ip,
        "dst_ip": dst_ip,
        "src_port": src_port,
        "dst_port": dst_port,
        "proto": proto,
        "start_ts": start_ts,
        "end_ts": end_ts,
        "end_reason": end_reason,
        "feature_version": FEATURE_VERSION,
        "features": features,
        "label": label,
        "community_id": community_id,
        "dns": dns,
        "tls": tls,
        "http": http,
        "ssh": ssh,
    }


def _fast_ok() -> bool:
    """Whether ``_construct`` gives what ``FlowRecord.model_construct`` would: no aliases, no
    post-init, no extras, and ``_values`` names every field in the model's order."""
    fields = FlowRecord.model_fields
    return (
        FlowRecord.__pydantic_post_init__ is None
        and not FlowRecord.__pydantic_root_model__
        and FlowRecord.model_config.get("extra") != "allow"
        and all(f.alias is None and f.validation_alias is None for f in fields.values())
        and tuple(_values(*[None] * 19)) == tuple(fields)  # type: ignore[arg-type]
    )


_FAST = _fast_ok()
_new_record = FlowRecord.__new__
_set = object.__setattr__


def _construct(values: dict[str, Any]) -> FlowRecord:
    """``FlowRecord.model_construct(**values)`` for values of every field (``_values``),
    without its loop over the fields: the four attributes it sets, nothing else."""
    if not _FAST:
        return FlowRecord.model_construct(**values)
    rec = _new_record(FlowRecord)
    _set(rec, "__dict__", values)
    _set(rec, "__pydantic_fields_set__", set(values))
    _set(rec, "__pydantic_extra__", None)
    _set(rec, "__pydantic_private__", None)
    return rec


def to_record(flow: Flow, reason: str, node_id: str) -> FlowRecord:
    """A finished flow as the wire contract (values are known-good: no re-validation)."""
    src, dst = flow.src, flow.dst
    fid = (
        f"{int(flow.first_ts * 1e6):x}-{zlib.crc32(src + dst) ^ (flow.sport << 16 | flow.dport):x}"
    )
    meta = flow.tap.result() if flow.tap is not None else None
    kind = meta[0] if meta is not None else None
    got = meta[1] if meta is not None else None
    return _construct(
        _values(
            uuid.uuid4(),  # given here: pydantic inspects default factories on every call
            datetime.now(UTC),
            node_id,
            fid[:64],
            _ip_text(src),
            _ip_text(dst),
            flow.sport,
            flow.dport,
            flow.proto,
            flow.first_ts,
            flow.last_ts,
            reason,
            flow.features(),
            flow.label,
            flow.community_id,
            got if kind == "dns" else None,
            got if kind == "tls" else None,
            got if kind == "http" else None,
            got if kind == "ssh" else None,
        )
    )
