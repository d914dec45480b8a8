"""Reading rule files: TOML, with errors that name the file and the line."""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from contracts.attack import FAMILY_TECHNIQUES, MAX_TECHNIQUES, check_technique
from contracts.events import ATTACK_FAMILIES, SEVERITIES, AttackFamily, Severity
from contracts.features import FEATURE_INDEX
from edge_agent.capture.errors import EdgeAgentError

DEFAULT_RULES = Path(__file__).with_name("default_rules.toml")
FIELDS = frozenset(
    {"dst_port", "src_port", "proto", "land", "src_bogon", "dst_bogon", "byte_ratio"}
)
OPS = frozenset({"eq", "ne", "ge", "gt", "le", "lt", "in", "not_in"})


class RuleFileError(EdgeAgentError):
    """A rule file cannot be used; the message names the file, the line and the rule."""


@dataclass(frozen=True)
class Condition:
    name: str
    op: str
    value: Any


@dataclass(frozen=True)
class FlowRule:
    id: str
    description: str
    severity: Severity
    key: str
    score: str
    threshold: float
    match: tuple[Condition, ...]
    any_of: tuple[tuple[Condition, ...], ...] = ()
    suppress_s: float = 60.0
    family: AttackFamily = "other"
    techniques: tuple[str, ...] = ()
    """MITRE ATT&CK technique ids (default: the family's, :mod:`contracts.attack`)."""


@dataclass(frozen=True)
class BeaconRule:
    id: str
    description: str
    severity: Severity
    min_flows: int = 6
    max_jitter: float = 0.1
    min_interval_s: float = 5.0
    exclude_ports: frozenset[int] = field(default_factory=frozenset)
    suppress_s: float = 600.0
    family: AttackFamily = "botnet"
    techniques: tuple[str, ...] = ()


def _line_of(text: str, rule_id: str) -> int:
    m = re.search(rf'^\s*id\s*=\s*"{re.escape(rule_id)}"', text, re.M)
    return text.count("\n", 0, m.start()) + 1 if m else 0


def _conds(table: Any, where: str) -> tuple[Condition, ...]:
    if not isinstance(table, dict):
        raise ValueError(f"{where} must be a table of conditions")
    out = []
    for name, spec in table.items():
        if name not in FEATURE_INDEX and name not in FIELDS:
            raise ValueError(f"{where}: unknown feature or field {name!r}")
        if not isinstance(spec, dict) or not spec:
            raise ValueError(f"{where}.{name}: expected a table like {{ ge = 10 }}")
        for op, raw_value in spec.items():
            value = raw_value
            if op not in OPS:
                raise ValueError(
                    f"{where}.{name}: unknown operator {op!r} (use {', '.join(sorted(OPS))})"
                )
            if op in ("in", "not_in"):
                if not isinstance(value, list) or not all(
                    isinstance(v, int | float) for v in value
                ):
                    raise ValueError(f"{where}.{name}.{op}: expected a list of numbers")
                value = frozenset(value)
            elif not isinstance(value, int | float) or isinstance(value, bool):
                raise ValueError(f"{where}.{name}.{op}: expected a number, got {value!r}")
            out.append(Condition(name, op, value))
    return tuple(out)


def _family(raw: dict[str, Any], default: AttackFamily) -> AttackFamily:
    family = raw.get("family", default)
    if family not in ATTACK_FAMILIES or family == "benign":
        raise ValueError(
            f"family must be one of {', '.join(f for f in ATTACK_FAMILIES if f != 'benign')}"
        )
    return family  # type: ignore[no-any-return]


def _techniques(raw: dict[str, Any], family: str) -> tuple[str, ...]:
    """The rule's ``techniques`` list, each a known ATT&CK id; the family's when absent."""
    value = raw.get("techniques")
    if value is None:
        return FAMILY_TECHNIQUES.get(family, ())
    if not isinstance(value, list) or not all(isinstance(t, str) for t in value):
        raise ValueError('techniques must be a list of ATT&CK ids like ["T1046"]')
    if len(value) > MAX_TECHNIQUES or len(set(value)) != len(value):
        raise ValueError(f"techniques: at most {MAX_TECHNIQUES} ids, without repeats")
    return tuple(check_technique(t) for t in value)


def _flow_rule(raw: dict[str, Any]) -> FlowRule:
    for key in ("id", "severity", "score", "threshold", "match"):
        if key not in raw:
            raise ValueError(f"missing key {key!r}")
    unknown = set(raw) - {
        "id",
        "description",
        "severity",
        "key",
        "score",
        "threshold",
        "match",
        "any",
        "suppress_s",
        "family",
        "techniques",
    }
    if unknown:
        raise ValueError(f"unknown key(s) {', '.join(sorted(unknown))}")
    if raw["severity"] not in SEVERITIES:
        raise ValueError(f"severity must be one of {', '.join(SEVERITIES)}")
    if raw.get("key", "src") not in ("src", "dst"):
        raise ValueError("key must be 'src' or 'dst'")
    if raw["score"] not in FEATURE_INDEX and raw["score"] not in FIELDS:
        raise ValueError(f"score names an unknown feature or field {raw['score']!r}")
    family = _family(raw, "other")
    any_raw = raw.get("any", [])
    if not isinstance(any_raw, list):
        raise ValueError("any must be a list of condition tables")
    return FlowRule(
        id=str(raw["id"]),
        description=str(raw.get("description", "")),
        severity=raw["severity"],
        key=raw.get("key", "src"),
        score=raw["score"],
        threshold=float(raw["threshold"]),
        match=_conds(raw["match"], "match"),
        any_of=tuple(_conds(t, f"any[{i}]") for i, t in enumerate(any_raw)),
        suppress_s=float(raw.get("suppress_s", 60.0)),
        family=family,
        techniques=_techniques(raw, family),
    )


def _beacon_rule(raw: dict[str, Any]) -> BeaconRule:
    if raw.get("severity", "medium") not in SEVERITIES:
        raise ValueError(f"severity must be one of {', '.join(SEVERITIES)}")
    return BeaconRule(
        id=str(raw["id"]),
        description=str(raw.get("description", "")),
        severity=raw.get("severity", "medium"),
        min_flows=int(raw.get("min_flows", 6)),
        max_jitter=float(raw.get("max_jitter", 0.1)),
        min_interval_s=float(raw.get("min_interval_s", 5.0)),
        exclude_ports=frozenset(int(p) for p in raw.get("exclude_ports", [])),
        suppress_s=float(raw.get("suppress_s", 600.0)),
        family=_family(raw, "botnet"),
        techniques=_techniques(raw, _family(raw, "botnet")),
    )


def load_rules(path: Path | None = None) -> tuple[list[FlowRule], list[BeaconRule]]:
    """Load a rule file (default: the shipped rules). Raises :class:`RuleFileError`."""
    path = path or DEFAULT_RULES
    try:
        text = path.read_text()
    except OSError as exc:
        raise RuleFileError(f"{path}: cannot read rule file: {exc}") from exc
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise RuleFileError(f"{path}: {exc}") from exc  # tomllib says "(at line N, column M)"
    unknown = set(doc) - {"rule", "beaconing"}
    if unknown:
        raise RuleFileError(f"{path}: unknown top-level table(s): {', '.join(sorted(unknown))}")
    flow_rules: list[FlowRule] = []
    beacon_rules: list[BeaconRule] = []
    seen: set[str] = set()
    for kind, build in (("rule", _flow_rule), ("beaconing", _beacon_rule)):
        for i, raw in enumerate(doc.get(kind, [])):
            rid = str(raw.get("id", f"<{kind} #{i + 1}>"))
            try:
                if "id" not in raw:
                    raise ValueError("missing key 'id'")
                if rid in seen:
                    raise ValueError("duplicate rule id")
                seen.add(rid)
                rule = build(raw)
            except (ValueError, TypeError, KeyError) as exc:
                raise RuleFileError(f"{path}:{_line_of(text, rid)}: rule {rid!r}: {exc}") from exc
            (flow_rules if kind == "rule" else beacon_rules).append(rule)  # type: ignore[arg-type]
    return flow_rules, beacon_rules
