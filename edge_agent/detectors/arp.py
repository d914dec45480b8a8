"""Layer-2 analysis: ARP scans, IP->MAC binding conflicts (spoofing) and ARP floods.

:class:`ArpMonitor` reads every :class:`ArpPacket` the parser returns (the pipeline hands them
over; ARP never enters the flow table) and raises :class:`AnomalyEvent` with
``detector="rules"`` and a ``rule_id``, in capture time. Every table is capped (least
recently used entries go first) and every verdict is suppressed per (rule, host) for
``suppress_s``, so a flood of frames gives a few events, each with the hits it folded.

What a normal LAN does, and the thresholds that follow (:class:`ArpConfig`):

- **Requests.** A host broadcasts a request only for a neighbour not in its cache: its
  gateway, a DNS server, a printer, the few peers it talks to. Caches are refreshed with
  *unicast* requests to the known MAC (RFC 1122), which are not discovery and are not
  counted. Even a busy gateway rarely broadcasts for many hosts: it learns clients from their
  own requests. An ARP sweep (arp-scan, ``nmap -sn``, netdiscover, a worm walking its /24)
  asks for dozens to hundreds of addresses in seconds. ``arp_scan`` (family ``scan``): one
  sender MAC broadcasting requests for ``scan_min_targets`` = 24 distinct IPs (about 10 % of a
  /24) within ``scan_window_s`` = 60 s. Slower sweeps are not seen.
- **Bindings.** An IP moves to another MAC legitimately only when its old owner left: a DHCP
  server re-leases an address only after its lease expired (leases are hours; the owner renews
  at half of it) and checks it is free first; a replaced device with a static IP; a cluster
  failover (VRRP/HSRP keep a virtual MAC; keepalived without one sends gratuitous ARP once).
  ``arp_spoof`` (family ``other``): a frame from MAC B claims IP X (X as sender IP) while MAC A
  claimed X within ``binding_ttl_s`` = 900 s. Severity ``high`` when the claim is a reply or a
  gratuitous announcement (what poisoning tools send), ``medium`` for a request. Known benign
  causes it will flag: bonding in balance-alb mode, Bonjour sleep proxies, Linux "ARP flux"
  on multi-homed hosts, and a failover without a virtual MAC. ``arp_spoof`` also fires when one
  MAC answers for ``many_ips_min`` = 16 distinct IPs within ``many_ips_window_s`` = 300 s
  (a host has one or a few addresses; a MITM of a whole subnet claims them all; a proxy-ARP
  router or a MAC-NAT Wi-Fi extender can too). A spoof is suppressed by its IP and by its new
  MAC together: the owner taking its address back, or the attacker claiming one more, folds
  into the event already sent.
- **Replies and gratuitous ARP.** A host sends 1-3 gratuitous ARPs when its link comes up or its
  DHCP lease is renewed, some devices one a minute; a host answers requests for its own
  address, a gateway on a /24 at most a few per second. ``arp_flood`` (family ``dos``: the rule
  measures volume, which fills switch and host tables and drowns real answers; a flood that
  also poisons bindings raises ``arp_spoof`` on its own): one MAC sending
  ``flood_min_gratuitous`` = 50 gratuitous ARPs or ``flood_min_replies`` = 200 replies in
  ``flood_window_s`` = 10 s (5 and 20 per second), or the whole segment ``flood_min_total`` =
  1000 gratuitous ARPs and replies in that window from at least ``flood_min_macs`` = 20 MACs
  (a flood from random MACs, which no per-MAC count sees; fewer MACs are caught one by one).

Frames from 0.0.0.0 (RFC 5227 probes) claim nothing; frames with a zero, broadcast or
multicast sender MAC are ignored for bindings. The monitor only sees what reaches the sensor:
on a switch port that is broadcast (requests, gratuitous ARP), not unicast replies to others.
"""

from __future__ import annotations

import math
import socket
from dataclasses import dataclass
from typing import TypeVar

from contracts.events import AnomalyEvent, AttackFamily, EvidenceValue, Severity
from edge_agent.capture.packet import ARP_REPLY, ARP_REQUEST, ArpPacket

_ZERO_IP = bytes(4)
_ZERO_MAC = bytes(6)
_BROADCAST_MAC = b"\xff" * 6
_PRUNE_EVERY_S = 30.0
_MAX_OWN_IPS = 8
_MAX_FLOOD_TARGETS = 256

K = TypeVar("K")
V = TypeVar("V")


@dataclass(frozen=True)
class ArpConfig:
    """Thresholds (see the module docstring for why) and table caps."""

    scan_window_s: float = 60.0
    scan_min_targets: int = 24
    binding_ttl_s: float = 900.0
    many_ips_window_s: float = 300.0
    many_ips_min: int = 16
    flood_window_s: float = 10.0
    flood_min_gratuitous: int = 50
    flood_min_replies: int = 200
    flood_min_total: int = 1000
    flood_min_macs: int = 20
    suppress_s: float = 300.0
    max_hosts: int = 4096
    """Sender MACs with scan / flood state."""
    max_bindings: int = 8192
    """IP -> MAC bindings remembered."""
    max_suppressed: int = 4096

    def __post_init__(self) -> None:
        for name in ("scan_min_targets", "many_ips_min", "flood_min_gratuitous"):
            if getattr(self, name) < 2:
                raise ValueError(f"ArpConfig.{name} must be >= 2")
        for name in (
            "flood_min_replies",
            "flood_min_total",
            "flood_min_macs",
            "max_hosts",
            "max_bindings",
            "max_suppressed",
        ):
            if getattr(self, name) < 1:
                raise ValueError(f"ArpConfig.{name} must be >= 1")
        for name in ("scan_window_s", "binding_ttl_s", "many_ips_window_s", "flood_window_s"):
            if getattr(self, name) <= 0:
                raise ValueError(f"ArpConfig.{name} must be > 0")


def _ip(b: bytes) -> str:
    return socket.inet_ntoa(b)


def _mac(b: bytes) -> str:
    return b.hex(":") if b else ""


def _put(table: dict[K, V], key: K, value: V, cap: int) -> None:
    """Insert as the most recent entry; drop the least recent beyond ``cap``."""
    table.pop(key, None)
    table[key] = value
    while len(table) > cap:
        del table[next(iter(table))]


def _prune(times: dict[bytes, float], cutoff: float) -> None:
    """Drop entries (oldest first, by insertion) last seen before ``cutoff``."""
    while times:
        k = next(iter(times))
        if times[k] >= cutoff:
            return
        del times[k]


class _Host:
    """Per sender MAC: recent discovery targets, claimed IPs and the flood window."""

    __slots__ = ("claimed", "flood_garp", "flood_replies", "flood_start", "ips", "last", "targets")

    def __init__(self, ts: float) -> None:
        self.targets: dict[bytes, float] = {}
        self.claimed: dict[bytes, float] = {}
        self.ips: dict[bytes, float] = {}
        """The sender IPs this MAC used lately (its own addresses, or the ones it claims)."""
        self.last = ts
        self.flood_start = ts
        self.flood_garp = 0
        self.flood_replies = 0


class _Binding:
    """IP -> the MAC that claimed it last, when, and how often in a row."""

    __slots__ = ("claims", "last", "mac")

    def __init__(self, mac: bytes, ts: float) -> None:
        self.mac = mac
        self.last = ts
        self.claims = 1


class ArpMonitor:
    """``on_arp`` for every ARP packet, ``on_tick`` about once a second (prunes old state)."""

    name = "arp"

    def __init__(self, node_id: str, config: ArpConfig | None = None) -> None:
        self.node_id = node_id
        self.config = config or ArpConfig()
        self.hosts: dict[bytes, _Host] = {}
        self.bindings: dict[bytes, _Binding] = {}
        self.packets = 0
        self.hits: dict[str, int] = {"arp_scan": 0, "arp_spoof": 0, "arp_flood": 0}
        self._last_emit: dict[tuple[str, str], float] = {}
        self._suppressed: dict[tuple[str, str], int] = {}
        self._total_start = 0.0
        self._total = 0
        self._total_macs: set[bytes] = set()
        self._total_targets: dict[bytes, int] = {}
        self._next_prune = 0.0
        self.now = 0.0

    # -- the entry points -----------------------------------------------------------------------
    def on_arp(self, pkt: ArpPacket) -> list[AnomalyEvent]:
        cfg = self.config
        ts = pkt.ts
        self.packets += 1
        self.now = max(self.now, ts)
        mac = pkt.sender_mac
        host = self.hosts.get(mac) or _Host(ts)
        _put(self.hosts, mac, host, cfg.max_hosts)  # the most recently active last
        host.last = ts
        if pkt.sender_ip != _ZERO_IP:
            _put(host.ips, pkt.sender_ip, ts, _MAX_OWN_IPS)
        out: list[AnomalyEvent] = []
        gratuitous = pkt.sender_ip == pkt.target_ip
        if pkt.op == ARP_REQUEST and not gratuitous and self._discovery(pkt):
            self._scan(host, pkt, out)
        if gratuitous or pkt.op == ARP_REPLY:
            self._flood(host, pkt, gratuitous, out)
        if (
            pkt.sender_ip != _ZERO_IP
            and mac not in (_ZERO_MAC, _BROADCAST_MAC)
            and not mac[0] & 1  # multicast
        ):
            self._claim(host, pkt, gratuitous, out)
        return out

    def on_tick(self, now: float) -> list[AnomalyEvent]:
        """Drops state nothing can use any more; ARP verdicts come out of ``on_arp``."""
        self.now = max(self.now, now)
        if now < self._next_prune:
            return []
        self._next_prune = now + _PRUNE_EVERY_S
        cfg = self.config
        idle = max(cfg.scan_window_s, cfg.many_ips_window_s, cfg.flood_window_s)
        for mac in [m for m, h in self.hosts.items() if now - h.last > idle]:
            del self.hosts[mac]
        for ip in [i for i, b in self.bindings.items() if now - b.last > cfg.binding_ttl_s]:
            del self.bindings[ip]
        for key in [k for k, t in self._last_emit.items() if now - t > cfg.suppress_s]:
            del self._last_emit[key]
            self._suppressed.pop(key, None)
        return []

    def stats(self) -> dict[str, int]:
        """Table sizes and rule hits (suppressed or not)."""
        return {
            "arp_hosts": len(self.hosts),
            "arp_bindings": len(self.bindings),
            **{f"arp_hits_{k}": v for k, v in self.hits.items()},
        }

    # -- the rules ------------------------------------------------------------------------------
    def _discovery(self, pkt: ArpPacket) -> bool:
        """A request that asks who has an address, not a unicast refresh of a known binding."""
        dst = pkt.eth_dst
        if len(dst) != 6 or dst == _BROADCAST_MAC:
            return True
        bound = self.bindings.get(pkt.target_ip)
        return bound is None or bound.mac != dst

    def _scan(self, host: _Host, pkt: ArpPacket, out: list[AnomalyEvent]) -> None:
        cfg = self.config
        ts = pkt.ts
        targets = host.targets
        _prune(targets, ts - cfg.scan_window_s)
        _put(targets, pkt.target_ip, ts, cfg.scan_min_targets * 4)
        if len(targets) < cfg.scan_min_targets:
            return
        self.hits["arp_scan"] += 1
        folded = self._suppress("arp_scan", (_mac(pkt.sender_mac),), ts)
        if folded is None:
            return
        first = next(iter(targets))
        out.append(
            self._event(
                "arp_scan",
                "scan",
                "medium",
                float(len(targets)),
                float(cfg.scan_min_targets),
                src=pkt.sender_ip,
                dst=None,
                start=targets[first],
                end=ts,
                evidence={
                    "rule": "one sender asks for many distinct IPs (ARP sweep)",
                    "sender_mac": _mac(pkt.sender_mac),
                    "eth_src": _mac(pkt.eth_src),
                    "distinct_targets": len(targets),
                    "first_target": _ip(first),
                    "last_target": _ip(pkt.target_ip),
                    "window_s": cfg.scan_window_s,
                    "suppressed_hits": folded,
                },
            )
        )

    def _claim(
        self, host: _Host, pkt: ArpPacket, gratuitous: bool, out: list[AnomalyEvent]
    ) -> None:
        cfg = self.config
        ts, ip, mac = pkt.ts, pkt.sender_ip, pkt.sender_mac
        b = self.bindings.get(ip)
        if b is None or ts - b.last > cfg.binding_ttl_s:
            _put(self.bindings, ip, _Binding(mac, ts), cfg.max_bindings)
        elif b.mac == mac:
            b.last = ts
            b.claims += 1
        else:
            old = b.mac
            old_last, old_claims = b.last, b.claims
            _put(self.bindings, ip, _Binding(mac, ts), cfg.max_bindings)
            self.hits["arp_spoof"] += 1
            folded = self._suppress("arp_spoof", (_ip(ip), _mac(mac)), ts)
            if folded is not None:
                strong = gratuitous or pkt.op == ARP_REPLY
                out.append(
                    self._event(
                        "arp_spoof",
                        "other",
                        "high" if strong else "medium",
                        1.0,
                        1.0,
                        src=ip,
                        dst=None if gratuitous else pkt.target_ip,
                        start=old_last,
                        end=ts,
                        evidence={
                            "rule": "an IP's MAC changed while its owner was active",
                            "ip": _ip(ip),
                            "old_mac": _mac(old),
                            "new_mac": _mac(mac),
                            "eth_src": _mac(pkt.eth_src),
                            "new_mac_ip": self._own_ip(host, mac, ip),
                            "old_mac_last_seen_s": round(ts - old_last, 3),
                            "old_mac_claims": old_claims,
                            "gratuitous": gratuitous,
                            "op": "reply" if pkt.op == ARP_REPLY else "request",
                            "suppressed_hits": folded,
                        },
                    )
                )
        if pkt.op != ARP_REPLY:
            return
        claimed = host.claimed
        _prune(claimed, ts - cfg.many_ips_window_s)
        _put(claimed, ip, ts, cfg.many_ips_min * 4)
        if len(claimed) < cfg.many_ips_min:
            return
        self.hits["arp_spoof"] += 1
        folded = self._suppress("arp_spoof", (_mac(mac),), ts)
        if folded is None:
            return
        out.append(
            self._event(
                "arp_spoof",
                "other",
                "medium",
                float(len(claimed)),
                float(cfg.many_ips_min),
                src=ip,
                dst=None,
                start=claimed[next(iter(claimed))],
                end=ts,
                evidence={
                    "rule": "one MAC answers for many IPs",
                    "new_mac": _mac(mac),
                    "claimed_ips": len(claimed),
                    "sample_ips": ",".join(_ip(i) for i in list(claimed)[:8]),
                    "window_s": cfg.many_ips_window_s,
                    "suppressed_hits": folded,
                },
            )
        )

    def _own_ip(self, host: _Host, mac: bytes, claimed: bytes) -> str | None:
        """Another IP the claiming MAC holds (the likely attacker's own address), if any."""
        for ip in reversed(list(host.ips)):
            b = self.bindings.get(ip)
            if ip != claimed and b is not None and b.mac == mac:
                return _ip(ip)
        return None

    def _flood(
        self, host: _Host, pkt: ArpPacket, gratuitous: bool, out: list[AnomalyEvent]
    ) -> None:
        cfg = self.config
        ts = pkt.ts
        if ts - host.flood_start >= cfg.flood_window_s:
            host.flood_start, host.flood_garp, host.flood_replies = ts, 0, 0
        host.flood_garp += gratuitous
        host.flood_replies += pkt.op == ARP_REPLY
        if ts - self._total_start >= cfg.flood_window_s:
            self._total_start, self._total = ts, 0
            self._total_macs.clear()
            self._total_targets.clear()
        self._total += 1
        if len(self._total_macs) < cfg.max_hosts:
            self._total_macs.add(pkt.sender_mac)
        # who the replies are sent to: a reply flood aimed at one host names it as the target
        tgt = self._total_targets
        if not gratuitous and (pkt.target_ip in tgt or len(tgt) < _MAX_FLOOD_TARGETS):
            tgt[pkt.target_ip] = tgt.get(pkt.target_ip, 0) + 1
        if (
            host.flood_garp >= cfg.flood_min_gratuitous
            or host.flood_replies >= cfg.flood_min_replies
        ):
            self.hits["arp_flood"] += 1
            folded = self._suppress("arp_flood", (_mac(pkt.sender_mac),), ts)
            if folded is not None:
                garp_rate = host.flood_garp / cfg.flood_min_gratuitous
                reply_rate = host.flood_replies / cfg.flood_min_replies
                out.append(
                    self._event(
                        "arp_flood",
                        "dos",
                        "high",
                        float(max(host.flood_garp, host.flood_replies)),
                        float(
                            cfg.flood_min_gratuitous
                            if garp_rate >= reply_rate
                            else cfg.flood_min_replies
                        ),
                        src=pkt.sender_ip,
                        dst=None if gratuitous or pkt.op != ARP_REPLY else pkt.target_ip,
                        start=host.flood_start,
                        end=ts,
                        evidence={
                            "rule": "one MAC sends gratuitous ARP / replies far above normal",
                            "sender_mac": _mac(pkt.sender_mac),
                            "gratuitous": host.flood_garp,
                            "replies": host.flood_replies,
                            "window_s": cfg.flood_window_s,
                            "suppressed_hits": folded,
                        },
                    )
                )
        if self._total >= cfg.flood_min_total and len(self._total_macs) >= cfg.flood_min_macs:
            self.hits["arp_flood"] += 1
            folded = self._suppress("arp_flood", ("*",), ts)
            if folded is not None:
                top = max(tgt.items(), key=lambda kv: kv[1], default=(None, 0))
                victim = top[0] if top[1] * 2 >= self._total else None  # most frames to one host
                out.append(
                    self._event(
                        "arp_flood",
                        "dos",
                        "high",
                        float(self._total),
                        float(cfg.flood_min_total),
                        src=None,
                        dst=victim,
                        start=self._total_start,
                        end=ts,
                        evidence={
                            "rule": "the segment carries gratuitous ARP / replies far above normal",
                            "frames": self._total,
                            "distinct_macs": len(self._total_macs),
                            "window_s": cfg.flood_window_s,
                            "suppressed_hits": folded,
                        },
                    )
                )

    # -- helpers --------------------------------------------------------------------------------
    def _suppress(self, rule: str, hosts: tuple[str, ...], ts: float) -> int | None:
        """None while (rule, host) is suppressed for any of ``hosts``; else how many hits were
        folded since the last event about any of them (a spoof is about its IP and its MAC:
        the real owner taking its IP back, or the same MAC claiming one more IP, is the same
        incident)."""
        cfg = self.config
        keys = [(rule, h) for h in hosts]
        if any(ts - self._last_emit.get(k, -math.inf) < cfg.suppress_s for k in keys):
            folded = self._suppressed
            for k in keys:
                folded[k] = folded.get(k, 0) + 1
            if len(folded) > 2 * cfg.max_suppressed:  # keys _last_emit let go of
                self._suppressed = {k: v for k, v in folded.items() if k in self._last_emit}
            return None
        for k in keys:
            _put(self._last_emit, k, ts, cfg.max_suppressed)
        return max(self._suppressed.pop(k, 0) for k in keys)

    def _event(
        self,
        rule_id: str,
        family: AttackFamily,
        severity: Severity,
        score: float,
        threshold: float,
        *,
        src: bytes | None,
        dst: bytes | None,
        start: float,
        end: float,
        evidence: dict[str, EvidenceValue],
    ) -> AnomalyEvent:
        return AnomalyEvent(
            node_id=self.node_id,
            detector="rules",
            rule_id=rule_id,
            family=family,
            score=score,
            threshold=threshold,
            severity=severity,
            src_ip=_ip(src) if src is not None and src != _ZERO_IP else None,
            dst_ip=_ip(dst) if dst is not None and dst != _ZERO_IP else None,
            window_start=min(start, end),
            window_end=end,
            evidence=evidence,
        )
