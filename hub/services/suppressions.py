"""Suppressions: which incidents an operator quieted, and the matcher the alerting service uses.

A suppression's match names any of: the attacker (a host or a CIDR), the target (host or
CIDR), a rule id, a family, a node id, a detector. An incident matches when *every* field the
suppression names matches it (an attacker CIDR: one of the incident's attackers lies in it; a
rule id: one of its rules; ...). A matched incident is **marked** (``suppressed_by``), never
dropped: it is stored and listed behind a filter, and its detections are counted as the
suppression's hits (by the store, when it stores the marked incident).

The alerting service holds a :class:`Suppressions` refreshed from the store every
``refresh_s`` seconds (its ``loader``); a store that is down keeps the last set in force.
"""

from __future__ import annotations

import ipaddress
import logging
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Annotated

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)

from contracts.events import AlertEvent, AttackFamily
from contracts.topics import NODE_ID_PATTERN

log = logging.getLogger(__name__)

Net = ipaddress.IPv4Network | ipaddress.IPv6Network
Token = Annotated[
    str, StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")
]
HostOrCidr = Annotated[str, StringConstraints(min_length=1, max_length=64)]


def parse_net(value: str) -> Net:
    """A host (``10.0.0.5``) or a CIDR (``10.0.0.0/24``, host bits allowed); ValueError if neither."""
    return ipaddress.ip_network(value.strip(), strict=False)


class SuppressionMatch(BaseModel):
    """What a suppression quiets: every field given must match (at least one is given)."""

    model_config = ConfigDict(extra="forbid", json_schema_serialization_defaults_required=True)

    attacker: HostOrCidr | None = Field(None, description="A host or CIDR among the attackers")
    target: HostOrCidr | None = Field(None, description="A host or CIDR among the targets")
    rule_id: Token | None = None
    family: AttackFamily | None = None
    node_id: Annotated[str, StringConstraints(max_length=64, pattern=NODE_ID_PATTERN)] | None = None
    detector: Token | None = None

    @field_validator("attacker", "target")
    @classmethod
    def _cidr(cls, v: str | None) -> str | None:
        if v is None:
            return None
        try:
            return str(parse_net(v))
        except ValueError as exc:
            raise ValueError(f"not a host address or CIDR: {v[:64]!r}") from exc

    @model_validator(mode="after")
    def _something(self) -> SuppressionMatch:
        if not any(getattr(self, f) is not None for f in type(self).model_fields):
            raise ValueError("a suppression must match on at least one field")
        return self


def _in(net: Net | None, hosts: Sequence[str]) -> bool:
    if net is None:
        return True
    for h in hosts:
        try:
            if ipaddress.ip_address(h) in net:
                return True
        except ValueError:
            continue  # a host name or a MAC address: not an IP, not in any CIDR
    return False


@dataclass(frozen=True)
class Active:
    """One active suppression, compiled for matching."""

    id: uuid.UUID
    match: SuppressionMatch
    expires_at: float

    def matches(self, a: AlertEvent) -> bool:
        m = self.match
        attacker = parse_net(m.attacker) if m.attacker else None
        target = parse_net(m.target) if m.target else None
        return (
            _in(attacker, a.attackers)
            and _in(target, a.targets)
            and (m.rule_id is None or m.rule_id in a.rule_ids)
            and (m.family is None or m.family == a.family)
            and (m.node_id is None or m.node_id in a.nodes or m.node_id == a.node_id)
            and (m.detector is None or m.detector in a.detectors)
        )


def first_match(items: Sequence[Active], a: AlertEvent, now: float) -> Active | None:
    """The earliest-created active suppression (``items`` in creation order) matching ``a``."""
    for s in items:
        if s.expires_at > now and s.matches(a):
            return s
    return None


class Suppressions:
    """The set in force, reloaded through ``loader`` every ``refresh_s`` of ``clock``."""

    def __init__(
        self,
        loader: Callable[[], list[Active]] | None = None,
        refresh_s: float = 30.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.loader = loader
        self.refresh_s = refresh_s
        self.clock = clock
        self.items: list[Active] = []
        self._loaded_at: float | None = None
        self.marked = 0
        """Incident updates marked since start (the store counts the hits per suppression)."""

    def replace(self, items: Sequence[Active]) -> None:
        self.items = list(items)
        self._loaded_at = self.clock()

    def refresh(self, force: bool = False) -> None:
        if self.loader is None:
            return
        now = self.clock()
        if not force and self._loaded_at is not None and now - self._loaded_at < self.refresh_s:
            return
        try:
            self.replace(self.loader())
        except Exception as exc:  # noqa: BLE001 - the store is down: keep the last set
            self._loaded_at = now
            log.warning("suppressions: reload failed, keeping %d: %s", len(self.items), exc)

    def mark(self, a: AlertEvent) -> AlertEvent:
        """``a`` with ``suppressed_by`` set when an active suppression matches it."""
        self.refresh()
        hit = first_match(self.items, a, self.clock())
        if hit is None:
            return a if a.suppressed_by is None else a.model_copy(update={"suppressed_by": None})
        self.marked += 1
        return a.model_copy(update={"suppressed_by": hit.id})
