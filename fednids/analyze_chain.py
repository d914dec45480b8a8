"""The chain ``fednids analyze`` runs: the bridge, the hub's analytics services and the
ingestor on two in-process brokers (``memory://``: one for "MQTT", one for "Kafka"), one
thread per stage, and the deterministic end of a replay.

The end: once the agent has read the whole capture and its outbox is acknowledged,
:meth:`Chain.wait_consumed` waits (bounded) until every consumer group has committed every
topic and nothing moved for a moment; then the threads stop, :meth:`Chain.settle` steps the
stages in pipeline order until a whole round moves nothing, :meth:`Chain.flush_services` hands
on what the services hold for the end of a replay (the classifier's join window, the
incidents' last updates), and the stages settle again.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from contracts.codec import encode
from contracts.errors import ContractError
from contracts.events import AlertEvent, EventBase, FlowRecord
from contracts.topics import topic_for_event_kind
from contracts.transports import open_publisher, open_subscriber
from contracts.transports.base import Publisher, Subscriber
from contracts.transports.memory import MemoryBroker, topic_matches

log = logging.getLogger("fednids.analyze")
QUIET_S = 0.3
"""Nothing moved this long (and nothing left unread): every stage is done."""


@dataclass
class _Consumer:
    broker: MemoryBroker
    group: str
    filters: list[str]

    def lag(self) -> int:
        return sum(
            self.broker.lag(self.group, t)
            for t in self.broker.topics()
            if any(topic_matches(f, t) for f in self.filters)
        )


class _PollWatch:
    """A service's subscriber that remembers whether its last poll came back full (more of
    its input is waiting)."""

    def __init__(self, inner: Subscriber) -> None:
        self.inner = inner
        self.full = False

    def poll(self, timeout: float = 1.0, max_messages: int = 500) -> list[Any]:
        msgs = self.inner.poll(timeout, max_messages)
        self.full = len(msgs) >= max_messages
        return msgs

    def ack(self, messages: Sequence[Any]) -> None:
        self.inner.ack(messages)

    def close(self) -> None:
        self.inner.close()


class ReplayClock:
    """The threat classifier's processing-time clock for a capture read as fast as possible.

    The classifier waits ``grace_s`` of processing time for votes read after their flows
    (a live hub's topics are not ordered). A replay outruns the hub: a vote can be far behind
    its flow in a backlog, and on the wall clock the flow would be dropped unvoted, more or
    fewer of them as the machine is busier. This clock stands still while any input of the
    classifier is still unread (its last poll came back full) or a stage upstream of it (the
    bridge, the Isolation Forest) is behind; when everything is caught up it runs with the
    wall clock, as on a live hub. The classifications then do not depend on the machine's load.
    """

    def __init__(self, behind: Callable[[], bool]) -> None:
        self.behind = behind
        self._paused = 0.0
        self._since: float | None = None

    def __call__(self) -> float:
        now = time.monotonic()
        if self.behind():
            if self._since is None:
                self._since = now
            return self._since - self._paused
        if self._since is not None:
            self._paused += now - self._since
            self._since = None
        return now - self._paused


class Chain:
    """Bridge, hub services and ingestor on two in-process brokers, one thread each.

    The services' models (scikit-learn, torch) take seconds to load: :meth:`start` loads them
    in the background while the agent already reads the capture; a consumer group that joins
    late reads its topics from the beginning, as a new Kafka group would with ``earliest``."""

    def __init__(
        self,
        db_url: str,
        run_id: str,
        state: Path,
        services: Any = None,
        suppressions: bool = False,
    ) -> None:
        from bridge.service import Bridge
        from contracts.topics import mqtt_subscription
        from hub.ingestor import INGEST_TOPICS, Ingestor
        from hub.services.runtime import ServiceRuntime
        from hub.storage import EventStore

        self.state = state
        self.settings = services
        """The hub services' settings (``ServicesSettings``; None: their defaults)."""
        self.suppressions = suppressions
        """The alerting service marks incidents with the store's active suppressions (put
        there before :meth:`start`, ``fednids analyze --suppressions``)."""
        """Where the hub services keep their state (the Isolation Forest's node baselines)."""
        self.mqtt_url = f"memory://analyze-{run_id}-mqtt"
        self.kafka_url = f"memory://analyze-{run_id}-kafka"
        self._names = [f"analyze-{run_id}-mqtt", f"analyze-{run_id}-kafka"]
        self._mqtt, self._kafka = (MemoryBroker.named(n) for n in self._names)
        self.consumers: list[_Consumer] = []
        self.store = EventStore(db_url)
        self.store.create_schema()
        self.stop_event = threading.Event()
        self.threads: list[threading.Thread] = []
        self.errors: list[str] = []
        self.skipped: dict[str, str] = {}
        """Hub services not run, with the reason (model not installed or not loadable)."""
        self.runtimes: list[ServiceRuntime] = []
        self._loader: threading.Thread | None = None
        self.bridge = Bridge(
            self._sub(self._mqtt, [mqtt_subscription()], "bridge"),
            open_publisher(self.kafka_url),
        )
        self.ingestor = Ingestor(
            self._sub(self._kafka, INGEST_TOPICS, "ingestor"),
            self.store,
            open_publisher(self.kafka_url),
        )

    def _sub(self, broker: MemoryBroker, topics: Sequence[str], group: str) -> Subscriber:
        self.consumers.append(_Consumer(broker, group, list(topics)))
        url = self.mqtt_url if broker is self._mqtt else self.kafka_url
        return open_subscriber(url, list(topics), group)

    @property
    def service_names(self) -> list[str]:
        return [rt.service.name for rt in self.runtimes]

    def start(self) -> None:
        """Bridge and ingestor threads now; the services' threads once their models loaded."""
        self._spawn("bridge", lambda: self.bridge.step(0.2))
        self._spawn("ingestor", lambda: self.ingestor.step(self.stop_event, 0.2))
        self._loader = threading.Thread(target=self._load_services, name="load", daemon=True)
        self._loader.start()

    def _load_services(self) -> None:
        try:
            self._start_services()
        except Exception as exc:  # noqa: BLE001 (recorded: the run reports itself incomplete)
            self._failed("hub services", exc)

    def _start_services(self) -> None:
        from hub.services.alerting import AlertingService
        from hub.services.alerting.runtime import AlertingRuntime
        from hub.services.runtime import ServiceRuntime

        watch: _PollWatch | None = None

        def behind() -> bool:
            upstream = ("bridge", "anomaly-iforest")
            return (
                (watch is not None and watch.full)
                or self.bridge.in_flight() > 0
                or any(c.lag() for c in self.consumers if c.group in upstream)
            )

        def any_behind() -> bool:
            return self.bridge.in_flight() > 0 or any(c.lag() for c in self.consumers)

        clocks = (ReplayClock(behind), ReplayClock(any_behind))
        marks = None
        if self.suppressions:
            from hub.services.suppressions import Suppressions

            marks = Suppressions(self.store.active_suppressions)
        for svc in _services(self.skipped, self.state, clocks, self.settings, marks):
            kind = AlertingRuntime if isinstance(svc, AlertingService) else ServiceRuntime
            sub: Subscriber = self._sub(self._kafka, list(svc.inputs), svc.name)
            if svc.name == "threat-classifier":
                sub = watch = _PollWatch(sub)
            rt = kind(svc, sub, open_publisher(self.kafka_url))
            self.runtimes.append(rt)
            if not self.stop_event.is_set():
                self._spawn(svc.name, lambda rt=rt: rt.step(0.2))  # type: ignore[misc]

    def wait_loaded(self, timeout: float = 600.0) -> None:
        if self._loader is not None:
            self._loader.join(timeout)

    def _spawn(self, name: str, step: Callable[[], int]) -> None:
        t = threading.Thread(target=self._loop, args=(name, step), name=name, daemon=True)
        t.start()
        self.threads.append(t)

    def _loop(self, name: str, step: Callable[[], int]) -> None:
        while not self.stop_event.is_set():
            try:
                step()
            except Exception as exc:  # noqa: BLE001 (recorded in the summary, run goes on)
                self._failed(name, exc)
                self.stop_event.wait(0.5)

    def _failed(self, name: str, exc: BaseException) -> None:
        msg = f"{name}: {type(exc).__name__}: {exc}"
        if len(self.errors) < 20:
            self.errors.append(msg[:300])
        log.warning("analyze: %s failed a step: %s", name, exc, exc_info=log.isEnabledFor(10))

    def lag(self) -> int:
        return sum(c.lag() for c in self.consumers) + self.bridge.in_flight()

    def wait_consumed(self, timeout: float, quiet_s: float = QUIET_S) -> bool:
        """Wait until every group has consumed every topic and nothing moved for ``quiet_s``."""
        deadline = time.monotonic() + timeout
        quiet_since: float | None = None
        last: tuple[int, ...] = ()
        while time.monotonic() < deadline and not self.errors:  # a failed batch stays unread
            sig = (
                self.lag(),
                self.ingestor.stored,
                *(rt.handled + rt.produced for rt in self.runtimes),
            )
            now = time.monotonic()
            if sig[0] == 0 and sig == last:
                quiet_since = quiet_since or now
                if now - quiet_since >= quiet_s:
                    return True
            else:
                quiet_since, last = None, sig
            time.sleep(0.05)
        return False

    def stop_threads(self) -> None:
        self.wait_loaded()
        self.stop_event.set()
        for t in self.threads:
            t.join(timeout=30)
        self.threads = []

    def settle(self, max_rounds: int = 1_000_000) -> bool:
        """With the threads stopped: step every stage in pipeline order until a whole round
        moves nothing. True when then every group has consumed everything."""
        steps: list[tuple[str, Callable[[], int]]] = [
            ("bridge", lambda: self.bridge.step(0.0)),
            *((rt.service.name, lambda rt=rt: rt.step(0.0)) for rt in self.runtimes),  # type: ignore[misc]
            # the stop flag is set: a store error returns the batch uncommitted, no retry loop
            ("ingestor", lambda: self.ingestor.step(self.stop_event, 0.0)),
        ]
        idle = 0
        for _ in range(max_rounds):
            moved = 0
            for name, step in steps:
                try:
                    moved += step()
                except Exception as exc:  # noqa: BLE001 (recorded in the summary, run goes on)
                    self._failed(name, exc)
            if moved:
                idle = 0
                continue
            if self.lag() == 0:
                return True
            idle += 1  # a bridge delivery still to confirm, or a batch a failed stage left
            if idle >= 3:
                return False
        return self.lag() == 0

    def flush_services(self) -> int:
        """End of the replay: each service that holds events for later (a ``flush()``) hands
        them on now, in pipeline order, each followed by a settle. Returns events flushed."""
        total = 0
        for rt in self.runtimes:
            flush = getattr(rt.service, "flush", None)
            if not callable(flush):
                continue
            outputs = flush()
            if not isinstance(outputs, list):  # a flush that only saves state
                continue
            _publish(rt.pub, outputs)
            rt.produced += len(outputs)
            total += len(outputs)
            self.settle()
        return total

    def export_eve(self, path: Path, incidents: Sequence[AlertEvent]) -> dict[str, int]:
        """Every flow the chain carried (read again from its ``network_data`` topic by a group
        of its own) and every incident, as Suricata EVE JSON lines in ``path``; the count of
        each ``event_type`` written. Call it after the run has settled."""
        from contracts.codec import decode
        from contracts.topics import KafkaTopic
        from hub.outputs.eve import alert_record, flow_records

        counts: Counter[str] = Counter()
        seen: set[str] = set()  # delivery is at least once: a resent flow is written once
        sub = open_subscriber(self.kafka_url, [KafkaTopic.NETWORK_DATA.value], "analyze-eve")
        try:
            with path.open("w", encoding="utf-8") as f:
                while msgs := sub.poll(0.1, 5000):
                    for m in msgs:
                        try:
                            ev = decode(m.value)
                        except ContractError:  # the ingestor dead-lettered it already
                            counts["undecodable"] += 1
                            continue
                        if isinstance(ev, FlowRecord) and str(ev.event_id) in seen:
                            counts["duplicate"] += 1
                        if isinstance(ev, FlowRecord) and str(ev.event_id) not in seen:
                            seen.add(str(ev.event_id))
                            for rec in flow_records(ev):
                                f.write(json.dumps(rec, separators=(",", ":")) + "\n")
                                counts[rec["event_type"]] += 1
                    sub.ack(msgs)
                for a in incidents:
                    f.write(json.dumps(alert_record(a), separators=(",", ":")) + "\n")
                    counts["alert"] += 1
        finally:
            sub.close()
        return dict(counts)

    def close(self) -> None:
        self.stop_threads()
        self.bridge.shutdown(timeout=5)
        for rt in self.runtimes:
            close = getattr(rt.service, "close", None)
            if callable(close):
                try:
                    close()
                except Exception as exc:  # noqa: BLE001 (state saving only; the results stand)
                    self._failed(rt.service.name, exc)
            rt.sub.close()
            rt.pub.close()
        self.ingestor.sub.close()
        self.ingestor.dlq.close()
        self.store.engine.dispose()
        for n in self._names:
            MemoryBroker.reset(n)


def _publish(pub: Publisher, outputs: Sequence[EventBase]) -> None:
    for ev in outputs:
        kind: str = ev.kind  # type: ignore[attr-defined]
        pub.publish(topic_for_event_kind(kind).value, encode(ev), key=ev.node_id.encode())
    pub.flush(60)


def _services(
    skipped: dict[str, str],
    state: Path,
    clocks: tuple[Callable[[], float], Callable[[], float]],
    settings: Any = None,
    suppressions: Any = None,
) -> list[Any]:
    """The hub's analytics services built as ``fednids hub anomaly-iforest|threat-classifier|
    gnn-predictor|alerting`` build them, from ``settings`` (``ServicesSettings``, which the entry
    point reads from ``FEDNIDS_SERVICES_*``; None: the defaults), in pipeline order; the Isolation Forest keeps its per-node baselines under ``state``, the
    threat classifier and the alerting service run on ``clocks`` (two :class:`ReplayClock`: the
    classifier's stands still while its inputs are behind, the alerting's while anything is,
    so incidents do not expire by the machine's load). One
    whose model is missing or unloadable is left out (with the reason in ``skipped``)."""
    from hub.services.alerting import AlertingService
    from hub.services.settings import ServicesSettings

    s = settings if settings is not None else ServicesSettings.model_construct()
    clock, alert_clock = clocks

    def iforest() -> Any:
        from hub.services.iforest_service import IForestService, NodeLearning
        from models.iforest import IForestModel

        learning = NodeLearning(
            flows=s.iforest_learn_flows,
            max_nodes=s.iforest_max_nodes,
            trim=s.iforest_trim,
            quantile=s.iforest_quantile,
            state_dir=state / "iforest",
        )
        model = IForestModel.load(s.iforest_model)
        return IForestService(model, learning if s.iforest_learn_flows > 0 else None)

    def classifier() -> Any:
        from hub.services.classifier_service import ClassifierService
        from models.classifier import ThreatClassifier

        return ClassifierService(
            ThreatClassifier.load(s.classifier_model),
            hold_s=s.join_hold_s,
            grace_s=s.join_grace_s,
            clock=clock,
        )

    def gnn() -> Any:
        from hub.services.gnn_service import GnnService
        from models.gnn.model import load_predictor

        return GnnService(load_predictor(s.gnn_model), every_s=s.predict_every_s, top_k=s.top_k)

    out: list[Any] = []
    for name, path, make in (
        ("anomaly-iforest", s.iforest_model / "model.joblib", iforest),
        ("threat-classifier", s.classifier_model / "model.joblib", classifier),
        ("gnn-predictor", s.gnn_model, gnn),
    ):
        if not path.exists() or (path.is_dir() and not any(path.iterdir())):
            skipped[name] = f"no model at {path}"
        else:
            try:
                out.append(make())
            except Exception as exc:  # noqa: BLE001 (the run goes on without it, and says so)
                skipped[name] = f"{type(exc).__name__}: {exc}"[:300]
        if name in skipped:
            log.warning("analyze: the hub runs without %s: %s", name, skipped[name])
    out.append(
        AlertingService(
            update_every_s=s.alert_update_every_s,
            quiet_s=s.alert_quiet_s,
            min_severity=s.alert_min_severity,
            corroborate_s=s.alert_corroborate_s,
            corroborate_detectors=s.alert_corroborate_detectors,
            corroborate_flows=s.alert_corroborate_flows,
            solo_severity=s.alert_solo_severity,
            fanin_sources=s.alert_fanin_sources,
            classified_open_confidence=s.alert_classified_open_confidence,
            max_open=s.alert_max_open,
            clock=alert_clock,
            suppressions=suppressions,
        )
    )
    return out
