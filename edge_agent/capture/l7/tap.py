"""The per-flow extractor: looks at the first payload packets, then steps aside."""

from __future__ import annotations

import struct
from collections.abc import Callable
from typing import NamedTuple, Protocol

from contracts.flowmeta import DnsMeta, HttpMeta, SshMeta, TlsMeta
from edge_agent.capture.l7 import L7Stats, dns, http, ssh, tls
from edge_agent.capture.l7.ja4 import highest_version, ja4
from edge_agent.capture.l7.text import Malformed, clean
from edge_agent.capture.packet import TCP, UDP, Packet

MAX_PAYLOAD_PACKETS = 8
"""Payload packets (both directions together) a tap reads before it gives up."""
MAX_BUFFER = tls.MAX_HELLO + 1024
"""Bytes of one direction kept to reassemble a ClientHello, a request or a DNS/TCP message."""
_u16 = struct.Struct("!H").unpack_from
UNKNOWN, DNS_UDP, DNS_TCP, TLS, HTTP, SSH, DONE = range(7)
_NAMES = ("unknown", "dns", "dns", "tls", "http", "ssh", "none")
_TLS_NAMES = {0x0304: "TLS 1.3", 0x0303: "TLS 1.2", 0x0302: "TLS 1.1", 0x0301: "TLSv1"}
_TLS_NAMES |= {0x0300: "SSLv3", 0x0002: "SSLv2"}  # Suricata's names (EVE tls.version)
Meta = DnsMeta | TlsMeta | HttpMeta | SshMeta


class Extractors(NamedTuple):
    """The protocol parsers a :class:`Tap` calls, one field each: :data:`SHIPPED` (the
    functions below) unless a :class:`Starter` is given others. The benchmark
    (``benchmarks.edge_replay``) passes wrappers around the shipped ones to record what each
    one is handed on a replay and time each separately."""

    dns: Callable[[bytes], tuple[bool, DnsMeta, str | None]] = dns.parse
    """A DNS message (UDP payload, or a TCP one without its length)."""
    tls_hello: Callable[[bytes], bytes | None] = tls.hello_bytes
    """The ClientHello handshake message out of the client's records (None: not whole yet)."""
    tls_parse: Callable[[bytes], tls.ClientHello] = tls.parse_hello
    ja4: Callable[[tls.ClientHello], str] = ja4
    http: Callable[[bytes], HttpMeta] = http.parse
    ssh: Callable[[bytes], str] = ssh.banner
    """One side's identification line."""


SHIPPED = Extractors()


def wants(proto: int, sport: int, dport: int) -> bool:
    """Whether a flow of this kind gets a tap: every TCP flow, UDP only to or from port 53."""
    return proto == TCP or (proto == UDP and (sport == 53 or dport == 53))


class _Flow(Protocol):
    proto: int
    sport: int
    dport: int
    tap: Tap | None
    l7: Tap | Starter | None


class Starter:
    """Stands in for a tap on every new flow of a table until the flow's first payload
    packet, which gets the flow its own :class:`Tap` (flows without payload cost nothing)."""

    __slots__ = ("ex", "stats")

    def __init__(self, stats: L7Stats, ex: Extractors = SHIPPED) -> None:
        self.stats = stats
        self.ex = ex

    def feed(self, pkt: Packet, fwd: bool, flow: _Flow) -> bool:
        if len(pkt.data) <= pkt.poff:  # a headers-only capture (small snaplen)
            self.stats.skip("payload_not_captured")
            return True
        tap = Tap(self.stats, flow.proto, flow.sport, flow.dport, self.ex)
        flow.tap = flow.l7 = tap
        return tap.feed(pkt, fwd, flow)


class Tap:
    __slots__ = ("buf", "bufb", "ex", "kind", "meta", "query", "seen", "ssh_c", "ssh_s", "stats")

    def __init__(
        self, stats: L7Stats, proto: int, sport: int, dport: int, ex: Extractors = SHIPPED
    ) -> None:
        self.stats = stats
        self.ex = ex
        dns_port = sport == 53 or dport == 53
        self.kind = (DNS_UDP if proto == UDP else DNS_TCP) if dns_port else UNKNOWN
        self.seen = 0
        self.buf = self.bufb = b""
        self.meta: Meta | None = None
        self.query: DnsMeta | None = None
        self.ssh_c: str | None = None
        self.ssh_s: str | None = None

    def feed(self, pkt: Packet, fwd: bool, flow: _Flow | None = None) -> bool:
        """One payload packet (``fwd``: from the flow's first sender); True when done."""
        self.seen += 1
        chunk = pkt.data[pkt.poff : pkt.poff + pkt.payload]
        try:
            if chunk and self._feed(chunk, fwd, len(chunk) < pkt.payload):
                return True
        except Malformed as exc:
            self.stats.skip(exc.reason)
            self.kind = DONE
            return True
        except (IndexError, ValueError, struct.error):  # a parser bug must not stop the agent
            self.stats.skip(f"{_NAMES[self.kind]}_error")
            self.kind = DONE
            return True
        if self.seen >= MAX_PAYLOAD_PACKETS:
            self._give_up()
            return True
        return False

    def _feed(self, chunk: bytes, fwd: bool, cut: bool) -> bool:
        kind = self.kind
        if kind == UNKNOWN:
            if chunk.startswith(ssh.PREFIX):
                kind = SSH
            elif not fwd:
                return False  # the server spoke first: wait for the client
            elif chunk[0] == tls.HANDSHAKE and chunk[1:2] == b"\x03":
                kind = TLS
            elif http.looks_like(chunk):
                kind = HTTP
            else:
                self.kind = DONE
                return True
            self.kind = kind
        if kind == TLS:
            return fwd and self._tls(chunk, cut)
        if kind == DNS_UDP:
            return self._dns(chunk)
        if kind == DNS_TCP:
            return self._dns_tcp(chunk, fwd)
        if kind == HTTP:
            return fwd and self._http(chunk)
        if kind == SSH:
            return self._ssh(chunk, fwd)
        return True

    def _more(self, chunk: bytes, cut: bool) -> bytes:
        if cut:
            raise Malformed(f"{_NAMES[self.kind]}_snaplen")  # a hole in the stream
        buf = self.buf + chunk if self.buf else chunk
        if len(buf) > MAX_BUFFER:
            raise Malformed(f"{_NAMES[self.kind]}_too_long")
        return buf

    def _tls(self, chunk: bytes, cut: bool) -> bool:
        buf = self._more(chunk, cut)
        ex = self.ex
        msg = ex.tls_hello(buf)
        if msg is None:
            self.buf = buf
            return False
        h = ex.tls_parse(msg)
        v = highest_version(h)
        self.meta = TlsMeta.model_construct(
            sni=h.sni,
            version=_TLS_NAMES.get(v) or f"0x{v:04x}",
            alpn=[clean(a, 253) for a in h.alpn],
            ja4=ex.ja4(h),
        )
        self.kind = DONE
        return True

    def _http(self, chunk: bytes) -> bool:
        buf = self._more(chunk, False)
        try:
            self.meta = self.ex.http(buf)
        except Malformed as exc:
            if exc.reason != "http_truncated" or len(buf) >= http.MAX_HEAD:
                raise
            self.buf = buf
            return False
        self.kind = DONE
        return True

    def _ssh(self, chunk: bytes, fwd: bool) -> bool:
        if fwd and self.ssh_c is None:
            self.ssh_c = self.ex.ssh(chunk)
        elif not fwd and self.ssh_s is None:
            self.ssh_s = self.ex.ssh(chunk)
        if self.ssh_c is not None and self.ssh_s is not None:
            self.kind = DONE
            return True
        return False

    def _dns(self, msg: bytes) -> bool:
        response, meta, short = self.ex.dns(msg)
        if short is not None:
            self.stats.skip(short)
        if not response:
            if self.query is None:
                self.query = meta
            return False
        self.meta = meta
        self.kind = DONE
        return True

    def _dns_tcp(self, chunk: bytes, fwd: bool) -> bool:
        buf = (self.buf if fwd else self.bufb) + chunk
        if len(buf) > MAX_BUFFER:
            raise Malformed("dns_too_long")
        if len(buf) < 2 or len(buf) < 2 + _u16(buf, 0)[0]:
            if fwd:
                self.buf = buf
            else:
                self.bufb = buf
            return False
        if fwd:
            self.buf = b""
        else:
            self.bufb = b""
        return self._dns(buf[2 : 2 + _u16(buf, 0)[0]])

    def _give_up(self) -> None:
        if self.kind in (TLS, HTTP) and self.meta is None:
            self.stats.skip(f"{_NAMES[self.kind]}_incomplete")
        self.buf = self.bufb = b""

    def result(self) -> tuple[str, Meta] | None:
        """What the tap found, as (FlowRecord field, value); counts it in the stats."""
        meta: Meta | None = self.meta
        name = "dns" if self.query is not None or isinstance(meta, DnsMeta) else ""
        if meta is None and self.query is not None:
            meta = self.query
        if meta is None and (self.ssh_c is not None or self.ssh_s is not None):
            meta = SshMeta.model_construct(client=self.ssh_c, server=self.ssh_s)
        if meta is None:
            return None
        name = name or {TlsMeta: "tls", HttpMeta: "http", SshMeta: "ssh"}[type(meta)]
        self.stats.parsed[name] += 1
        return name, meta
