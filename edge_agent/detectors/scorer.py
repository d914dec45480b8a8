"""The edge's one detection stack: rules + the node's own baseline + the int8 LSTM + host-window
escalation, combined into one score per flow. The agent runs it; every benchmark imports it.

A flow's score, in "alarm units" (1.0 is where an unsupervised verdict starts):

    score = novelty / its benign 99th percentile (+3 for a service never seen in learning)
          + the weight of the most severe rule the flow matched (low 1, medium 5, high 10)
          + max(0, LSTM error / its scale - 1)

then **host-window escalation**: a rule hit flags both hosts of the flow for the ``window_s``
windows the flow spans; a later flow of a flagged host in a flagged window scores at least
``escalation`` x the flagging score (an attack's other flows, e.g. the replies of a scan, rise
with it). The escalation is causal: only flags raised by flows that ended earlier count.

The LSTM's scale is the node's own (its error quantile over the learning period, when the
baseline learned with the same model version), else the model's per-node threshold, else the
fleet threshold. During the learning period the baseline scores 0 and the LSTM's error only
counts against a node- or fleet-calibrated threshold.

Events: rule hits pass through as the rule engine emits them (suppressed per rule and host,
with their family). A flow no rule matched whose score reaches ``alarm`` becomes one
``AnomalyEvent`` of the dominant unsupervised detector (``novelty`` or ``lstm``), at most one
per detector and host (either side) per ``suppress_s``. Its severity is ``low`` for one
detector alone (a lone anomaly: visible, but it opens no incident at the hub by itself) and
``medium`` when novelty and the LSTM agree or the flow's host was flagged by a rule (then it
carries the rule's family). ``last_score`` / ``last_parts`` expose
the last flow's score and its parts (for benchmarks and the flow store).
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from typing import TYPE_CHECKING

from contracts.events import AnomalyEvent, AttackFamily, FlowRecord, Severity
from edge_agent.capture.packet import ArpPacket
from edge_agent.detectors.arp import ArpMonitor
from edge_agent.detectors.baseline import Baseline, BaselineState
from edge_agent.rules import RuleEngine

if TYPE_CHECKING:
    from edge_agent.detectors.lstm import LstmDetector

SEVERITY_WEIGHT = {"info": 0.5, "low": 1.0, "medium": 5.0, "high": 10.0, "critical": 10.0}
MAX_FLAGS = 50_000


@dataclass(frozen=True)
class ScorerConfig:
    alarm: float = 1.0
    """Score at which a flow no rule matched becomes an (unsupervised) anomaly event."""
    agree_at: float = 1.0
    """Novelty and LSTM both at least this far over their scales: they agree (``medium``)."""
    window_s: float = 60.0
    escalation: float = 0.9
    suppress_s: float = 60.0
    """At most one unsupervised event per (detector, source host) per this many seconds."""


class EdgeScorer:
    """A :class:`~edge_agent.detectors.base.Detector` over the whole edge stack."""

    name = "scorer"

    def __init__(
        self,
        rules: RuleEngine,
        baseline: Baseline | None = None,
        lstm: LstmDetector | None = None,
        config: ScorerConfig | None = None,
        arp: ArpMonitor | None = None,
    ) -> None:
        self.rules = rules
        self.arp = arp
        self.arp_path = _ArpPath(self) if arp is not None else None
        """What the pipeline feeds ARP packets to: the ARP monitor, whose hits flag hosts."""
        self.baseline = baseline
        self.lstm = lstm
        self.config = config or ScorerConfig()
        self.last_score = 0.0
        self.last_parts: dict[str, float] = {}
        self._weight = {r.id: SEVERITY_WEIGHT[r.severity] for r in rules.flow_rules}
        self._weight.update({r.id: SEVERITY_WEIGHT[r.severity] for r in rules.beacon_rules})
        self._family: dict[str, AttackFamily] = {r.id: r.family for r in rules.flow_rules}
        self._family.update({r.id: r.family for r in rules.beacon_rules})
        self._flags: OrderedDict[tuple[str, int], tuple[float, AttackFamily]] = OrderedDict()
        self._last_event: dict[tuple[str, str, str], float] = {}
        self.suppressed = 0

    # -- the parts the agent and the status line read ----------------------------------------
    @property
    def version(self) -> str | None:
        return self.lstm.version if self.lstm is not None else None

    def swap(self, model_dir: object) -> str:
        """Hot-swap the LSTM (the model updater calls this)."""
        if self.lstm is None:
            raise AttributeError("this scorer runs no LSTM")
        return self.lstm.swap(model_dir)  # type: ignore[arg-type]

    @property
    def baseline_state(self) -> BaselineState:
        return self.baseline.state if self.baseline is not None else "off"

    def _lstm_scale(self) -> tuple[float, str] | None:
        lstm = self.lstm
        if lstm is None:
            return None
        b = self.baseline
        if b is not None and b.lstm_scale is not None and b.lstm_version == lstm.version:
            return b.lstm_scale, "node-learned"
        return lstm.threshold, lstm.model.threshold_scope

    def _flag(
        self, hosts: tuple[str, ...], windows: range, score: float, fam: AttackFamily
    ) -> None:
        for host in hosts:
            for w in windows[:10]:
                key = (host, w)
                old = self._flags.get(key)
                if old is None or score > old[0]:
                    self._flags[key] = (score, fam)
                    self._flags.move_to_end(key)
        while len(self._flags) > MAX_FLAGS:
            self._flags.popitem(last=False)

    # -- the detector interface -----------------------------------------------------------------
    def on_flow(self, flow: FlowRecord) -> list[AnomalyEvent]:
        cfg = self.config
        events = self.rules.on_flow(flow)
        matched = self.rules.last_matches
        parts: dict[str, float] = {}
        s_rules = max(self._weight.get(r, 1.0) for r in matched) if matched else 0.0
        if s_rules:
            parts["rules"] = s_rules
        b = self.baseline
        learning = b is not None and b.state == "learning"
        error: float | None = None
        scale = self._lstm_scale()
        if self.lstm is not None and scale is not None:
            error = self.lstm.score_flow(flow)
            if not (learning and scale[1] == "fleet"):
                over = error / max(scale[0], 1e-12) - 1.0
                if over > 0:
                    parts["lstm"] = over
        if b is not None:
            if learning:
                flagged = s_rules >= SEVERITY_WEIGHT["medium"]  # a low rule (beaconing) is no proof
                fitted = b.observe(flow, flagged, error)
                if fitted and self.lstm is not None:
                    b.lstm_version = self.lstm.version
            else:
                nov = b.score(flow)
                if nov > 0:
                    parts["novelty"] = nov
        score = sum(parts.values())
        family: AttackFamily | None = None
        windows = range(int(flow.start_ts // cfg.window_s), int(flow.end_ts // cfg.window_s) + 1)
        if matched:
            fam = self._family.get(matched[0], "other")
            self._flag((flow.src_ip, flow.dst_ip), windows, score, fam)
        else:
            best = 0.0
            for host in (flow.src_ip, flow.dst_ip):
                for w in windows[:10]:
                    got = self._flags.get((host, w))
                    if got is not None and got[0] > best:
                        best, family = got
            if best * cfg.escalation > score:
                parts["window"] = best * cfg.escalation - score
                score = best * cfg.escalation
            else:
                family = None
        self.last_score = score
        self.last_parts = parts
        if not matched and score >= cfg.alarm:
            ev = self._unsupervised(flow, score, parts, family, scale)
            if ev is not None:
                events.append(ev)
        return events

    def _unsupervised(
        self,
        flow: FlowRecord,
        score: float,
        parts: dict[str, float],
        family: AttackFamily | None,
        scale: tuple[float, str] | None,
    ) -> AnomalyEvent | None:
        cfg = self.config
        detector = "lstm" if parts.get("lstm", 0.0) > parts.get("novelty", 0.0) else "novelty"
        # one event per detector and host per suppress_s, on either side: a scan from one
        # source and a flood from many (spoofed) sources to one target both give a few events
        keys = ((detector, "s", flow.src_ip), (detector, "d", flow.dst_ip))
        for key in keys:
            last = self._last_event.get(key)
            if last is not None and flow.end_ts - last < cfg.suppress_s:
                self.suppressed += 1
                return None
        if len(self._last_event) > 100_000:
            self._last_event.clear()
        for key in keys:
            self._last_event[key] = flow.end_ts
        evidence: dict[str, float | int | str | bool | None] = {
            f"score_{k}": round(v, 4) for k, v in parts.items()
        }
        evidence["baseline"] = self.baseline_state
        if scale is not None and "lstm" in parts:
            evidence["lstm_scale"] = scale[1]
        agree = min(parts.get("novelty", 0.0), parts.get("lstm", 0.0)) >= cfg.agree_at
        severity: Severity = "medium" if family is not None or agree else "low"
        if agree:
            evidence["agreed"] = "novelty+lstm"
        evidence["dst_port"] = flow.dst_port
        evidence["proto"] = flow.proto
        return AnomalyEvent.about_flow(
            flow,
            detector=detector,  # type: ignore[arg-type]
            score=round(score, 6),
            threshold=cfg.alarm,
            severity=severity,
            family=family,
            model_version=self.version if detector == "lstm" else None,
            evidence=evidence,
        )

    def on_tick(self, now: float) -> list[AnomalyEvent]:
        return self.rules.on_tick(now)


class _ArpPath:
    """The scorer's ARP side: the ARP monitor's hits pass through and flag the host they name
    (an ARP scanner's or spoofer's IP flows are escalated like a rule-flagged host's)."""

    def __init__(self, scorer: EdgeScorer) -> None:
        self.scorer = scorer

    def on_arp(self, pkt: ArpPacket) -> list[AnomalyEvent]:
        sc = self.scorer
        assert sc.arp is not None
        events = sc.arp.on_arp(pkt)
        for ev in events:
            if ev.src_ip and ev.window_start is not None and ev.window_end is not None:
                w = sc.config.window_s
                windows = range(int(ev.window_start // w), int(ev.window_end // w) + 2)
                weight = SEVERITY_WEIGHT[ev.severity]
                sc._flag((ev.src_ip,), windows, weight, ev.family or "other")
        return events

    def on_tick(self, now: float) -> list[AnomalyEvent]:
        assert self.scorer.arp is not None
        return self.scorer.arp.on_tick(now)
