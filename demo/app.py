"""``fednids demo``: simulated sensors, the bridge, the ingestor, the API and the dashboard
in one process on the embedded defaults (``memory://`` transports, SQLite).

Each simulated sensor is a real :class:`edge_agent.agent.Agent` (pipeline, rules, outbox,
uplink) whose "MQTT" is the in-process broker; the bridge, the ingestor and the API are the
same classes the multi-process deployment runs on Mosquitto, Kafka and PostgreSQL.
"""

from __future__ import annotations

import logging
import tempfile
import threading
import time
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path

from bridge.service import Bridge
from contracts.codec import encode
from contracts.events import NodeStatus
from contracts.topics import MqttKind, mqtt_subscription, mqtt_topic
from contracts.transports import TransportOptions, open_publisher, open_subscriber, parse_url
from edge_agent.agent import Agent
from edge_agent.settings import AgentSettings
from hub.bus import EventBus
from hub.ingestor import INGEST_TOPICS, Ingestor
from hub.services.alerting import AlertingService
from hub.services.classifier_service import ClassifierService
from hub.services.iforest_service import DEFAULT_MODEL as IFOREST_MODEL
from hub.services.iforest_service import IForestService, NodeLearning
from hub.services.runtime import ServiceRuntime
from hub.services.settings import ServicesSettings
from hub.services.suppressions import Suppressions
from hub.settings import HubSettings
from hub.storage import EventStore
from hub.storage.tokens import create_token
from models.classifier import ThreatClassifier
from models.iforest import IForestModel

log = logging.getLogger("fednids.demo")
REPO = Path(__file__).resolve().parents[1]
"""A checkout's root: only for the dashboard's build (``dashboard/dist``), never installed."""
_ARTIFACTS = Path(str(files("models") / "artifacts"))
DEFAULT_MODEL = _ARTIFACTS / "lstm-ae"
"""The shipped int8 LSTM autoencoder (``fednids models train`` rebuilds it)."""
CLASSIFIER_MODEL = _ARTIFACTS / "classifier"
DEMO_SESSION_S = 600
"""How long a real broker keeps the demo bridge's session after the demo stops."""
GNN_MODEL: Path = ServicesSettings.model_fields["gnn_model"].default
"""The shipped GNN predictor, where the hub's services find it by default."""


@dataclass
class DemoConfig:
    port: int = 8000
    host: str = "127.0.0.1"
    nodes: int = 3
    duration: float = 600.0
    db_url: str | None = None
    transport: str = "memory://demo"
    mqtt_url: str | None = None
    """The agents' broker (default: ``transport``), e.g. ``mqtt://127.0.0.1:1883``."""
    kafka_url: str | None = None
    """The hub's event log (default: ``transport``), e.g. ``kafka://127.0.0.1:9092``."""
    offline_after: float | None = None
    """Stop the last sensor abruptly after this many seconds (its last will marks it offline)."""
    speed: float = 1.0
    state_dir: Path | None = None
    fl_rounds: int = 3
    """Federated rounds on a local Flower federation of the sensors (0: none)."""
    fl_after: float = 40.0
    """Seconds of traffic the sensors collect before the federation starts."""


class Demo:
    def __init__(self, cfg: DemoConfig) -> None:
        self.cfg = cfg
        self.dir = cfg.state_dir or Path(tempfile.mkdtemp(prefix="fednids-demo-"))
        self.dir.mkdir(parents=True, exist_ok=True)
        self.db_url = cfg.db_url or f"sqlite:///{self.dir / 'hub.db'}"
        self.mqtt = cfg.mqtt_url or cfg.transport
        self.kafka = cfg.kafka_url or cfg.transport
        if self.kafka.startswith("kafka"):
            from contracts.topics import KafkaTopic
            from contracts.transports.kafka import ensure_topics

            ensure_topics(parse_url(self.kafka), [t.value for t in KafkaTopic])
        group = f"demo-{self.dir.name}"
        self.store = EventStore(self.db_url)
        self.store.create_schema()
        self.bus = EventBus()
        self.stop = threading.Event()
        self.threads: list[threading.Thread] = []
        self.agents: list[Agent] = []
        self._agent_stops: list[threading.Event] = []
        self.ingestor = Ingestor(
            open_subscriber(self.kafka, INGEST_TOPICS, f"{group}-ingestor"),
            self.store,
            open_publisher(self.kafka),
            self.bus,
        )
        self.bridge = Bridge(
            # a demo's bridge session on a real broker outlives the demo by 10 min, not the
            # bridge's 7 days: otherwise every later message of the broker queues for it
            open_subscriber(
                self.mqtt,
                [mqtt_subscription()],
                f"{group}-bridge",
                options=TransportOptions(session_expiry_s=DEMO_SESSION_S),
            ),
            open_publisher(self.kafka),
        )
        alerting = AlertingService(
            update_every_s=10.0,
            suppressions=Suppressions(self.store.active_suppressions, refresh_s=5.0),
        )
        self.services: list[ServiceRuntime] = []
        if (IFOREST_MODEL / "model.joblib").is_file():
            # each sensor's own traffic is its baseline at the hub too (500 flows: a demo minute)
            iforest = IForestService(
                IForestModel.load(IFOREST_MODEL),
                NodeLearning(flows=500, state_dir=self.dir / "iforest"),
            )
            self.services.append(
                ServiceRuntime(
                    iforest,
                    open_subscriber(self.kafka, list(iforest.inputs), f"{group}-{iforest.name}"),
                    open_publisher(self.kafka),
                )
            )
        if (CLASSIFIER_MODEL / "model.joblib").is_file():
            clf = ClassifierService(ThreatClassifier.load(CLASSIFIER_MODEL))
            self.services.append(
                ServiceRuntime(
                    clf,
                    open_subscriber(self.kafka, list(clf.inputs), f"{group}-{clf.name}"),
                    open_publisher(self.kafka),
                )
            )
        if GNN_MODEL.is_dir() and any(GNN_MODEL.iterdir()):
            from hub.services.gnn_service import GnnService
            from models.gnn.model import load_predictor

            gnn = GnnService(load_predictor(GNN_MODEL), every_s=10.0)
            self.services.append(
                ServiceRuntime(
                    gnn,
                    open_subscriber(self.kafka, list(gnn.inputs), f"{group}-{gnn.name}"),
                    open_publisher(self.kafka),
                )
            )
        self.federation = None
        self.model_pub: Path | None = None
        if cfg.fl_rounds > 0:
            from contracts.signing import generate_keypair
            from demo.fl import DemoFederation

            key, self.model_pub = generate_keypair(self.dir / "signing")
            self.federation = DemoFederation(
                self.dir / "fl",
                {f"sensor-{i + 1}": self._flow_store(f"sensor-{i + 1}") for i in range(cfg.nodes)},
                key,
                self.mqtt,
                self.kafka,
                rounds=cfg.fl_rounds,
                start_after_s=cfg.fl_after,
            )
        self.alerting = ServiceRuntime(
            alerting,
            open_subscriber(self.kafka, list(alerting.inputs), f"{group}-{alerting.name}"),
            open_publisher(self.kafka),
        )

    def _flow_store(self, node: str) -> Path:
        return self.dir / f"{node}.flows.db"

    def tokens(self) -> tuple[str, str]:
        stamp = int(time.time())
        return (
            create_token(self.store, f"demo-operator-{stamp}", "operator"),
            create_token(self.store, f"demo-read-{stamp}", "read"),
        )

    def _spawn(self, name: str, target, *args) -> None:  # type: ignore[no-untyped-def]
        t = threading.Thread(target=target, args=args, name=name, daemon=True)
        t.start()
        self.threads.append(t)

    def start_pipeline(self) -> None:
        self._spawn("bridge", self._loop, self.bridge.step)
        self._spawn("ingestor", self._loop, self.ingestor.step, self.stop)
        self._spawn("alerting", self._loop, self.alerting.step)
        for svc in self.services:
            self._spawn(svc.service.name, self._loop, svc.step)
        for i in range(self.cfg.nodes):
            node = f"sensor-{i + 1}"
            source = (
                f"sim:demo?seed={i + 1}&net=10.{i + 1}.0&hosts=12&duration={self.cfg.duration}"
                f"&speed={self.cfg.speed}"
            )
            settings = AgentSettings(
                node_id=node,
                source=source,
                mqtt_url=self.mqtt,
                outbox_path=self.dir / f"{node}.outbox.db",
                model_dir=DEFAULT_MODEL if (DEFAULT_MODEL / "model.tflite").is_file() else None,
                heartbeat_s=5.0,
                status_interval_s=30.0,
                flow_store_path=self._flow_store(node) if self.federation else None,
                # the demo's sensors share one machine: no per-node fine-tune jobs (each one
                # peaks at 1-1.5 GB while it exports; docs/federated.md "Utility under DP")
                fine_tune_epochs=0,
                model_public_keys=[self.model_pub] if self.model_pub else [],
                models_root=self.dir / f"{node}.models",
                # the demo's sensors learn their network for its first minute (a real one: a day)
                learn_flows=200,
                learn_hours=60 / 3600,
            )
            in_process = self.mqtt.startswith("memory://")
            agent = Agent(settings, publisher=open_publisher(self.mqtt) if in_process else None)
            stop = threading.Event()
            self.agents.append(agent)
            self._agent_stops.append(stop)
            self._spawn(node, agent.run, stop, 10.0, True)
        if self.cfg.offline_after is not None:
            self._spawn("offline", self._take_offline, self.cfg.offline_after)
        if self.federation is not None:
            self._spawn("federation", self.federation.run)

    def _loop(self, step, *args) -> None:  # type: ignore[no-untyped-def]
        while not self.stop.is_set():
            try:
                step(*args)
            except Exception:
                log.exception("demo: %s failed a step; continuing", threading.current_thread().name)
                time.sleep(1)

    def _take_offline(self, after: float) -> None:
        if self.stop.wait(after) or not self.agents:
            return
        agent, stop = self.agents[-1], self._agent_stops[-1]
        stop.set()  # the sensor "dies": its broker publishes its last will
        will = NodeStatus(node_id=agent.node_id, online=False, reason="last_will")
        open_publisher(self.mqtt).publish(
            mqtt_topic(agent.node_id, MqttKind.STATUS), encode(will), retain=True
        )
        log.info("demo: %s went offline (last will)", agent.node_id)

    def status_line(self) -> str:
        c = [a.pipeline.counters() for a in self.agents]
        return (
            f"sensors {len(self.agents)} | packets {sum(x['packets'] for x in c)} | flows {sum(x['flows'] for x in c)}"
            f" | anomalies {sum(x['anomalies'] for x in c)} | bridged {self.bridge.acked} msgs"
            f" | alerts {self.alerting.produced} | stored {self.ingestor.stored} | live listeners {self.bus.listeners()}"
            + (f" | {self.federation.status()}" if self.federation else "")
        )

    def shutdown(self) -> None:
        if self.federation is not None:
            self.federation.stop()
        for s in self._agent_stops:
            s.set()
        time.sleep(0.5)
        self.stop.set()
        for t in self.threads:
            t.join(timeout=15)


def static_dir() -> Path:
    built = REPO / "dashboard" / "dist"
    return built if (built / "index.html").is_file() else Path(str(files("hub.api") / "static"))


def run_demo(cfg: DemoConfig) -> int:
    import uvicorn

    from hub.api.app import create_app

    t0 = time.monotonic()
    demo = Demo(cfg)
    operator, read = demo.tokens()
    settings = HubSettings(
        db_url=demo.db_url, host=cfg.host, port=cfg.port, static_dir=str(static_dir())
    )
    app = create_app(settings, demo.store, demo.bus)
    server = uvicorn.Server(uvicorn.Config(app, host=cfg.host, port=cfg.port, log_level="warning"))
    demo.start_pipeline()
    api = threading.Thread(target=server.run, name="api", daemon=True)
    api.start()
    while not server.started and api.is_alive():
        time.sleep(0.05)
    if not api.is_alive():
        log.error("the API could not start on %s:%d (port taken?)", cfg.host, cfg.port)
        demo.shutdown()
        return 1
    url = f"http://{cfg.host}:{cfg.port}/"
    print(f"fednids demo ready in {time.monotonic() - t0:.1f}s", flush=True)
    print(f"  dashboard  {url}", flush=True)
    print(f"  API        {url}api/health   (OpenAPI: {url}api/docs)", flush=True)
    print(f"  operator token  {operator}", flush=True)
    print(f"  read token      {read}", flush=True)
    print(f"  state in {demo.dir}; Ctrl-C stops", flush=True)
    from contracts.runtime import stop_event_on_signals

    stop = stop_event_on_signals()
    try:
        while not stop.wait(5.0):
            print(demo.status_line(), flush=True)
    finally:
        server.should_exit = True
        demo.shutdown()
        api.join(timeout=10)
    print("fednids demo stopped", flush=True)
    return 0
