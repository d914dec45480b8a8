"""The propagation predictor: a GraphSAGE-style GNN in plain PyTorch over the host graph.

``HostGraph`` turns what the hub observes (flows and attack classifications, as plain
tuples) into a directed host communication graph with per-host features; ``SageNet`` scores
each host (3 layers of mean aggregation over in- and out-neighbours, separately weighted,
then an MLP); ``Predictor`` ranks the candidate hosts (``candidates``: never seen attacking,
internal, or outside hosts a compromised internal host talks to) by the probability that
they are attacked within the horizon, and explains each prediction with the chain of
compromised hosts that leads to it. The probabilities are the network's logits through a
Platt scaling fitted on held-out simulated scenarios (``meta["calibration"]``).
``heuristic_scores`` is the baseline it is measured against (compromised neighbours, then
degree). Times are event (capture) times; the graph does not read any clock.
"""

from __future__ import annotations

import io
import ipaddress
import itertools
import math
import pickle
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from contracts.model_dir import ModelDirError, read_model_dir, write_model_dir
from models.errors import ModelError

MODEL_FILE = "model.pt"
SERVICE_PORTS = (22, 23, 80, 445)
FEATURES = (
    "log_in_degree",
    "log_out_degree",
    "log_bytes_in",
    "log_bytes_out",
    *(f"serves_{p}" for p in SERVICE_PORTS),
    "log_attacks_as_source",
    "log_attacks_as_target",
    "compromised",
    "recent_attack_on",
    "recent_attack_from",
    "external",
    "log_attackers",
    "attacked_by_compromised",
)
DECAY_S = 120.0


_INTERNAL = tuple(
    ipaddress.ip_network(n)
    for n in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fc00::/7", "fe80::/10")
)


def _external(ip: str) -> bool:
    """Outside the RFC 1918 / ULA / link-local ranges the sensors watch."""
    try:
        a = ipaddress.ip_address(ip)
    except ValueError:
        return True
    return not any(a.version == n.version and a in n for n in _INTERNAL)


class HostGraph:
    """Hosts and who talked to whom in a window; attack classifications on top."""

    def __init__(self) -> None:
        self.index: dict[str, int] = {}
        self.hosts: list[str] = []
        self.edges: set[tuple[int, int]] = set()
        self._deg_in: list[set[int]] = []
        self._deg_out: list[set[int]] = []
        self.bytes_in: list[float] = []
        self.bytes_out: list[float] = []
        self.ports: list[set[int]] = []
        self.att_src: list[int] = []
        self.att_dst: list[int] = []
        self.last_on: list[float] = []
        self.last_from: list[float] = []
        self.attackers: list[set[int]] = []
        self.parent: dict[int, int] = {}  # first attacker of a host (for the path)
        self.now = 0.0

    def _id(self, host: str) -> int:
        i = self.index.get(host)
        if i is None:
            i = self.index[host] = len(self.hosts)
            self.hosts.append(host)
            for lst in (self._deg_in, self._deg_out, self.ports, self.attackers):
                lst.append(set())
            for v in (self.bytes_in, self.bytes_out):
                v.append(0.0)
            for c in (self.att_src, self.att_dst):
                c.append(0)
            self.last_on.append(-math.inf)
            self.last_from.append(-math.inf)
        return i

    def add_flow(self, src: str, dst: str, port: int, nbytes: float, t: float) -> None:
        s, d = self._id(src), self._id(dst)
        self.edges.add((s, d))
        self._deg_out[s].add(d)
        self._deg_in[d].add(s)
        self.bytes_out[s] += nbytes
        self.bytes_in[d] += nbytes
        if nbytes > 200 and port in SERVICE_PORTS:
            self.ports[d].add(port)
        self.now = max(self.now, t)

    def add_attack(self, src: str, dst: str | None, t: float) -> None:
        s = self._id(src)
        self.att_src[s] += 1
        self.last_from[s] = max(self.last_from[s], t)
        if dst is not None:
            d = self._id(dst)
            self.edges.add((s, d))
            self._deg_out[s].add(d)
            self._deg_in[d].add(s)
            self.att_dst[d] += 1
            self.last_on[d] = max(self.last_on[d], t)
            self.attackers[d].add(s)
            self.parent.setdefault(d, s)
        self.now = max(self.now, t)

    def compromised(self) -> np.ndarray:
        """Hosts seen attacking (source of an attack classification), internal ones only."""
        return np.asarray(
            [self.att_src[i] > 0 and not _external(h) for i, h in enumerate(self.hosts)], bool
        )

    def features(self) -> np.ndarray:
        n = len(self.hosts)
        comp = self.compromised()
        x = np.zeros((n, len(FEATURES)), np.float32)
        for i in range(n):
            by_comp = any(comp[a] or _external(self.hosts[a]) for a in self.attackers[i])
            x[i] = (
                math.log1p(len(self._deg_in[i])),
                math.log1p(len(self._deg_out[i])),
                math.log1p(self.bytes_in[i]) / 10,
                math.log1p(self.bytes_out[i]) / 10,
                *(float(p in self.ports[i]) for p in SERVICE_PORTS),
                math.log1p(self.att_src[i]),
                math.log1p(self.att_dst[i]),
                float(comp[i]),
                math.exp(-(self.now - self.last_on[i]) / DECAY_S),
                math.exp(-(self.now - self.last_from[i]) / DECAY_S),
                float(_external(self.hosts[i])),
                math.log1p(len(self.attackers[i])),
                float(by_comp),
            )
        return x

    def edge_index(self) -> np.ndarray:
        if not self.edges:
            return np.zeros((2, 0), np.int64)
        return np.asarray(sorted(self.edges), np.int64).T

    def path_to(self, target: int, max_len: int = 16) -> list[str]:
        """The chain of attackers leading to ``target`` (or, if nobody attacked it yet, through
        the compromised neighbour that talked to it), oldest first."""
        comp = self.compromised()
        start = target
        if target not in self.parent:
            near = [s for s in self._deg_in[target] | self._deg_out[target] if comp[s]]
            if not near:
                return [self.hosts[target]]
            start = min(near, key=lambda s: -self.att_src[s])
            chain = [target, start]
        else:
            chain = [target]
        cur, seen = start, {target, start}
        while cur in self.parent and len(chain) < max_len:
            cur = self.parent[cur]
            if cur in seen:
                break
            seen.add(cur)
            chain.append(cur)
        return [self.hosts[i] for i in reversed(chain)]


class SageLayer(nn.Module):
    def __init__(self, d_in: int, d_out: int) -> None:
        super().__init__()
        self.self_lin = nn.Linear(d_in, d_out)
        self.in_lin = nn.Linear(d_in, d_out, bias=False)
        self.out_lin = nn.Linear(d_in, d_out, bias=False)

    @staticmethod
    def _mean(h: torch.Tensor, src: torch.Tensor, dst: torch.Tensor) -> torch.Tensor:
        agg = torch.zeros_like(h).index_add_(0, dst, h[src])
        cnt = torch.zeros(h.shape[0], 1, device=h.device).index_add_(
            0, dst, torch.ones(len(dst), 1, device=h.device)
        )
        return agg / cnt.clamp(min=1.0)

    def forward(self, h: torch.Tensor, ei: torch.Tensor) -> torch.Tensor:
        src, dst = ei[0], ei[1]
        m_in = self._mean(h, src, dst)  # from who talks to me
        m_out = self._mean(h, dst, src)  # from whom I talk to
        return torch.relu(self.self_lin(h) + self.in_lin(m_in) + self.out_lin(m_out))


class SageNet(nn.Module):
    def __init__(self, d_in: int = len(FEATURES), hidden: int = 48, layers: int = 3) -> None:
        super().__init__()
        dims = [d_in] + [hidden] * layers
        self.layers = nn.ModuleList(SageLayer(a, b) for a, b in itertools.pairwise(dims))
        self.head = nn.Sequential(nn.Linear(hidden + d_in, hidden), nn.ReLU(), nn.Linear(hidden, 1))

    def forward(self, x: torch.Tensor, ei: torch.Tensor) -> torch.Tensor:
        h = x
        for layer in self.layers:
            h = layer(h, ei)
        return self.head(torch.cat([h, x], dim=1)).squeeze(-1)


def heuristic_scores(g: HostGraph) -> np.ndarray:
    """The baseline: number of compromised neighbours, ties broken by degree."""
    comp = g.compromised()
    n = len(g.hosts)
    score = np.zeros(n)
    for s, d in g.edges:
        score[d] += comp[s]
        score[s] += comp[d]
    deg = np.asarray([len(g._deg_in[i]) + len(g._deg_out[i]) for i in range(n)], float)
    return score + deg / (deg.max() + 1.0) if n else score


@dataclass(slots=True)
class Ranked:
    host: str
    probability: float
    path: list[str]


class Predictor:
    def __init__(self, net: SageNet, meta: dict[str, Any]) -> None:
        self.net = net.eval()
        self.meta = meta

    def logits(self, g: HostGraph) -> np.ndarray:
        """The network's raw scores (trained with a positive class weight: not probabilities)."""
        if not g.hosts:
            return np.zeros(0)
        with torch.no_grad():
            out = self.net(torch.from_numpy(g.features()), torch.from_numpy(g.edge_index()))
        return np.asarray(out.numpy(), np.float64)

    def scores(self, g: HostGraph) -> np.ndarray:
        """Probabilities: the logits through the Platt scaling of ``meta["calibration"]``
        (fitted on held-out scenarios by ``fednids hub train-gnn``); a plain sigmoid if the
        artifact has none."""
        z = self.logits(g)
        cal = self.meta.get("calibration") or {}
        a, b = float(cal.get("a", 1.0)), float(cal.get("b", 0.0))
        return 1.0 / (1.0 + np.exp(-np.clip(a * z + b, -60.0, 60.0)))

    def rank(self, g: HostGraph, k: int) -> list[Ranked]:
        p = self.scores(g)
        cand = candidates(g)
        order = [i for i in np.argsort(-p) if cand[i]][:k]
        return [Ranked(g.hosts[i], float(p[i]), g.path_to(int(i))) for i in order]

    def save(self, out: Path) -> dict[str, Any]:
        """Write ``model.pt`` (the state dict) + ``metadata.json`` atomically."""
        buf = io.BytesIO()
        torch.save(self.net.state_dict(), buf)
        try:
            return write_model_dir(
                out,
                {MODEL_FILE: buf.getvalue()},
                self.meta,
                primary=MODEL_FILE,
                training_data=self.meta.get("training_data"),
            )
        except ModelDirError as exc:
            raise ModelError(str(exc)) from exc


def candidates(g: HostGraph) -> np.ndarray:
    """Hosts that may be attacked next: never seen attacking, and either internal or an
    outside host that a compromised internal host talks to (a bot on the network scanning
    the internet reaches outside hosts; an outside host that only talks to healthy hosts,
    or that attacks, is no target)."""
    comp = g.compromised()
    out = np.zeros(len(g.hosts), bool)
    for i, h in enumerate(g.hosts):
        if comp[i] or g.att_src[i] > 0:
            continue
        out[i] = not _external(h) or any(comp[s] for s in g._deg_in[i])
    return out


def platt(logits: np.ndarray, y: np.ndarray, iters: int = 100) -> dict[str, float]:
    """Fit ``p = sigmoid(a * logit + b)`` by damped Newton steps on held-out labels (Platt's
    targets, which keep it finite when the classes separate)."""
    z = np.asarray(logits, np.float64)
    yb = np.asarray(y, bool)
    pos, neg = float(yb.sum()), float(len(yb) - yb.sum())
    t = np.where(yb, (pos + 1) / (pos + 2), 1 / (neg + 2))

    def loss(a: float, b: float) -> float:
        u = a * z + b
        return float(np.sum(np.logaddexp(0.0, u) - t * u))

    a, b = 1.0 / max(float(np.std(z)), 1e-6), 0.0
    cur = loss(a, b)
    for _ in range(iters):
        p = 1.0 / (1.0 + np.exp(-np.clip(a * z + b, -60, 60)))
        w = np.maximum(p * (1 - p), 1e-12)
        g = np.array([np.sum((p - t) * z), np.sum(p - t)])
        h = np.array([[np.sum(w * z * z), np.sum(w * z)], [np.sum(w * z), np.sum(w)]])
        step = np.linalg.solve(h + np.eye(2) * 1e-6, g)
        lr = 1.0
        while lr > 1e-6:
            na, nb = a - lr * float(step[0]), b - lr * float(step[1])
            new = loss(na, nb)
            if new <= cur:
                break
            lr /= 2
        else:
            break
        done = cur - new < 1e-10 * max(abs(cur), 1.0)
        a, b, cur = na, nb, new
        if done:
            break
    return {"a": a, "b": b}


def load_predictor(model_dir: Path) -> Predictor:
    """Verify the directory, then load the state dict from the bytes that were verified
    (``weights_only``: tensors, no pickled code). Raises :class:`ModelError`."""
    try:
        loaded = read_model_dir(model_dir, [MODEL_FILE], primary=MODEL_FILE)
    except ModelDirError as exc:
        raise ModelError(f"cannot load the GNN: {exc}") from exc
    meta = loaded.metadata
    if list(meta.get("features", [])) != list(FEATURES):
        raise ModelError(f"GNN at {model_dir} was trained on other features")
    try:
        net = SageNet(len(FEATURES), int(meta["hidden"]), int(meta["layers"]))
        net.load_state_dict(torch.load(io.BytesIO(loaded.blob(MODEL_FILE)), weights_only=True))
    except (KeyError, TypeError, ValueError, RuntimeError, pickle.UnpicklingError) as exc:
        raise ModelError(f"cannot load the GNN from {model_dir}: {exc}") from exc
    return Predictor(net, meta)


def bfs_hops(g: HostGraph, sources: list[int]) -> dict[int, int]:
    """Hops from any source over undirected edges (used by tests and the evaluation)."""
    adj: dict[int, set[int]] = {}
    for s, d in g.edges:
        adj.setdefault(s, set()).add(d)
        adj.setdefault(d, set()).add(s)
    dist = dict.fromkeys(sources, 0)
    q = deque(sources)
    while q:
        u = q.popleft()
        for v in adj.get(u, ()):
            if v not in dist:
                dist[v] = dist[u] + 1
                q.append(v)
    return dist
