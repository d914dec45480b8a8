"""The sensor's asset table: packets and flows in, :class:`AssetRecord` changes out."""

from __future__ import annotations

import ipaddress
import socket
import struct
from collections import Counter, OrderedDict
from dataclasses import dataclass
from pathlib import Path

from pydantic import ValidationError

from contracts.events import AssetRecord, FlowRecord
from contracts.features import FEATURE_INDEX
from edge_agent.capture.l7.text import Malformed
from edge_agent.capture.packet import TCP, UDP, ArpPacket, Packet
from edge_agent.inventory import dhcp, mdns, ssdp
from edge_agent.inventory.asset import NEVER, Asset
from edge_agent.inventory.oui import IEEE_DATA_CSV, OuiLookup

PORTS = frozenset((*dhcp.PORTS, mdns.PORT, ssdp.PORT))
"""The only UDP ports whose payloads the inventory reads."""
MAX_SERVICE_PORT = 49151
"""Ports above (the dynamic range) are a client's, never a service worth listing."""
_ETHERTYPES = (b"\x08\x00", b"\x86\xdd")
_ZERO_MAC = bytes(6)
_ZERO4 = bytes(4)
_SYN = FEATURE_INDEX["syn_count"]
_BWD = FEATURE_INDEX["bwd_packets"]
_FWD = FEATURE_INDEX["fwd_packets"]
MAX_NOT_ASSETS = 65_536


def wants(pkt: Packet) -> bool:
    """Whether the inventory reads this IP packet's payload (the pipeline's cheap test)."""
    return pkt.proto == UDP and (pkt.dport in PORTS or pkt.sport in PORTS)


@dataclass(frozen=True)
class InventoryConfig:
    min_interval_s: float = 60.0
    """An asset is published at most once per this (capture time), except when new."""
    refresh_s: float = 3600.0
    """An asset seen again but unchanged is published after this, so the hub's last_seen moves."""
    max_assets: int = 4096
    max_per_tick: int = 64
    """Records published per tick (about a second) at most; the rest wait for the next."""
    """Assets kept (the least recently seen go first): a /20 of devices."""
    local_only: bool = True
    """IP-keyed assets (no MAC known) only for private, link-local and ULA addresses."""
    oui_csv: Path | None = IEEE_DATA_CSV


class AssetTracker:
    def __init__(self, node_id: str, config: InventoryConfig | None = None) -> None:
        self.node_id = node_id
        self.config = config or InventoryConfig()
        self.oui = OuiLookup(self.config.oui_csv)
        self.oui.load()  # at start (a fraction of a second), not at the first device
        self.assets: OrderedDict[bytes | str, Asset] = OrderedDict()
        self.by_ip: OrderedDict[str, bytes] = OrderedDict()
        """IP -> the MAC last seen claiming it (ARP, DHCP, a multicast frame's source)."""
        self.dirty: dict[bytes | str, None] = {}
        self.parsed: Counter[str] = Counter()
        self.skipped: Counter[str] = Counter()
        self.published = 0
        self._not_assets: set[str] = set()
        """IPs seen in flows that are no asset (public ones): not parsed again."""

    # -- input ----------------------------------------------------------------------------
    def on_arp(self, pkt: ArpPacket) -> None:
        if pkt.sender_ip != _ZERO4 and _unicast(pkt.sender_mac):
            self._bind(pkt.sender_mac, socket.inet_ntop(socket.AF_INET, pkt.sender_ip), pkt.ts)

    def on_packet(self, pkt: Packet) -> None:
        """A UDP packet to or from :data:`PORTS` (call only when :func:`wants` says so)."""
        payload = pkt.data[pkt.poff : pkt.poff + pkt.payload]
        if not payload:
            self.skipped["payload_not_captured"] += 1
            return
        port = pkt.dport if pkt.dport in PORTS else pkt.sport
        try:
            if port in dhcp.PORTS:
                self._dhcp(dhcp.parse(payload), pkt.ts)
            elif port == mdns.PORT:
                names = mdns.parse(payload)
                if names:
                    asset = self._sender(pkt)
                    if asset is not None:
                        for name in names:
                            asset.add_name(name)
                        self._touch(asset)
            else:
                self._ssdp(ssdp.parse(payload), pkt)
        except Malformed as exc:
            self.skipped[exc.reason] += 1
            return
        except (IndexError, ValueError, struct.error):  # a parser bug must not stop the agent
            self.skipped[f"port{port}_error"] += 1
            return
        self.parsed[_PROTO_NAME.get(port, "dhcp")] += 1

    def on_flow(self, rec: FlowRecord) -> None:
        """A finished flow: its responder offered a service when it answered (a SYN-ACK to
        the SYN for TCP, a reply for UDP) on a port below the dynamic range.

        Only a two-way conversation (for TCP: an answered handshake the client acknowledged)
        makes a new IP-keyed asset: a flood from spoofed sources makes none."""
        f = rec.features
        answered = f[_BWD] > 0
        two_way = answered
        if rec.proto == TCP:
            answered = answered and f[_SYN] >= 2  # SYN and SYN-ACK
            two_way = answered and f[_FWD] >= 2
        elif rec.proto != UDP:
            answered = False
        dst = self._host(rec.dst_ip, rec.end_ts, two_way)
        src = self._host(rec.src_ip, rec.end_ts, two_way)
        if dst is not None:
            if answered and 0 < rec.dst_port <= MAX_SERVICE_PORT:
                proto = "tcp" if rec.proto == TCP else "udp"
                if not dst.add_service(proto, rec.dst_port):
                    self.skipped["services_full"] += 1
            self._touch(dst)
        if src is not None:
            self._touch(src)

    # -- output ---------------------------------------------------------------------------
    def on_tick(self, now: float) -> list[AssetRecord]:
        """The assets whose changes are due (new ones at once, others once per interval)."""
        if not self.dirty:
            return []
        cfg = self.config
        out: list[AssetRecord] = []
        for key in list(self.dirty):
            if len(out) >= cfg.max_per_tick:
                self.skipped["publish_deferred"] += 1
                break
            asset = self.assets.get(key)
            if asset is None:
                del self.dirty[key]
                continue
            if asset.last_pub != NEVER:
                wait = cfg.min_interval_s if asset.changes else cfg.refresh_s
                if now - asset.last_pub < wait:
                    continue
            del self.dirty[key]
            self._publish(asset, now, out)
        return out

    def flush(self, now: float) -> list[AssetRecord]:
        """Every pending change, due or not (the agent is stopping)."""
        out: list[AssetRecord] = []
        for key in list(self.dirty):
            asset = self.assets.get(key)
            if asset is not None and asset.changes:
                self._publish(asset, now, out)
        self.dirty.clear()
        return out

    def counters(self) -> dict[str, int]:
        return {
            "inventory_assets": len(self.assets),
            "inventory_published": self.published,
            **{f"inventory_{k}": v for k, v in self.parsed.items()},
            **{f"inventory_skipped_{k}": v for k, v in self.skipped.items()},
        }

    # -- internals ------------------------------------------------------------------------
    def _publish(self, asset: Asset, now: float, out: list[AssetRecord]) -> None:
        try:
            out.append(asset.record(self.node_id))
        except ValidationError:  # a capture clock past the contract's bounds, say
            self.skipped["record_invalid"] += 1
        asset.last_pub = now
        asset.changes = set()
        self.published += 1

    def _touch(self, asset: Asset) -> None:
        key: bytes | str = asset.mac if asset.mac is not None else asset.ip  # type: ignore[assignment]
        self.assets.move_to_end(key)
        if (
            asset.changes
            or asset.last_pub == NEVER
            or asset.last_seen - asset.last_pub >= (self.config.refresh_s)
        ):
            self.dirty[key] = None

    def _asset(self, mac: bytes, ts: float) -> Asset:
        asset = self.assets.get(mac)
        if asset is None:
            asset = Asset(mac, None, self.oui.vendor(mac), ts)
            self._add(mac, asset)
        asset.seen(ts)
        return asset

    def _add(self, key: bytes | str, asset: Asset) -> None:
        while len(self.assets) >= self.config.max_assets:
            old, _ = self.assets.popitem(last=False)
            self.dirty.pop(old, None)
            self.skipped["assets_evicted"] += 1
        self.assets[key] = asset

    def _bind(self, mac: bytes, ip: str, ts: float) -> Asset:
        asset = self._asset(mac, ts)
        asset.add_ip(ip)
        self.by_ip[ip] = mac
        self.by_ip.move_to_end(ip)
        if len(self.by_ip) > 4 * self.config.max_assets:
            self.by_ip.popitem(last=False)
        l3 = self.assets.pop(ip, None)  # seen before by IP alone: it is this device
        if l3 is not None:
            self.dirty.pop(ip, None)
            asset.merge(l3)
        self._touch(asset)
        return asset

    def _host(self, ip: str, ts: float, create: bool = True) -> Asset | None:
        """The asset of an IP seen in a flow: its MAC's, else an IP-keyed one (local IPs;
        made only when ``create``)."""
        mac = self.by_ip.get(ip)
        if mac is not None:
            asset = self.assets.get(mac)
            if asset is not None:
                asset.seen(ts)
                return asset
        asset = self.assets.get(ip)
        if asset is None:
            if not create or ip in self._not_assets:
                return None
            if not _assetable(ip, self.config.local_only):
                if len(self._not_assets) >= MAX_NOT_ASSETS:
                    self._not_assets.clear()
                self._not_assets.add(ip)
                return None
            asset = Asset(None, ip, None, ts)
            self._add(ip, asset)
        asset.seen(ts)
        return asset

    def _sender(self, pkt: Packet) -> Asset | None:
        ip = socket.inet_ntop(socket.AF_INET if len(pkt.src) == 4 else socket.AF_INET6, pkt.src)
        mac = link_source(pkt)
        if mac is not None and _unicast(mac):
            return self._bind(mac, ip, pkt.ts)
        return self._host(ip, pkt.ts)

    def _dhcp(self, info: dhcp.DhcpInfo, ts: float) -> None:
        if not _unicast(info.mac):
            raise Malformed("dhcp_bad_mac")
        if info.ip is not None:
            asset = self._bind(info.mac, socket.inet_ntop(socket.AF_INET, info.ip), ts)
        else:
            asset = self._asset(info.mac, ts)
        if info.op == dhcp.BOOTREQUEST:
            asset.set("hostname", info.hostname, "dhcp")
            asset.set("vendor_class", info.vendor_class, "dhcp")
            asset.set("prl", info.prl, "dhcp")
        self._touch(asset)

    def _ssdp(self, info: ssdp.SsdpInfo, pkt: Packet) -> None:
        if not info.announce or (info.server is None and info.usn is None):
            return
        asset = self._sender(pkt)
        if asset is None:
            return
        asset.set("ssdp_server", info.server, "name")
        if info.usn is not None:
            asset.add_usn(info.usn)
        self._touch(asset)


_PROTO_NAME = {mdns.PORT: "mdns", ssdp.PORT: "ssdp"}


def link_source(pkt: Packet) -> bytes | None:
    """The Ethernet (or Linux cooked) source MAC of a captured IP packet, when the frame has
    one: the IP header starts at ``poff - hdr_len``, right after the link header."""
    ip_at = pkt.poff - pkt.hdr_len
    data = pkt.data
    if ip_at in (14, 18, 22) and data[ip_at - 2 : ip_at] in _ETHERTYPES:
        return data[6:12]
    if ip_at == 16 and data[4:6] == b"\x00\x06" and data[14:16] in _ETHERTYPES:
        return data[6:12]  # Linux cooked (SLL): a 6-byte link address
    return None


def _unicast(mac: bytes) -> bool:
    return len(mac) == 6 and mac != _ZERO_MAC and not mac[0] & 0x01


def _assetable(ip: str, local_only: bool) -> bool:
    """Whether an address seen in a flow may be an asset: unicast, and (``local_only``)
    private, link-local or ULA. IPv4 without :mod:`ipaddress` (the common case, cheap)."""
    if ":" not in ip:
        parts = ip.split(".")
        if len(parts) != 4 or not all(p.isdigit() for p in parts):
            return False
        a, b, d = int(parts[0]), int(parts[1]), int(parts[3])
        if a in (0, 127) or a >= 224 or d == 255:  # unspecified, loopback, multicast, broadcast
            return False
        private = a == 10 or (a == 172 and 16 <= b <= 31) or (a == 192 and b == 168)
        return private or (a == 169 and b == 254) or not local_only
    try:
        addr = ipaddress.ip_address(ip)
    except ValueError:
        return False
    if addr.is_multicast or addr.is_unspecified or addr.is_loopback:
        return False
    return addr.is_private or addr.is_link_local or not local_only
