"""One event as the records an output sends: EVE JSON dicts or the contract's own JSON."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from contracts.attack import technique_name
from contracts.events import AlertEvent, AnomalyEvent, EventBase
from hub.outputs import eve


@dataclass(frozen=True)
class Record:
    """What a sink sends: the event it came from and its JSON body."""

    event: EventBase
    body: dict[str, Any]

    @property
    def kind(self) -> str:
        return str(self.body.get("event_type", getattr(self.event, "kind", "event")))

    @property
    def severity(self) -> str:
        return str(getattr(self.event, "severity", "info"))

    @property
    def epoch(self) -> float:
        return self.event.ts.timestamp()

    def line(self) -> str:
        """The body as one compact JSON line."""
        return json.dumps(self.body, separators=(",", ":"), sort_keys=False, default=str)


def render(ev: EventBase, fmt: str) -> list[Record]:
    if fmt == "eve":
        return [Record(ev, body) for body in eve.to_eve(ev)]
    return [Record(ev, json.loads(ev.model_dump_json()))]


def summary(ev: EventBase) -> tuple[str, str]:
    """(title, body) of a chat or e-mail notification."""
    if isinstance(ev, AlertEvent):
        lines = [
            f"severity: {ev.severity}; family: {ev.family}; detections: {ev.count}",
            f"attackers: {', '.join(ev.attackers) or '-'}; targets: {', '.join(ev.targets) or '-'}",
            f"detectors: {', '.join(ev.detectors) or '-'}; nodes: {', '.join(ev.nodes) or '-'}",
        ]
        if ev.techniques:
            lines.append("ATT&CK: " + ", ".join(f"{t} {technique_name(t)}" for t in ev.techniques))
        lines.append(f"incident: {ev.incident_key}")
        return f"[fednids {ev.severity}] {ev.title}", "\n".join(lines)
    if isinstance(ev, AnomalyEvent):
        what = ev.rule_id or ev.detector
        return (
            f"[fednids {ev.severity}] {what} on {ev.node_id}",
            f"{ev.src_ip or '?'} -> {ev.dst_ip or '?'}:{ev.dst_port or '-'}; score {ev.score:g}",
        )
    return f"[fednids] {getattr(ev, 'kind', 'event')}", ev.model_dump_json()
