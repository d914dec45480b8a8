"""Graph-level attack-propagation scenarios for training and evaluating the GNN predictor.

The edge simulator works on packets and the GNN (loaded by the hub, which never imports the
edge) has its own generator, at the level the predictor sees: host-to-host flows and attack
classifications. A scenario is a network (subnets, a few busy servers, ordinary hosts with
services such as telnet / ssh / smb / http) with benign traffic along its communication
edges, and one propagating attack:

- ``worm``: Mirai-like; every infected host scans random hosts of its subnet (and sometimes
  another) on telnet and infects the ones whose telnet is open and weak;
- ``lateral``: an intruder moves along existing communication edges to hosts with ssh / smb;
- ``scan_exploit``: an external attacker scans a subnet, then exploits scanned hosts with an
  exposed service, then moves on from them as a worm.

Each step yields what the hub would observe (flows and classifications, both as plain
tuples) and the ground truth (which host was compromised when, by whom). Everything is
drawn from one ``numpy`` generator seeded per scenario, so held-out scenarios differ by seed
and by topology parameters.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

SERVICE_PORTS = (22, 23, 80, 445)
KINDS = ("worm", "lateral", "scan_exploit")


@dataclass(slots=True)
class Topology:
    hosts: list[str]
    subnet: list[int]
    services: list[set[int]]
    vulnerable: list[set[int]]
    edges: list[tuple[int, int, int]]  # (client, server, port): the benign communication graph


@dataclass(slots=True)
class Step:
    t: float
    flows: list[tuple[str, str, int, float]]  # (src, dst, dst_port, bytes)
    attacks: list[tuple[str, str, str]]  # classifications: (src, dst, family)
    infections: list[tuple[str, str]]  # ground truth: (attacker, victim)


@dataclass(slots=True)
class Scenario:
    kind: str
    topo: Topology
    steps: list[Step] = field(default_factory=list)


def make_topology(rng: np.random.Generator, n_hosts: int, n_subnets: int) -> Topology:
    hosts, subnet, services, vulnerable = [], [], [], []
    for i in range(n_hosts):
        s = int(rng.integers(0, n_subnets))
        hosts.append(f"10.{s}.{i // 250}.{i % 250 + 2}")
        subnet.append(s)
        svc = {p for p in SERVICE_PORTS if rng.random() < {22: 0.4, 23: 0.3, 80: 0.3, 445: 0.3}[p]}
        services.append(svc)
        vulnerable.append({p for p in svc if rng.random() < (0.7 if p == 23 else 0.5)})
    servers = [i for i in range(n_hosts) if 80 in services[i]][: max(2, n_hosts // 15)]
    edges: list[tuple[int, int, int]] = []
    for i in range(n_hosts):
        for srv in servers:  # everyone talks to a few busy servers
            if srv != i and rng.random() < 0.5:
                edges.append((i, srv, 80))
        same = [j for j in range(n_hosts) if subnet[j] == subnet[i] and j != i and services[j]]
        for j in (
            rng.choice(same, size=min(len(same), int(rng.integers(1, 4))), replace=False)
            if same
            else []
        ):
            port = int(rng.choice(sorted(services[int(j)])))
            edges.append((i, int(j), port))
    return Topology(hosts, subnet, services, vulnerable, edges)


def _benign(rng: np.random.Generator, topo: Topology) -> list[tuple[str, str, int, float]]:
    out = []
    for c, s, p in topo.edges:
        if rng.random() < 0.6:
            out.append((topo.hosts[c], topo.hosts[s], p, float(rng.lognormal(8, 1))))
    return out


def simulate(
    seed: int,
    kind: str | None = None,
    n_hosts: tuple[int, int] = (30, 60),
    n_subnets: tuple[int, int] = (2, 4),
    steps: int = 14,
    dt: float = 30.0,
) -> Scenario:
    rng = np.random.default_rng(seed)
    kind = kind or KINDS[int(rng.integers(0, len(KINDS)))]
    topo = make_topology(
        rng,
        int(rng.integers(n_hosts[0], n_hosts[1] + 1)),
        int(rng.integers(n_subnets[0], n_subnets[1] + 1)),
    )
    n = len(topo.hosts)
    sc = Scenario(kind, topo)
    attacker = f"203.0.113.{int(rng.integers(1, 250))}"
    infected: dict[int, str] = {}
    nbrs: list[set[int]] = [set() for _ in range(n)]
    for c, s, _ in topo.edges:
        nbrs[c].add(s)
        nbrs[s].add(c)
    scanned: set[int] = set()
    target_subnet = int(rng.integers(0, max(topo.subnet) + 1))
    # patient zero
    cands = [i for i in range(n) if topo.vulnerable[i]] or list(range(n))
    for k in range(steps):
        t = k * dt
        st = Step(t, _benign(rng, topo), [], [])
        if k == 1:
            first = int(rng.choice(cands))
            infected[first] = attacker
            st.infections.append((attacker, topo.hosts[first]))
            st.attacks.append(
                (attacker, topo.hosts[first], "botnet" if kind == "worm" else "other")
            )
        if k >= 1:
            new: dict[int, str] = {}
            srcs = list(infected)
            if kind == "scan_exploit" and k in (1, 2, 3):
                pool = [j for j in range(n) if topo.subnet[j] == target_subnet]
                for j in rng.choice(pool, size=min(len(pool), 8), replace=False) if pool else []:
                    scanned.add(int(j))
                    st.flows.append((attacker, topo.hosts[int(j)], 23, 60.0))
                    st.attacks.append((attacker, topo.hosts[int(j)], "scan"))
            for src in srcs:
                if kind == "lateral":
                    cand = sorted(nbrs[src])
                    tries: list[int] = (
                        [int(c) for c in rng.choice(cand, size=min(len(cand), 2), replace=False)]
                        if cand
                        else []
                    )
                    for j in tries:
                        port = 22 if 22 in topo.services[j] else 445
                        st.flows.append((topo.hosts[src], topo.hosts[j], port, 4000.0))
                        st.attacks.append((topo.hosts[src], topo.hosts[j], "bruteforce"))
                        if (
                            j not in infected
                            and topo.vulnerable[j] & {22, 445}
                            and rng.random() < 0.6
                        ):
                            new[j] = topo.hosts[src]
                else:
                    sub = (
                        topo.subnet[src]
                        if rng.random() < 0.85
                        else int(rng.integers(0, max(topo.subnet) + 1))
                    )
                    pool = [j for j in range(n) if topo.subnet[j] == sub and j != src]
                    if kind == "scan_exploit":
                        pool = [j for j in pool if j in scanned] or pool
                    picks: list[int] = (
                        [int(c) for c in rng.choice(pool, size=min(len(pool), 4), replace=False)]
                        if pool
                        else []
                    )
                    for j in picks:
                        st.flows.append((topo.hosts[src], topo.hosts[j], 23, 60.0))
                        st.attacks.append((topo.hosts[src], topo.hosts[j], "scan"))
                        if j not in infected and 23 in topo.vulnerable[j] and rng.random() < 0.5:
                            new[j] = topo.hosts[src]
            for j, by in new.items():
                infected[j] = by
                st.infections.append((by, topo.hosts[j]))
                st.attacks.append(
                    (by, topo.hosts[j], "botnet" if kind != "lateral" else "bruteforce")
                )
        sc.steps.append(st)
    return sc
