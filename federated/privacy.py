"""One privacy accountant per node, persisted on disk across rounds and restarts.

Opacus' RDP accountant is a list of ``(noise_multiplier, sample_rate, steps)`` entries; its
epsilon is a function of that whole history. We keep the history in ``privacy.json`` in the
node's state directory (written atomically), so the epsilon a node reports is everything it
has spent since its first round, not one round's, and a budget can be enforced before a
round starts.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from federated.errors import PrivacyStateError

Entry = tuple[float, float, int]
Kind = Literal["rdp", "prv"]
__all__ = [
    "Entry",
    "Kind",
    "PersistentAccountant",
    "PrivacyStateError",
    "epsilon_of",
    "rdp_epsilon",
]


def epsilon_of(history: list[Entry], delta: float, kind: Kind = "rdp") -> float:
    """Epsilon of a whole history of (noise, sample rate, steps) entries: Opacus' RDP
    accountant, or its PRV accountant (Gopi et al. 2021; tighter, numerical)."""
    if not history:
        return 0.0
    from opacus.accountants import PRVAccountant, RDPAccountant

    acc = PRVAccountant() if kind == "prv" else RDPAccountant()
    acc.history = [(float(s), float(q), int(n)) for s, q, n in history]
    return float(acc.get_epsilon(delta))


def rdp_epsilon(history: list[Entry], delta: float) -> float:
    return epsilon_of(history, delta, "rdp")


@dataclass
class PersistentAccountant:
    path: Path
    delta: float
    budget: float | None = None
    history: list[Entry] | None = None
    kind: Kind = "rdp"

    def __post_init__(self) -> None:
        if self.history is None:
            self.history = self._load()

    def _load(self) -> list[Entry]:
        try:
            data = json.loads(self.path.read_text())
        except FileNotFoundError:
            return []
        except (OSError, ValueError) as exc:
            raise PrivacyStateError(f"{self.path}: unreadable privacy state: {exc}") from exc
        if data.get("delta") != self.delta:
            raise PrivacyStateError(
                f"{self.path}: spent at delta {data.get('delta')}, asked for {self.delta}"
            )
        if data.get("accountant", "rdp") != self.kind:
            raise PrivacyStateError(
                f"{self.path}: accounted with {data.get('accountant', 'rdp')}, asked for {self.kind}"
            )
        return [(float(s), float(q), int(n)) for s, q, n in data["history"]]

    @property
    def entries(self) -> list[Entry]:
        assert self.history is not None
        return self.history

    def epsilon(self, extra: list[Entry] | None = None) -> float:
        return epsilon_of(self.entries + (extra or []), self.delta, self.kind)

    def budget_left(self) -> float | None:
        return None if self.budget is None else self.budget - self.epsilon()

    def would_exceed(self, planned: list[Entry]) -> bool:
        if self.budget is None or math.isinf(self.budget):
            return False
        return self.epsilon(planned) > self.budget + 1e-9

    def record(self, entries: list[Entry]) -> float:
        """Append what a round spent, persist, and return the total epsilon."""
        self.entries.extend(entries)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        eps = self.epsilon()
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".privacy.")
        with os.fdopen(fd, "w") as f:
            state = {"delta": self.delta, "epsilon": eps, "history": self.entries}
            json.dump(state | ({"accountant": self.kind} if self.kind != "rdp" else {}), f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, self.path)
        return eps
