"""A seeded traffic simulator: benign background plus labelled attack scenarios.

It generates real Ethernet/IPv4 frame bytes (headers; the wire length says how long the
frame was), so simulated traffic takes the very same parser and flow path as a capture.
Every packet carries its ground-truth label; infections in ``mirai_scan_spread`` are
recorded in :attr:`Simulation.infections` as ``(time, attacker, victim)``.

Spec: ``sim:SCENARIO?seed=7&hosts=20&duration=300&net=10.0.0&start=1700000000&speed=0``
"""

from __future__ import annotations

import heapq
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from edge_agent.capture.errors import CaptureError
from edge_agent.capture.frames import Frame, addr, tcp_frame, udp_frame
from edge_agent.capture.packet import (
    ACK,
    FIN,
    LT_ETHERNET,
    PSH,
    RST,
    SYN,
    ArpPacket,
    Packet,
    ParseStats,
    parse_frame,
)

ATTACKS = (
    "syn_flood",
    "udp_flood",
    "port_scan_horizontal",
    "port_scan_vertical",
    "ssh_bruteforce",
    "telnet_bruteforce",
    "mirai_scan_spread",
    "dns_amplification",
    "slowloris",
    "cnc_beaconing",
)
SCENARIOS = ("benign", "mixed", "demo", *ATTACKS)
SCENARIO_FAMILY: dict[str, str] = {
    "benign": "benign",
    "syn_flood": "dos",
    "udp_flood": "dos",
    "dns_amplification": "dos",
    "slowloris": "dos",
    "port_scan_horizontal": "scan",
    "port_scan_vertical": "scan",
    "ssh_bruteforce": "bruteforce",
    "telnet_bruteforce": "bruteforce",
    "mirai_scan_spread": "botnet",
    "cnc_beaconing": "botnet",
}
"""The attack family of each label the simulator puts on its flows (the one source of it)."""
LAN_OCTETS = tuple(i for i in range(10, 255) if i != 53)
"""Last octets of the simulated hosts (.2 web, .3 MQTT broker and .53 DNS are servers)."""


@dataclass
class SimConfig:
    scenario: str = "mixed"
    seed: int = 7
    hosts: int = 20
    duration: float = 300.0
    net: str = "10.0.0"
    start: float = 1_700_000_000.0
    speed: float = 0.0
    """0 = as fast as possible; 1 = real time (timestamps then start at the current time)."""
    intensity: float = 1.0
    """Scales attack packet rates (floods are capped for small machines)."""


@dataclass
class Simulation:
    config: SimConfig
    frames: list[Frame] = field(default_factory=list)
    infections: list[tuple[float, str, str]] = field(default_factory=list)
    attack_windows: list[tuple[str, float, float]] = field(default_factory=list)


class _Gen:
    """Frame generators for one simulated network."""

    def __init__(self, cfg: SimConfig) -> None:
        self.cfg = cfg
        self.rng = random.Random(cfg.seed)
        self.out: list[Frame] = []
        self.lan = [f"{cfg.net}.{i}" for i in LAN_OCTETS[: cfg.hosts]]
        self.web = f"{cfg.net}.2"
        self.dns = f"{cfg.net}.53"
        self.broker = f"{cfg.net}.3"
        self.internet = [f"203.0.113.{i}" for i in range(1, 60)] + [
            f"198.51.100.{i}" for i in range(1, 60)
        ]
        self.infections: list[tuple[float, str, str]] = []

    def eport(self) -> int:
        return self.rng.randint(32768, 60999)

    # -- building blocks ---------------------------------------------------------------
    def tcp_session(
        self,
        t: float,
        c: str,
        s: str,
        dport: int,
        exchanges: int,
        label: str,
        req: int = 300,
        resp: int = 1200,
        rtt: float = 0.02,
        gap: float = 0.05,
        close: bool = True,
        sport: int | None = None,
    ) -> float:
        r, cs, ss = self.rng, addr(c), addr(s)
        sp = sport or self.eport()
        o = self.out
        o.append(tcp_frame(t, cs, ss, sp, dport, SYN, label=label))
        o.append(tcp_frame(t + rtt / 2, ss, cs, dport, sp, SYN | ACK, window=65160, label=label))
        t += rtt
        o.append(tcp_frame(t, cs, ss, sp, dport, ACK, label=label))
        for _ in range(exchanges):
            t += gap * r.uniform(0.5, 1.5)
            o.append(
                tcp_frame(
                    t,
                    cs,
                    ss,
                    sp,
                    dport,
                    PSH | ACK,
                    payload=int(req * r.uniform(0.7, 1.3)),
                    label=label,
                )
            )
            t += rtt * r.uniform(0.8, 1.5)
            o.append(
                tcp_frame(
                    t,
                    ss,
                    cs,
                    dport,
                    sp,
                    PSH | ACK,
                    payload=int(resp * r.uniform(0.5, 1.5)),
                    label=label,
                )
            )
        if close:
            t += 0.01
            o.append(tcp_frame(t, cs, ss, sp, dport, FIN | ACK, label=label))
            o.append(tcp_frame(t + rtt / 2, ss, cs, dport, sp, FIN | ACK, label=label))
            o.append(tcp_frame(t + rtt, cs, ss, sp, dport, ACK, label=label))
        return t + rtt

    def udp_exchange(
        self, t: float, c: str, s: str, dport: int, req: int, resp: int, label: str
    ) -> None:
        sp = self.eport()
        self.out.append(udp_frame(t, addr(c), addr(s), sp, dport, req, label=label))
        self.out.append(
            udp_frame(
                t + self.rng.uniform(0.001, 0.03), addr(s), addr(c), dport, sp, resp, label=label
            )
        )

    # -- benign ------------------------------------------------------------------------
    def benign(self, t0: float, t1: float) -> None:
        r = self.rng
        for i, h in enumerate(self.lan):
            iot = i % 3 == 0
            # DNS + web browsing (workstations) or cloud TLS (IoT)
            t = t0 + r.uniform(0, 10)
            while t < t1:
                self.udp_exchange(
                    t, h, self.dns, 53, r.randint(30, 60), r.randint(60, 200), "benign"
                )
                dst = (
                    r.choice(self.internet[:20])
                    if iot
                    else r.choice([self.web, *self.internet[:40]])
                )
                self.tcp_session(
                    t + 0.05,
                    h,
                    dst,
                    443,
                    r.randint(1, 4 if iot else 12),
                    "benign",
                    req=r.randint(100, 600),
                    resp=r.randint(200, 1400) if iot else r.randint(500, 1460),
                )
                t += r.expovariate(1 / (30.0 if iot else 8.0))
            # NTP
            t = t0 + r.uniform(0, 64)
            while t < t1:
                self.udp_exchange(t, h, "203.0.113.123", 123, 48, 48, "benign")
                t += 64 + r.uniform(-2, 2)
            if iot:  # MQTT telemetry: one long session, a publish every 5-30 s
                sp, t = self.eport(), t0 + r.uniform(0, 5)
                hs, bs = addr(h), addr(self.broker)
                self.out.append(tcp_frame(t, hs, bs, sp, 1883, SYN))
                self.out.append(tcp_frame(t + 0.002, bs, hs, 1883, sp, SYN | ACK))
                self.out.append(tcp_frame(t + 0.004, hs, bs, sp, 1883, ACK))
                while t < t1:
                    t += r.uniform(5, 30)
                    self.out.append(
                        tcp_frame(t, hs, bs, sp, 1883, PSH | ACK, payload=r.randint(40, 200))
                    )
                    self.out.append(tcp_frame(t + 0.003, bs, hs, 1883, sp, ACK))

    # -- attacks -------------------------------------------------------------------------
    def attacker(self) -> str:
        return self.rng.choice(self.internet[60:])

    def syn_flood(self, t0: float, dur: float) -> None:
        r, victim = self.rng, addr(self.web)
        rate = 1500 * self.cfg.intensity
        t = t0
        while t < t0 + dur:
            src = bytes(
                (r.randint(1, 223), r.randint(0, 255), r.randint(0, 255), r.randint(1, 254))
            )
            self.out.append(
                tcp_frame(
                    t,
                    src,
                    victim,
                    r.randint(1024, 65535),
                    80,
                    SYN,
                    window=r.choice((512, 1024, 5840)),
                    label="syn_flood",
                    ttl=r.randint(30, 250),
                )
            )
            t += r.expovariate(rate)

    def udp_flood(self, t0: float, dur: float) -> None:
        r, a, victim = self.rng, addr(self.attacker()), addr(self.web)
        t, rate = t0, 800 * self.cfg.intensity
        while t < t0 + dur:
            self.out.append(
                udp_frame(
                    t,
                    a,
                    victim,
                    r.randint(1024, 65535),
                    r.randint(1, 65535),
                    r.randint(512, 1400),
                    label="udp_flood",
                )
            )
            t += r.expovariate(rate)

    def port_scan_horizontal(self, t0: float, dur: float, port: int = 22) -> None:
        r, a = self.rng, self.attacker()
        targets = [f"{self.cfg.net}.{i}" for i in range(1, 255)]
        step = dur / len(targets)
        for i, tgt in enumerate(targets):
            t, sp = t0 + i * step, self.eport()
            self.out.append(
                tcp_frame(
                    t, addr(a), addr(tgt), sp, port, SYN, window=1024, label="port_scan_horizontal"
                )
            )
            if tgt in self.lan and r.random() < 0.3:
                self.out.append(
                    tcp_frame(
                        t + 0.001,
                        addr(tgt),
                        addr(a),
                        port,
                        sp,
                        SYN | ACK,
                        label="port_scan_horizontal",
                    )
                )
                self.out.append(
                    tcp_frame(
                        t + 0.002, addr(a), addr(tgt), sp, port, RST, label="port_scan_horizontal"
                    )
                )
            elif tgt in self.lan:
                self.out.append(
                    tcp_frame(
                        t + 0.001,
                        addr(tgt),
                        addr(a),
                        port,
                        sp,
                        RST | ACK,
                        label="port_scan_horizontal",
                    )
                )

    def port_scan_vertical(self, t0: float, dur: float) -> None:
        r, a, tgt = self.rng, addr(self.attacker()), addr(self.rng.choice(self.lan))
        ports = list(range(1, 1025))
        r.shuffle(ports)
        flags_kind = r.choice((SYN, SYN, 0, FIN, FIN | PSH | 0x20))  # SYN, NULL, FIN, XMAS scans
        for i, p in enumerate(ports):
            t, sp = t0 + i * dur / len(ports), self.eport()
            self.out.append(
                tcp_frame(t, a, tgt, sp, p, flags_kind, window=1024, label="port_scan_vertical")
            )
            if p in (22, 80, 443) and flags_kind == SYN:
                self.out.append(
                    tcp_frame(t + 0.001, tgt, a, p, sp, SYN | ACK, label="port_scan_vertical")
                )
            else:
                self.out.append(
                    tcp_frame(t + 0.001, tgt, a, p, sp, RST | ACK, label="port_scan_vertical")
                )

    def bruteforce(
        self,
        t0: float,
        dur: float,
        port: int,
        label: str,
        src: str | None = None,
        dst: str | None = None,
    ) -> float:
        r = self.rng
        a, tgt = src or self.attacker(), dst or r.choice(self.lan)
        t = t0
        while t < t0 + dur:
            t = self.tcp_session(
                t,
                a,
                tgt,
                port,
                r.randint(2, 4),
                label,
                req=r.randint(40, 120),
                resp=r.randint(40, 200),
                gap=0.02,
            )
            t += r.uniform(0.1, 0.6)
        return t

    def mirai_scan_spread(self, t0: float, dur: float) -> None:
        r = self.rng
        vulnerable = set(r.sample(self.lan, max(2, len(self.lan) // 3)))
        first = r.choice(sorted(vulnerable))
        infected: dict[str, float] = {first: t0}
        self.infections.append((t0, self.attacker(), first))
        queue = [(t0, first)]
        end = t0 + dur
        while queue:
            t_inf, host = heapq.heappop(queue)
            t = t_inf + 1.0
            while t < end:
                # telnet scan: random targets, mostly outside, some in the LAN
                tgt = (
                    r.choice([h for h in self.lan if h != host])
                    if r.random() < 0.35
                    else f"{r.randint(1, 223)}.{r.randint(0, 255)}.{r.randint(0, 255)}.{r.randint(1, 254)}"
                )
                port = r.choice((23, 23, 23, 2323))
                sp = self.eport()
                self.out.append(
                    tcp_frame(
                        t,
                        addr(host),
                        addr(tgt),
                        sp,
                        port,
                        SYN,
                        window=r.randint(1000, 65000),
                        label="mirai_scan_spread",
                    )
                )
                if tgt in self.lan:
                    if tgt in vulnerable and tgt not in infected and port == 23:
                        t_b = self.bruteforce(
                            t + 0.01, 3.0, 23, "mirai_scan_spread", src=host, dst=tgt
                        )
                        infected[tgt] = t_b
                        self.infections.append((t_b, host, tgt))
                        heapq.heappush(queue, (t_b, tgt))
                    else:
                        self.out.append(
                            tcp_frame(
                                t + 0.001,
                                addr(tgt),
                                addr(host),
                                port,
                                sp,
                                RST | ACK,
                                label="mirai_scan_spread",
                            )
                        )
                t += r.expovariate(8.0)

    def dns_amplification(self, t0: float, dur: float) -> None:
        r = self.rng
        victim = addr(r.choice(self.lan))
        resolvers = [addr(f"192.0.2.{i}") for i in range(1, 120)]
        t, rate = t0, 600 * self.cfg.intensity
        while t < t0 + dur:
            self.out.append(
                udp_frame(
                    t,
                    r.choice(resolvers),
                    victim,
                    53,
                    r.randint(1024, 65535),
                    r.randint(2500, 4000),
                    label="dns_amplification",
                )
            )
            t += r.expovariate(rate)

    def slowloris(self, t0: float, dur: float) -> None:
        r, a, web = self.rng, addr(self.attacker()), addr(self.web)
        for _ in range(150):
            sp, t = self.eport(), t0 + r.uniform(0, 5)
            self.out.append(tcp_frame(t, a, web, sp, 80, SYN, label="slowloris"))
            self.out.append(tcp_frame(t + 0.01, web, a, 80, sp, SYN | ACK, label="slowloris"))
            self.out.append(tcp_frame(t + 0.02, a, web, sp, 80, ACK, label="slowloris"))
            while t < t0 + dur:
                t += r.uniform(8, 14)
                self.out.append(
                    tcp_frame(
                        t, a, web, sp, 80, PSH | ACK, payload=r.randint(5, 20), label="slowloris"
                    )
                )
                self.out.append(tcp_frame(t + 0.01, web, a, 80, sp, ACK, label="slowloris"))

    def cnc_beaconing(self, t0: float, dur: float) -> None:
        r = self.rng
        bot, c2 = r.choice(self.lan), "198.51.100.66"
        t = t0
        while t < t0 + dur:
            self.tcp_session(t, bot, c2, 6667, 1, "cnc_beaconing", req=80, resp=60)
            t += 20.0 + r.uniform(-0.5, 0.5)


def simulate(cfg: SimConfig) -> Simulation:
    """Generate the whole scenario, sorted by time."""
    if cfg.scenario not in SCENARIOS:
        raise CaptureError(
            f"sim: unknown scenario {cfg.scenario!r}; choose one of {', '.join(SCENARIOS)}"
        )
    if not 2 <= cfg.hosts <= len(LAN_OCTETS) or cfg.duration <= 0:
        raise CaptureError(f"sim: hosts must be 2..{len(LAN_OCTETS)} and duration > 0")
    g = _Gen(cfg)
    t0, t1 = cfg.start, cfg.start + cfg.duration
    g.benign(t0, t1)
    sim = Simulation(cfg)
    plan: list[tuple[str, float, float]] = []
    if cfg.scenario in ATTACKS:
        plan = [(cfg.scenario, t0 + cfg.duration * 0.3, cfg.duration * 0.6)]
    elif cfg.scenario in ("mixed", "demo"):
        order = (
            ATTACKS
            if cfg.scenario == "mixed"
            else (
                "port_scan_horizontal",
                "ssh_bruteforce",
                "mirai_scan_spread",
                "cnc_beaconing",
                "syn_flood",
            )
        )
        slot = cfg.duration * 0.75 / len(order)
        plan = [
            (name, t0 + cfg.duration * 0.2 + i * slot, slot * 0.8) for i, name in enumerate(order)
        ]
    runners: dict[str, Callable[[float, float], object]] = {
        "syn_flood": lambda a, d: g.syn_flood(a, min(d, 20.0)),
        "udp_flood": lambda a, d: g.udp_flood(a, min(d, 20.0)),
        "port_scan_horizontal": lambda a, d: g.port_scan_horizontal(a, min(d, 30.0)),
        "port_scan_vertical": lambda a, d: g.port_scan_vertical(a, min(d, 30.0)),
        "ssh_bruteforce": lambda a, d: g.bruteforce(a, d, 22, "ssh_bruteforce"),
        "telnet_bruteforce": lambda a, d: g.bruteforce(a, d, 23, "telnet_bruteforce"),
        "mirai_scan_spread": g.mirai_scan_spread,
        "dns_amplification": lambda a, d: g.dns_amplification(a, min(d, 20.0)),
        "slowloris": g.slowloris,
        "cnc_beaconing": g.cnc_beaconing,
    }
    for name, start, dur in plan:
        runners[name](start, dur)
        sim.attack_windows.append((name, start, start + dur))
    sim.frames = sorted((f for f in g.out if f[0] < t1), key=lambda f: f[0])
    sim.infections = sorted(g.infections)  # by time (hosts are processed one after another)
    return sim


class SimSource:
    """``sim:`` packet source: frames -> the same parser as pcap replay."""

    def __init__(self, cfg: SimConfig) -> None:
        self.config = cfg
        self.stats = ParseStats()
        self.simulation = simulate(cfg)

    def __iter__(self) -> Iterator[Packet | ArpPacket]:
        import time

        frames = self.simulation.frames
        shift = 0.0
        wall0 = time.monotonic()
        if self.config.speed > 0 and frames:
            shift = time.time() - frames[0][0]
        for ts, data, wirelen, label in frames:
            if self.config.speed > 0:
                due = wall0 + (ts - frames[0][0]) / self.config.speed
                delay = due - time.monotonic()
                if delay > 0:
                    time.sleep(min(delay, 5.0))
            pkt = parse_frame(data, LT_ETHERNET, ts + shift, wirelen, self.stats, label)
            if pkt is not None:
                yield pkt
