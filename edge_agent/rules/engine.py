"""The rule ("physics") engine: a :class:`Detector` evaluating declarative rules on flows."""

from __future__ import annotations

import functools
import ipaddress
import itertools
import math
import operator
from collections import defaultdict, deque
from collections.abc import Callable
from pathlib import Path
from typing import Any

from contracts.events import AnomalyEvent, FlowRecord
from contracts.features import FEATURE_INDEX
from edge_agent.rules.loader import Condition, FlowRule, load_rules

_BOGONS = tuple(
    ipaddress.ip_network(n)
    for n in (
        "0.0.0.0/8",
        "127.0.0.0/8",
        "224.0.0.0/4",
        "240.0.0.0/4",
        "::/128",
        "::1/128",
        "ff00::/8",
    )
)


_FWD_BYTES, _BWD_BYTES = FEATURE_INDEX["fwd_bytes"], FEATURE_INDEX["bwd_bytes"]


@functools.lru_cache(maxsize=65_536)
def _bogon(ip: str) -> float:
    try:
        a = ipaddress.ip_address(ip)
    except ValueError:
        return 1.0
    return 1.0 if any(a in n for n in _BOGONS if n.version == a.version) else 0.0


def _selectivity(c: Condition) -> int:
    if c.op in ("ge", "gt") and isinstance(c.value, int | float) and c.value > 1:
        return 0
    if c.op in ("eq", "in"):
        return 1
    return 2


class RuleEngine:
    """Evaluates flow rules on every finished flow and beaconing over flow start times."""

    name = "rules"

    def __init__(self, rules_file: Path | None = None, node_id: str | None = None) -> None:
        flow_rules, beacon_rules = load_rules()
        if rules_file is not None:  # the user's rules replace shipped ones with the same id
            user_flow, user_beacon = load_rules(rules_file)
            ids = {r.id for r in user_flow} | {r.id for r in user_beacon}
            flow_rules = [r for r in flow_rules if r.id not in ids] + user_flow
            beacon_rules = [r for r in beacon_rules if r.id not in ids] + user_beacon
        self.flow_rules = flow_rules
        self.beacon_rules = beacon_rules
        self.node_id = node_id
        self.hits: defaultdict[str, int] = defaultdict(int)
        self._last_emit: dict[tuple[str, str], float] = {}
        self._suppressed: defaultdict[tuple[str, str], int] = defaultdict(int)
        self._starts: dict[tuple[str, str, int], deque[float]] = {}
        self._compiled: dict[str, Any] = {}
        self._matcher: Callable[[FlowRecord, list[float]], list[int]] | None = None
        self._matcher_of: tuple[list[FlowRule], int] | None = None
        self.last_matches: list[str] = []
        """Ids of the rules the last flow matched (suppressed or not)."""

    def _value(self, flow: FlowRecord, name: str) -> float:
        idx = FEATURE_INDEX.get(name)
        if idx is not None:
            return flow.features[idx]
        if name == "dst_port":
            return float(flow.dst_port)
        if name == "src_port":
            return float(flow.src_port)
        if name == "proto":
            return float(flow.proto)
        if name == "land":
            return 1.0 if flow.src_ip == flow.dst_ip else 0.0
        if name == "src_bogon":
            return _bogon(flow.src_ip)
        if name == "byte_ratio":  # response bytes per request byte (amplification)
            f = flow.features
            return f[_BWD_BYTES] / max(f[_FWD_BYTES], 1.0)
        return _bogon(flow.dst_ip)  # dst_bogon

    def _getter(self, name: str) -> Callable[[FlowRecord], float]:
        idx = FEATURE_INDEX.get(name)
        if idx is not None:
            return lambda f: f.features[idx]
        direct: dict[str, Callable[[FlowRecord], float]] = {
            "dst_port": lambda f: f.dst_port,
            "src_port": lambda f: f.src_port,
            "proto": lambda f: f.proto,
            "land": lambda f: 1.0 if f.src_ip == f.dst_ip else 0.0,
            "src_bogon": lambda f: _bogon(f.src_ip),
        }
        return direct.get(name) or (lambda f: self._value(f, name))

    def _compile(
        self, conds: tuple[Condition, ...]
    ) -> list[tuple[int, Callable[[FlowRecord], float], Callable[[float, Any], bool], Any]]:
        """(feature index or -1, getter, operator, value) per condition, the most selective
        first: thresholds above 1 (counts, rates) fail on most flows, flags and ports later.
        A rule is a conjunction, so the order changes nothing but the work."""
        ops: dict[str, Callable[[float, Any], bool]] = {
            "ge": operator.ge,
            "gt": operator.gt,
            "le": operator.le,
            "lt": operator.lt,
            "eq": operator.eq,
            "ne": operator.ne,
            "in": lambda v, x: v in x,
            "not_in": lambda v, x: v not in x,
        }

        out = []
        for c in sorted(conds, key=_selectivity):
            out.append((FEATURE_INDEX.get(c.name, -1), self._getter(c.name), ops[c.op], c.value))
        return out

    def _compile_matcher(self) -> Callable[[FlowRecord, list[float]], list[int]]:
        """One Python function over every flow rule: the indices of the rules ``flow``
        matches, in rule order. Each rule is an ``if`` over its conditions (``_compile``'s
        order, the values bound as constants), ``any`` groups an ``or`` of them; what
        ``_matches`` decides for each rule, without a call and a loop per rule and condition."""
        rules = tuple(self.flow_rules)
        consts: dict[str, Any] = {"_bogon": _bogon}
        symbols = {"ge": ">=", "gt": ">", "le": "<=", "lt": "<", "eq": "==", "ne": "!="}
        symbols |= {"in": "in", "not_in": "not in"}

        def expr(name: str) -> str:
            idx = FEATURE_INDEX.get(name)
            if idx is not None:
                return f"f[{idx}]"
            return {
                "dst_port": "flow.dst_port",
                "src_port": "flow.src_port",
                "proto": "flow.proto",
                "land": "(1.0 if flow.src_ip == flow.dst_ip else 0.0)",
                "src_bogon": "_bogon(flow.src_ip)",
                "dst_bogon": "_bogon(flow.dst_ip)",
                "byte_ratio": f"(f[{_BWD_BYTES}] / max(f[{_FWD_BYTES}], 1.0))",
            }[name]

        def conj(conds: tuple[Condition, ...]) -> str:
            parts = []
            for c in sorted(conds, key=_selectivity):
                const = f"c{len(consts)}"
                consts[const] = c.value
                parts.append(f"{expr(c.name)} {symbols[c.op]} {const}")
            return " and ".join(parts) or "True"

        lines = ["def match(flow, f):", "    out = []"]
        for i, rule in enumerate(rules):
            test = conj(rule.match)
            if rule.any_of:
                test = f"({test}) and ({' or '.join(f'({conj(g)})' for g in rule.any_of)})"
            lines += [f"    if {test}:", f"        out.append({i})"]
        lines.append("    return out")
        exec(compile("\n".join(lines), f"<rules {len(rules)}>", "exec"), consts)  # noqa: S102
        self._matcher, self._matcher_of = consts["match"], (self.flow_rules, len(rules))
        return consts["match"]  # type: ignore[no-any-return]

    def _matches(self, rule: FlowRule, flow: FlowRecord, feats: list[float]) -> bool:
        compiled = self._compiled.get(rule.id)
        if compiled is None:
            compiled = self._compiled[rule.id] = (
                self._compile(rule.match),
                [self._compile(g) for g in rule.any_of],
            )
        match, any_of = compiled
        for idx, get, op, x in match:
            if not op(feats[idx] if idx >= 0 else get(flow), x):
                return False
        if not any_of:
            return True
        for group in any_of:
            for idx, get, op, x in group:
                if not op(feats[idx] if idx >= 0 else get(flow), x):
                    break
            else:
                return True
        return False

    def _suppress(self, rule_id: str, host: str, ts: float, window: float) -> int | None:
        """None while suppressed; else how many hits were folded since the last event."""
        key = (rule_id, host)
        last = self._last_emit.get(key)
        if last is not None and ts - last < window:
            self._suppressed[key] += 1
            return None
        self._last_emit[key] = ts
        if len(self._last_emit) > 100_000:
            self._last_emit.clear()
        return self._suppressed.pop(key, 0)

    def on_flow(self, flow: FlowRecord) -> list[AnomalyEvent]:
        out: list[AnomalyEvent] = []
        self.last_matches = matched = []
        rules = self.flow_rules
        matcher = self._matcher
        if matcher is None or self._matcher_of != (rules, len(rules)):
            matcher = self._compile_matcher()
        for i in matcher(flow, flow.features):
            rule = rules[i]
            matched.append(rule.id)
            self.hits[rule.id] += 1
            host = flow.dst_ip if rule.key == "dst" else flow.src_ip
            folded = self._suppress(rule.id, host, flow.end_ts, rule.suppress_s)
            if folded is None:
                continue
            score = self._value(flow, rule.score)
            out.append(
                AnomalyEvent.about_flow(
                    flow,
                    detector="rules",
                    rule_id=rule.id,
                    score=score,
                    threshold=rule.threshold,
                    severity=rule.severity,
                    family=rule.family,
                    techniques=list(rule.techniques),
                    evidence={
                        "rule": rule.description,
                        rule.score: score,
                        "suppressed_hits": folded,
                        "dst_port": flow.dst_port,
                        "proto": flow.proto,
                    },
                )
            )
        out.extend(self._beaconing(flow))
        return out

    def _beaconing(self, flow: FlowRecord) -> list[AnomalyEvent]:
        out: list[AnomalyEvent] = []
        for rule in self.beacon_rules:
            if flow.dst_port in rule.exclude_ports:
                continue
            key = (flow.src_ip, flow.dst_ip, flow.dst_port)
            starts = self._starts.get(key)
            if starts is None:
                if len(self._starts) > 50_000:
                    self._starts.clear()
                starts = self._starts[key] = deque(maxlen=rule.min_flows + 4)
            starts.append(flow.start_ts)
            if len(starts) < rule.min_flows:
                continue
            s = sorted(starts)
            gaps = [b - a for a, b in itertools.pairwise(s)]
            mean = sum(gaps) / len(gaps)
            if mean < rule.min_interval_s:
                continue
            jitter = math.sqrt(sum((g - mean) ** 2 for g in gaps) / len(gaps)) / mean
            if jitter > rule.max_jitter:
                continue
            self.last_matches.append(rule.id)
            self.hits[rule.id] += 1
            folded = self._suppress(
                rule.id, f"{flow.src_ip}>{flow.dst_ip}", flow.end_ts, rule.suppress_s
            )
            if folded is None:
                continue
            out.append(
                AnomalyEvent.about_flow(
                    flow,
                    detector="rules",
                    rule_id=rule.id,
                    score=1.0 - jitter,
                    threshold=1.0 - rule.max_jitter,
                    severity=rule.severity,
                    family=rule.family,
                    techniques=list(rule.techniques),
                    window_start=s[0],
                    evidence={
                        "rule": rule.description,
                        "interval_s": round(mean, 3),
                        "jitter": round(jitter, 4),
                        "flows": len(s),
                        "suppressed_hits": folded,
                    },
                )
            )
        return out

    def on_tick(self, now: float) -> list[AnomalyEvent]:
        return []
