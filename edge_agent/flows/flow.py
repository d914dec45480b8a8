"""One bidirectional flow with incremental (Welford) statistics: no per-packet lists."""

from __future__ import annotations

import math

from edge_agent.capture.l7.tap import Starter, Tap
from edge_agent.capture.packet import ACK, CWR, ECE, FIN, PSH, RST, SYN, TCP, UDP, URG, Packet
from edge_agent.flows.hosts import HostWindow

WELL_KNOWN = 1024


class Stat:
    """Running count, mean, variance, min and max (Welford)."""

    __slots__ = ("m2", "max", "mean", "min", "n")

    def __init__(self) -> None:
        self.n = 0
        self.mean = self.m2 = 0.0
        self.min = math.inf
        self.max = 0.0

    def add(self, x: float) -> None:
        self.n += 1
        d = x - self.mean
        self.mean += d / self.n
        self.m2 += d * (x - self.mean)
        if x < self.min:  # noqa: PLR1730 - ifs are cheaper than min()/max() on the hot path
            self.min = x
        if x > self.max:  # noqa: PLR1730
            self.max = x

    def std(self) -> float:
        return math.sqrt(max(self.m2, 0.0) / self.n) if self.n > 1 else 0.0

    def lo(self) -> float:
        return self.min if self.n else 0.0


class Flow:
    __slots__ = (
        "ack",
        "bwd_hdr",
        "bwd_iat",
        "bwd_len",
        "community_id",
        "dport",
        "dst",
        "dst_win",
        "ece_cwr",
        "fin",
        "fin_bwd",
        "fin_fwd",
        "first_ts",
        "fwd_hdr",
        "fwd_iat",
        "fwd_len",
        "fwd_payload",
        "host_snapshot",
        "iat",
        "init_bwd_win",
        "init_fwd_win",
        "key",
        "l7",
        "label",
        "last_bwd",
        "last_fwd",
        "last_ts",
        "proto",
        "psh",
        "rst",
        "sport",
        "src",
        "src_win",
        "syn",
        "tag",
        "tap",
        "urg",
    )

    def __init__(
        self,
        key: tuple[bytes, bytes, int, int, int],
        pkt: Packet,
        src_win: HostWindow,
        dst_win: HostWindow,
    ) -> None:
        self.key = key
        self.src, self.dst, self.sport, self.dport, self.proto = (
            pkt.src,
            pkt.dst,
            pkt.sport,
            pkt.dport,
            pkt.proto,
        )
        self.first_ts = self.last_ts = pkt.ts
        self.last_fwd = self.last_bwd = -1.0
        self.fwd_len, self.bwd_len, self.iat, self.fwd_iat, self.bwd_iat = (
            Stat(),
            Stat(),
            Stat(),
            Stat(),
            Stat(),
        )
        self.fin = self.syn = self.rst = self.psh = self.ack = self.urg = self.ece_cwr = 0
        self.fwd_hdr = self.bwd_hdr = self.fwd_payload = 0
        self.init_fwd_win = self.init_bwd_win = -1
        self.fin_fwd = self.fin_bwd = False
        self.label: str | None = None
        self.tag = -1
        """Free for the pipeline's consumers (the replay benchmark numbers flows with it)."""
        self.src_win, self.dst_win = src_win, dst_win
        self.community_id: str | None = None
        self.tap: Tap | None = None
        """The L7 metadata extractor (kept for the record once done)."""
        self.l7: Tap | Starter | None = None
        """The same, while it still reads payload packets (None after: no cost per packet)."""
        self.host_snapshot = (
            src_win.fanout(),
            src_win.distinct_ports(),
            src_win.syn_ratio(),
            src_win.nflows(),
            dst_win.fanout(),
            dst_win.nflows(),
        )

    def add(self, pkt: Packet) -> bool:
        """Account one packet; True when the flow has ended (RST, or FIN from both sides)."""
        ts = pkt.ts
        last = self.last_ts
        if self.fwd_len.n or self.bwd_len.n:
            gap = ts - last
            self.iat.add(gap if gap > 0.0 else 0.0)  # max(0.0, gap), without the call
        # captures can be slightly out of order: a flow never ends before it starts
        if ts > last:  # cheaper than max() on the hot path
            self.last_ts = ts
        fwd = pkt.src == self.src and pkt.sport == self.sport
        if fwd:
            if self.last_fwd >= 0:
                gap = ts - self.last_fwd
                self.fwd_iat.add(gap if gap > 0.0 else 0.0)
            self.last_fwd = ts
            self.fwd_len.add(pkt.length)
            self.fwd_hdr += pkt.hdr_len
            if pkt.payload:
                self.fwd_payload += 1
                if self.l7 is not None and self.l7.feed(pkt, True, self):
                    self.l7 = None
        else:
            if self.last_bwd >= 0:
                gap = ts - self.last_bwd
                self.bwd_iat.add(gap if gap > 0.0 else 0.0)
            self.last_bwd = ts
            self.bwd_len.add(pkt.length)
            self.bwd_hdr += pkt.hdr_len
            if pkt.payload and self.l7 is not None and self.l7.feed(pkt, False, self):
                self.l7 = None
        if (pkt.label is not None and pkt.label != "benign") or self.label is None:
            self.label = pkt.label
        if self.proto != TCP:
            return False
        f = pkt.flags
        if fwd:
            if self.init_fwd_win < 0:
                self.init_fwd_win = pkt.window
        elif self.init_bwd_win < 0:
            self.init_bwd_win = pkt.window
        if f & SYN:
            self.syn += 1
        if f & ACK:
            self.ack += 1
        if f & PSH:
            self.psh += 1
        if f & URG:
            self.urg += 1
        if f & (ECE | CWR):
            self.ece_cwr += 1
        if f & RST:
            self.rst += 1
            return True
        if f & FIN:
            self.fin += 1
            if fwd:
                self.fin_fwd = True
            else:
                self.fin_bwd = True
            return self.fin_fwd and self.fin_bwd
        return False

    def host_features(self) -> tuple[float, ...]:
        """The host window values: the larger of those at flow start and at its last packet
        (when the windows still cover it)."""
        s, d, snap = self.src_win, self.dst_win, self.host_snapshot
        last = self.last_ts
        if s.start <= last:
            a, b, c, e = s.fanout(), s.distinct_ports(), s.syn_ratio(), s.nflows()
            src = (
                snap[0] if snap[0] >= a else a,  # max(), the first of equals (as max() does)
                snap[1] if snap[1] >= b else b,
                snap[2] if snap[2] >= c else c,
                snap[3] if snap[3] >= e else e,
            )
        else:
            src = snap[:4]
        if d.start <= last:
            a, b = d.fanout(), d.nflows()
            return (*src, snap[4] if snap[4] >= a else a, snap[5] if snap[5] >= b else b)
        return (*src, *snap[4:])

    def features(self) -> list[float]:
        """The vector in ``contracts.FLOW_FEATURES`` order."""
        fl, bl = self.fwd_len, self.bwd_len
        dur = max(0.0, self.last_ts - self.first_ts)
        rate_dur = dur if dur > 1e-6 else 1e-6
        npk = fl.n + bl.n
        fwd_b, bwd_b = fl.mean * fl.n, bl.mean * bl.n
        sfan, sports, sratio, sflows, dfan, dflows = self.host_features()
        return [
            dur,
            float(fl.n),
            float(bl.n),
            fwd_b,
            bwd_b,
            float(fl.lo()),
            float(fl.max),
            fl.mean,
            fl.std(),
            float(bl.lo()),
            float(bl.max),
            bl.mean,
            bl.std(),
            (fwd_b + bwd_b) / npk if npk else 0.0,
            bl.n / fl.n if fl.n else 0.0,
            (fwd_b + bwd_b) / rate_dur if dur > 1e-6 else 0.0,
            npk / rate_dur if dur > 1e-6 else 0.0,
            fl.n / rate_dur if dur > 1e-6 else 0.0,
            bl.n / rate_dur if dur > 1e-6 else 0.0,
            self.iat.mean,
            self.iat.std(),
            float(self.iat.lo()),
            float(self.iat.max),
            self.fwd_iat.mean,
            self.fwd_iat.std(),
            self.bwd_iat.mean,
            self.bwd_iat.std(),
            float(self.fin),
            float(self.syn),
            float(self.rst),
            float(self.psh),
            float(self.ack),
            float(self.urg),
            float(self.ece_cwr),
            float(self.fwd_hdr),
            float(self.bwd_hdr),
            float(max(self.init_fwd_win, 0)),
            float(max(self.init_bwd_win, 0)),
            float(self.fwd_payload),
            1.0 if self.proto == TCP else 0.0,
            1.0 if self.proto == UDP else 0.0,
            1.0 if self.proto in (1, 58) else 0.0,
            1.0 if (self.proto in (TCP, UDP) and self.dport < WELL_KNOWN) else 0.0,
            float(sfan),
            float(sports),
            float(sratio),
            float(sflows),
            float(dfan),
            float(dflows),
        ]
