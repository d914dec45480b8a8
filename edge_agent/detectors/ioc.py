"""Threat-intel matching on the sensor: every finished flow against the signed indicator bundle.

:class:`IocMatcher` is built once per bundle (:mod:`contracts.indicators`) into structures
that answer in a few dictionary look-ups, whatever the bundle's size:

- addresses: one dict per IP version, by address integer (a hit is the indicator's own
  canonical string, as before); JA4 fingerprints: one dict by string;
- CIDRs: one dict per prefix length (network integer -> indicator), tried longest first;
- domains: one dict of names; a name is looked up, then each parent suffix label by label,
  so ``evil.com`` matches ``evil.com`` and ``a.b.evil.com`` but never ``notevil.com``.

Each entry is a key and a shared :data:`Profile` (what the indicator says), built one
indicator at a time as the verified bundle streams.

A flow is matched on its source and destination addresses, its DNS query name and answers
(A/AAAA as addresses, CNAME as names), its TLS SNI and JA4, and its HTTP Host. Expired
indicators never match. :class:`IocDetector` turns the best hit of a flow into an
:class:`~contracts.events.AnomalyEvent` (detector ``ioc``), at most one per indicator and
host pair, and ``max_per_indicator`` per indicator, per ``suppress_s``;
:meth:`IocDetector.install` swaps the matcher atomically.
"""

from __future__ import annotations

import ipaddress
import socket
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Final, NamedTuple

from contracts.attack import FAMILY_TECHNIQUES, merge
from contracts.events import AnomalyEvent, FlowRecord, Severity
from contracts.indicators import Indicator, IndicatorBundle

MAX_SUPPRESS_KEYS = 100_000
_EXPIRES: Final = 2

Profile = tuple[str, int, float, str, str, tuple[str, ...]]
"""What an indicator says beyond its value: (sources comma-separated, confidence, expires_at,
tag, family, techniques). A plain tuple of plain values, shared by every indicator that says the
same (a feed's indicators mostly do): the match tables hold per indicator only its key (an
address as an int, a name or JA4 as its string) and a reference to its profile, so a 100k bundle
costs a few MB and no garbage-collection time (one tuple of eight fields per indicator cost
about 25 MB; 100k pydantic models over 100 MB)."""


class Match(NamedTuple):
    """An indicator that matched (built from its table key and :data:`Profile` only on a hit)."""

    type: str
    value: str
    sources: str
    """The feeds that named it, comma-separated."""
    confidence: int
    expires_at: float
    tag: str
    family: str
    techniques: tuple[str, ...]


def severity_of(confidence: int) -> Severity:
    """An indicator's confidence (0-100) as the severity of its hits."""
    if confidence >= 70:
        return "high"
    if confidence >= 30:
        return "medium"
    return "low"


@dataclass(frozen=True, slots=True)
class Hit:
    indicator: Match
    field: str
    """Where in the flow: ``src_ip``, ``dst_ip``, ``dns_query``, ``dns_answer``, ``tls_sni``,
    ``tls_ja4``, ``http_host``."""
    observed: str


def _ip_str(version: int, n: int) -> str:
    """The canonical string of an address integer (what :func:`contracts.indicators.normalize`
    makes of it: dotted quad, as ``inet_ntop`` writes it; IPv6 as ``ipaddress`` does, which
    differs from ``inet_ntop`` for IPv4-mapped addresses)."""
    if version == 4:
        return socket.inet_ntop(socket.AF_INET, n.to_bytes(4, "big"))
    return str(ipaddress.IPv6Address(n))


def _ip_int(ip: str) -> tuple[int, int] | None:
    """``(version, integer)`` of an address string, None if it is not one."""
    try:
        if ":" in ip:
            return 6, int.from_bytes(socket.inet_pton(socket.AF_INET6, ip), "big")
        return 4, int.from_bytes(socket.inet_pton(socket.AF_INET, ip), "big")
    except OSError:
        return None


class IocMatcher:
    """The look-up structures of one bundle (immutable once built)."""

    def __init__(self, bundle: IndicatorBundle | None = None) -> None:
        self.version = bundle.version if bundle is not None else 0
        self.ips: dict[int, dict[int, Profile]] = {4: {}, 6: {}}
        """version -> address integer -> profile (exact addresses)."""
        self.ja4: dict[str, Profile] = {}
        self.domains: dict[str, Profile] = {}
        self.nets: dict[int, dict[int, dict[int, Profile]]] = {4: {}, 6: {}}
        """version -> prefix length -> network integer -> profile."""
        self._plens: dict[int, list[int]] = {4: [], 6: []}
        self.size = 0
        if bundle is not None:
            self._fill(bundle.indicators)

    @classmethod
    def build(cls, version: int, indicators: Iterable[Indicator]) -> IocMatcher:
        """The matcher of a streamed bundle (:meth:`contracts.indicator_wire.VerifiedBundle.
        indicators`): no indicator model is kept, each one goes into the tables as it comes."""
        m = cls()
        m.version = version
        m._fill(indicators)
        return m

    def _fill(self, indicators: Iterable[Indicator]) -> None:
        profiles: dict[Profile, Profile] = {}
        for ind in indicators:
            profile: Profile = (
                ",".join(ind.sources),
                ind.confidence,
                ind.expires_at,
                ind.tag,
                ind.family,
                tuple(ind.techniques),
            )
            profile = profiles.setdefault(profile, profile)
            kind = ind.type
            if kind == "ja4":
                self.ja4[ind.value] = profile
            elif kind == "domain":
                self.domains[ind.value] = profile
            elif kind == "cidr":
                addr, plen = ind.value.split("/")
                got = _ip_int(addr)
                if got is not None:
                    bits, p = (32 if got[0] == 4 else 128), int(plen)
                    self.nets[got[0]].setdefault(p, {})[got[1] >> (bits - p)] = profile
            else:  # ipv4, ipv6: canonical, so one string per integer
                got = _ip_int(ind.value)
                if got is not None:
                    self.ips[got[0]][got[1]] = profile
        self._plens = {v: sorted(d, reverse=True) for v, d in self.nets.items()}
        self.size = len(self.ips[4]) + len(self.ips[6]) + len(self.ja4) + len(self.domains)
        self.size += sum(len(n) for d in self.nets.values() for n in d.values())

    def match_ip(self, ip: str, now: float) -> Match | None:
        got = _ip_int(ip)
        if got is None:
            return None
        version, n = got
        p = self.ips[version].get(n)
        if p is not None and p[_EXPIRES] > now:
            value = _ip_str(version, n)
            if value == ip:  # the indicator's canonical string, as matched before
                return Match(f"ipv{version}", value, *p)
        bits, nets = (32 if version == 4 else 128), self.nets[version]
        for plen in self._plens[version]:
            p = nets[plen].get(n >> (bits - plen))
            if p is not None and p[_EXPIRES] > now:
                net = n >> (bits - plen) << (bits - plen)
                return Match("cidr", str(ipaddress.ip_network((net, plen))), *p)
        return None

    def match_domain(self, name: str, now: float) -> Match | None:
        if not self.domains:
            return None
        d = name.lower().rstrip(".")
        while True:
            p = self.domains.get(d)
            if p is not None and p[_EXPIRES] > now:
                return Match("domain", d, *p)
            dot = d.find(".")
            if dot < 0:
                return None
            d = d[dot + 1 :]

    def match_ja4(self, ja4: str, now: float) -> Match | None:
        p = self.ja4.get(ja4)
        return Match("ja4", ja4, *p) if p is not None and p[_EXPIRES] > now else None

    def match_flow(self, flow: FlowRecord, now: float) -> list[Hit]:
        """Every indicator the flow touches (usually none)."""
        return list(self._hits(flow, now))

    def _hits(self, flow: FlowRecord, now: float) -> Iterator[Hit]:
        for fld, ip in (("src_ip", flow.src_ip), ("dst_ip", flow.dst_ip)):
            ind = self.match_ip(ip, now)
            if ind is not None:
                yield Hit(ind, fld, ip)
        dns = getattr(flow, "dns", None)
        if dns is not None:
            ind = self.match_domain(dns.rrname, now)
            if ind is not None:
                yield Hit(ind, "dns_query", dns.rrname)
            for ans in dns.answers:
                by_ip = ans.rrtype in ("A", "AAAA")
                ind = self.match_ip(ans.rdata, now) if by_ip else self.match_domain(ans.rdata, now)
                if ind is not None:
                    yield Hit(ind, "dns_answer", ans.rdata)
        tls = getattr(flow, "tls", None)
        if tls is not None:
            if tls.sni:
                ind = self.match_domain(tls.sni, now)
                if ind is not None:
                    yield Hit(ind, "tls_sni", tls.sni)
            ind = self.match_ja4(tls.ja4, now) if self.ja4 else None
            if ind is not None:
                yield Hit(ind, "tls_ja4", tls.ja4)
        http = getattr(flow, "http", None)
        host = getattr(http, "hostname", None) if http is not None else None
        if host:
            yield from self._host_hit(host, now)

    def _host_hit(self, host: str, now: float) -> Iterator[Hit]:
        if host.startswith("["):  # [v6]:port
            name = host[1 : host.find("]")] if "]" in host else host[1:]
        elif host.count(":") == 1:  # name:port or v4:port
            name = host.partition(":")[0]
        else:  # a bare name, or a bare IPv6 address
            name = host
        ind = self.match_ip(name, now) if _ip_int(name) else self.match_domain(name, now)
        if ind is not None:
            yield Hit(ind, "http_host", host)


class IocDetector:
    """A pipeline :class:`~edge_agent.detectors.base.Detector` over the installed matcher."""

    name = "ioc"

    def __init__(
        self,
        matcher: IocMatcher | None = None,
        suppress_s: float = 60.0,
        clock: Callable[[], float] = time.time,
        max_per_indicator: int = 20,
    ) -> None:
        self.matcher = matcher or IocMatcher()
        self.suppress_s = suppress_s
        self.max_per_indicator = max_per_indicator
        """Events per indicator per ``suppress_s`` (a flood from spoofed sources to a listed
        address is a handful of events, not one per source); the rest are counted."""
        self._per_indicator: dict[str, list[float]] = {}
        self.clock = clock
        """Indicator expiry is wall-clock time (a replayed old capture still matches today's)."""
        self.hits = 0
        self.suppressed = 0
        self._last: dict[tuple[str, str, str], float] = {}

    @property
    def bundle_version(self) -> int:
        return self.matcher.version

    def install(self, matcher: IocMatcher) -> None:
        """Swap the matcher (one reference assignment: a flow sees the old or the new one)."""
        self.matcher = matcher

    def on_flow(self, flow: FlowRecord) -> list[AnomalyEvent]:
        m = self.matcher
        if not m.size:
            return []
        hits = m.match_flow(flow, self.clock())
        if not hits:
            return []
        self.hits += 1
        best = max(hits, key=lambda h: h.indicator.confidence)
        ind = best.indicator
        key = (ind.value, flow.src_ip, flow.dst_ip)
        last = self._last.get(key)
        if last is not None and abs(flow.end_ts - last) < self.suppress_s:
            self.suppressed += 1
            return []
        window = self._per_indicator.get(ind.value)
        if window is None or abs(flow.end_ts - window[0]) >= self.suppress_s:
            window = [flow.end_ts, 0.0]
        if window[1] >= self.max_per_indicator:
            self.suppressed += 1
            return []
        window[1] += 1
        if len(self._last) >= MAX_SUPPRESS_KEYS or len(self._per_indicator) >= MAX_SUPPRESS_KEYS:
            self._last.clear()
            self._per_indicator.clear()
        self._per_indicator[ind.value] = window
        self._last[key] = flow.end_ts
        return [self._event(flow, best, len(hits), m.version)]

    def _event(self, flow: FlowRecord, hit: Hit, n: int, version: int) -> AnomalyEvent:
        ind = hit.indicator
        return AnomalyEvent.about_flow(
            flow,
            detector="ioc",
            rule_id=f"ioc_{ind.type}",
            score=ind.confidence / 100.0,
            threshold=0.0,
            severity=severity_of(ind.confidence),
            family=ind.family,  # type: ignore[arg-type]
            techniques=merge(ind.techniques, FAMILY_TECHNIQUES.get(ind.family, ())),
            evidence={
                "indicator": ind.value,
                "indicator_type": ind.type,
                "matched": hit.field,
                "observed": hit.observed[:253],
                "sources": ind.sources,
                "confidence": ind.confidence,
                "tag": ind.tag,
                "expires_at": ind.expires_at,
                "bundle_version": version,
                "matches": n,
                "dst_port": flow.dst_port,
                "proto": flow.proto,
            },
        )

    def on_tick(self, now: float) -> list[AnomalyEvent]:
        return []
