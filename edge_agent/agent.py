"""The agent runtime: source -> pipeline -> outbox -> uplink, with heartbeats and a status line."""

from __future__ import annotations

import logging
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from contracts.codec import encode
from contracts.events import (
    AnomalyEvent,
    AssetRecord,
    EventBase,
    FLEvent,
    FlowRecord,
    NodeStatus,
)
from contracts.local_model import LocalModelError
from contracts.topics import (
    MQTT_INTEL_PARTS,
    MQTT_INTEL_TOPIC,
    MQTT_MODEL_TOPIC,
    MqttKind,
    mqtt_topic,
)
from contracts.transports import TransportOptions, open_publisher, open_subscriber
from contracts.transports.base import Publisher, Subscriber
from contracts.version import __version__
from edge_agent.capture import PacketSource, open_source
from edge_agent.detectors.arp import ArpMonitor
from edge_agent.detectors.base import Detector
from edge_agent.detectors.baseline import Baseline, BaselineConfig
from edge_agent.detectors.ioc import IocDetector
from edge_agent.detectors.scorer import EdgeScorer
from edge_agent.evidence import FrameRing
from edge_agent.evidence.responder import EvidenceResponder
from edge_agent.finetune import FineTuneConfig, FineTuner
from edge_agent.flows import FlowConfig
from edge_agent.flows.store import FlowStore
from edge_agent.inventory import AssetTracker
from edge_agent.ioc_update import IocUpdater
from edge_agent.model_update import ModelUpdater
from edge_agent.outbox import Outbox
from edge_agent.pipeline import Pipeline
from edge_agent.rules import RuleEngine
from edge_agent.settings import AgentSettings
from edge_agent.uplink import Uplink, UplinkConfig

log = logging.getLogger(__name__)
AGENT_VERSION = __version__
FLAGGED_MEMORY_S = 600.0
"""A host a detector flagged keeps its flows out of the training store this long."""
_KIND = {
    FlowRecord: "flows",
    AnomalyEvent: "anomalies",
    NodeStatus: "status",
    FLEvent: "fl",
    AssetRecord: "assets",
}


def load_scorer(settings: AgentSettings) -> EdgeScorer:
    """The agent's detection stack (rules, the node's baseline, the int8 LSTM, host-window
    escalation) as one :class:`EdgeScorer`: what the agent runs and the benchmarks import."""
    lstm = None
    if settings.model_dir is not None:
        try:
            from edge_agent.detectors.lstm import LstmDetector  # type: ignore[import-not-found,unused-ignore]
        except ImportError:
            log.warning(
                "agent: --model-dir given but the LSTM detector is not available in this build"
            )
        else:
            lstm = LstmDetector.load(settings.model_dir, settings.node_id)
    baseline = None
    if settings.baseline:
        baseline = Baseline(
            BaselineConfig(
                learn_flows=settings.learn_flows,
                learn_s=settings.learn_hours * 3600.0,
                path=settings.baseline_file(),
            )
        )
    return EdgeScorer(
        RuleEngine(settings.rules_file), baseline, lstm, arp=ArpMonitor(settings.node_id)
    )


def load_detectors(settings: AgentSettings) -> list[Detector]:
    """The scorer, and the threat-intel matcher (empty until a signed bundle arrives)."""
    return [load_scorer(settings), *([IocDetector()] if settings.ioc else [])]


def mqtt_options(settings: AgentSettings) -> TransportOptions:
    will = NodeStatus(
        node_id=settings.node_id, online=False, reason="last_will", agent_version=AGENT_VERSION
    )
    return TransportOptions(
        client_id=f"agent-{settings.node_id}",
        ca_file=settings.ca_file,
        cert_file=settings.cert_file,
        key_file=settings.key_file,
        username=settings.mqtt_username,
        password=settings.mqtt_password.get_secret_value() if settings.mqtt_password else None,
        clean_start=False,
        will_topic=mqtt_topic(settings.node_id, MqttKind.STATUS),
        will_payload=encode(will),
    )


class Agent:
    def __init__(
        self,
        settings: AgentSettings,
        publisher: Publisher | None = None,
        source: PacketSource | None = None,
        detectors: list[Detector] | None = None,
    ) -> None:
        self.settings = settings
        self.node_id = settings.node_id
        self.source = source or open_source(settings.source)
        self.pipeline = Pipeline(
            self.node_id,
            detectors if detectors is not None else load_detectors(settings),
            FlowConfig(l7=settings.l7, community_id_seed=settings.community_id_seed),
            inventory=AssetTracker(self.node_id) if settings.inventory else None,
        )
        self.outbox = Outbox(
            settings.outbox_path, settings.outbox_max_rows, settings.outbox_durable
        )
        self.publisher = publisher or open_publisher(settings.mqtt_url, mqtt_options(settings))
        self.uplink = Uplink(
            self.node_id,
            self.outbox,
            self.publisher,
            UplinkConfig(batch_interval_s=settings.batch_interval_s),
        )
        self.scorer: EdgeScorer | None = next(
            (d for d in self.pipeline.detectors if isinstance(d, EdgeScorer)), None
        )
        versions = (getattr(d, "version", None) for d in self.pipeline.detectors)
        self.model_version: str | None = next((str(v) for v in versions if v), None)
        self.updater = self._model_updater()
        self.ioc: IocDetector | None = next(
            (d for d in self.pipeline.detectors if isinstance(d, IocDetector)), None
        )
        self.ioc_updater = self._ioc_updater()
        self.flow_store: FlowStore | None = None
        if settings.flow_store_path is not None:
            self.flow_store = FlowStore(settings.flow_store_path)
        self._store_buffer: list[FlowRecord] = []
        self._flagged: dict[str, float] = {}
        self.started = time.monotonic()
        self._buffer: list[tuple[str, bytes]] = []
        self._pps = 0.0
        self.evidence = FrameRing.megabytes(settings.evidence_mb)
        """Recent raw frames for the hub's evidence requests (None: evidence off)."""
        self.responder = EvidenceResponder(
            self.node_id, self.evidence, self.publisher, settings.evidence_per_minute
        )

    def _model_updater(self) -> ModelUpdater | None:
        s = self.settings
        swappable = next(
            (
                d.lstm if isinstance(d, EdgeScorer) else d
                for d in self.pipeline.detectors
                if hasattr(d, "swap") and (not isinstance(d, EdgeScorer) or d.lstm is not None)
            ),
            None,
        )
        if not s.model_public_keys or swappable is None:
            return None
        from contracts.signing import load_public_keys

        def installed(version: str) -> None:
            self.model_version = version

        return ModelUpdater(
            s.models_root,
            load_public_keys(list(s.model_public_keys)),
            swappable,  # type: ignore[arg-type]
            on_installed=installed,
            fleet_id=s.fleet_id,
            fine_tuner=self._fine_tuner(),
            node_id=s.node_id,
        )

    def _fine_tuner(self) -> FineTuner | None:
        """The node's own fine-tune of each installed global model (off: 0 epochs, or no
        flow store to train on)."""
        s = self.settings
        if s.fine_tune_epochs == 0:
            return None
        if s.flow_store_path is None:
            log.info("agent: no flow store: installed global models are not fine-tuned here")
            return None
        try:
            return FineTuner(
                FineTuneConfig(
                    store=s.flow_store_path,
                    root=s.fine_tune_dir(),
                    node_id=s.node_id,
                    epochs=s.fine_tune_epochs,
                    timeout_s=s.fine_tune_timeout_s,
                    nice=s.fine_tune_nice,
                    python=s.fine_tune_python or sys.executable,
                )
            )
        except LocalModelError as exc:
            log.warning("agent: node fine-tunes off: %s", exc)
            return None

    def _own_subscriber(self, suffix: str, topics: list[str]) -> Subscriber:
        """A subscription of this node's own, with its own client id: not shared, so every
        node gets the retained messages (memory:// keys sessions by group)."""
        opts = mqtt_options(self.settings)
        name = f"agent-{self.node_id}-{suffix}"
        return open_subscriber(
            self.settings.mqtt_url,
            topics,
            group=name if self.settings.mqtt_url.startswith("memory://") else "",
            options=TransportOptions(
                client_id=name,
                ca_file=opts.ca_file,
                cert_file=opts.cert_file,
                key_file=opts.key_file,
                username=opts.username,
                password=opts.password,
            ),
        )

    @staticmethod
    def _daemon(name: str, body: Callable[[], None]) -> threading.Thread:
        t = threading.Thread(target=body, name=name, daemon=True)
        t.start()
        return t

    def _start_model_updates(self, stop: threading.Event) -> threading.Thread | None:
        if self.updater is None:
            return None
        sub = self._own_subscriber("models", [MQTT_MODEL_TOPIC])
        updater = self.updater

        def loop() -> None:
            try:
                updater.run(sub, stop)
            finally:
                sub.close()

        return self._daemon("model-updates", loop)

    def _ioc_updater(self) -> IocUpdater | None:
        s = self.settings
        if self.ioc is None or not s.model_public_keys:
            return None
        from contracts.signing import load_public_keys

        return IocUpdater(
            s.ioc_dir(), load_public_keys(list(s.model_public_keys)), self.ioc, fleet_id=s.fleet_id
        )

    def _start_ioc_updates(self, stop: threading.Event) -> threading.Thread | None:
        """The indicator bundle kept on disk, then the retained topics (own, unshared session)."""
        if self.ioc_updater is None:
            return None
        updater = self.ioc_updater

        def loop() -> None:
            updater.load_installed()
            sub = self._own_subscriber("intel", [MQTT_INTEL_TOPIC, MQTT_INTEL_PARTS])
            try:
                updater.run(sub, stop)
            finally:
                sub.close()

        return self._daemon("ioc-updates", loop)

    def _start_evidence(self, stop: threading.Event) -> threading.Thread:
        """Answer the hub's evidence requests (own persistent session, this node's topic only;
        a node with evidence off answers ``refused``)."""
        responder = self.responder

        def loop() -> None:
            sub = self._own_subscriber("evidence", [responder.request_topic])
            try:
                responder.run(sub, stop)
            finally:
                sub.close()

        return self._daemon("evidence", loop)

    # -- events into the outbox ---------------------------------------------------------------
    def _stage(self, events: list[EventBase]) -> None:
        for ev in events:
            self._buffer.append((_KIND[type(ev)], encode(ev)))
        if self.flow_store is not None:
            now = time.monotonic()
            for ev in events:
                if isinstance(ev, AnomalyEvent) and ev.src_ip:
                    self._flagged[ev.src_ip] = now
                elif isinstance(ev, FlowRecord):
                    self._store_buffer.append(ev)

    def _flush(self) -> None:
        if self.flow_store is not None and self._store_buffer:
            cutoff = time.monotonic() - FLAGGED_MEMORY_S
            self._flagged = {h: t for h, t in self._flagged.items() if t >= cutoff}
            self.flow_store.add(self._store_buffer, set(self._flagged))
            self._store_buffer = []
        if self._buffer:
            self.outbox.put_many(self._buffer)
            self._buffer = []

    def status(self, online: bool = True, reason: str = "heartbeat") -> NodeStatus:
        c = self.pipeline.counters()
        drops = {
            k.removeprefix("skipped_"): v
            for k, v in self.source.stats.as_dict().items()
            if k.startswith("skipped_")
        }
        drops["outbox_dropped_flows"] = self.outbox.dropped
        drops["evicted_flows"] = c.get("ended_evicted", 0)
        if self.updater is not None:
            drops.update(self.updater.drops())
        if self.ioc_updater is not None:
            drops.update(self.ioc_updater.drops())
        drops.update(self.responder.drops())
        return NodeStatus(
            node_id=self.node_id,
            online=online,
            reason=reason,  # type: ignore[arg-type]
            uptime_s=time.monotonic() - self.started,
            packets_per_s=self._pps,
            flows_total=c["flows"],
            anomalies_total=c["anomalies"],
            outbox_depth=len(self.outbox),
            model_version=self.model_version,
            drops=dict(list(drops.items())[:32]),
            agent_version=AGENT_VERSION,
            source=self.settings.source[:200],
            baseline=self.scorer.baseline_state if self.scorer is not None else None,
            baseline_progress=(
                self.scorer.baseline.progress
                if self.scorer is not None and self.scorer.baseline is not None
                else None
            ),
        )

    # -- the loop -------------------------------------------------------------------------------
    def run(
        self, stop: threading.Event, drain_timeout: float = 15.0, keep_running: bool = False
    ) -> dict[str, Any]:
        s = self.settings
        self.uplink.start()
        updates_stop = threading.Event()
        updates = self._start_model_updates(updates_stop)
        ioc_updates = self._start_ioc_updates(updates_stop)
        evidence = self._start_evidence(updates_stop)
        ring, source = self.evidence, self.source
        self._stage([self.status(reason="startup")])
        self._flush()
        next_flush = next_beat = time.monotonic()
        next_line = time.monotonic() + s.status_interval_s
        last_packets, last_line_t = 0, time.monotonic()
        packets = 0
        try:
            for pkt in self.source:
                now = time.monotonic()
                if pkt is None:
                    self._stage(self.pipeline.tick(time.time()))
                else:
                    packets += 1
                    if ring is not None:
                        ring.add_packet(pkt, getattr(source, "linktype", 1))
                    self._stage(self.pipeline.feed(pkt))
                if now >= next_flush:
                    self._flush()
                    next_flush = now + s.batch_interval_s
                if now >= next_beat or now >= next_line:
                    self._pps = (packets - last_packets) / max(now - last_line_t, 1e-6)
                    last_packets, last_line_t = packets, now
                if now >= next_beat:
                    self._stage([self.status()])
                    next_beat = now + s.heartbeat_s
                if now >= next_line:
                    next_line = now + s.status_interval_s
                    self._status_line()
                if stop.is_set() or (s.max_packets is not None and packets >= s.max_packets):
                    break
            self._stage(self.pipeline.close())
            while keep_running and not stop.is_set():
                self._flush()
                self._stage([self.status()])
                stop.wait(s.heartbeat_s)
        finally:
            updates_stop.set()
            if self.updater is not None and self.updater.fine_tuner is not None:
                self.updater.fine_tuner.cancel()
            if updates is not None:
                updates.join(5)
            if ioc_updates is not None:
                ioc_updates.join(5)
            evidence.join(5)
            self._stage([self.status(online=False, reason="shutdown")])
            self._flush()
            drained = self.uplink.drain(drain_timeout)
            self.uplink.stop()
            self._status_line()
            self.publisher.close()
            self.outbox.close()
            if self.flow_store is not None:
                self.flow_store.close()
        return {
            **self.pipeline.counters(),
            "outbox_left": 0 if drained else -1,
            "acked_events": self.uplink.acked_events,
        }

    def _status_line(self) -> None:
        c = self.pipeline.counters()
        log.info(
            "agent %s: %.0f pkt/s, %d packets, %d flows, %d anomalies, outbox %d, in flight %d",
            self.node_id,
            self._pps,
            c["packets"],
            c["flows"],
            c["anomalies"],
            len(self.outbox),
            self.uplink.inflight(),
        )


def outbox_stats(path: Path) -> dict[str, int]:
    ob = Outbox(path)
    try:
        return ob.stats()
    finally:
        ob.close()
