"""Apache Kafka in KRaft mode (one combined broker + controller) from Maven Central jars."""

from __future__ import annotations

import re
import shutil
import subprocess
import uuid
from pathlib import Path

from tests.harness.base import CACHE, HarnessError, Server

POM = Path(__file__).with_name("kafka") / "pom.xml"


def kafka_version() -> str:
    m = re.search(r"<kafka.version>([^<]+)</kafka.version>", POM.read_text())
    assert m, "kafka.version missing from the harness pom"
    return m.group(1)


def kafka_libs() -> Path:
    """The broker jars, fetched once with Maven into .cache/kafka/<version>/libs."""
    version = kafka_version()
    libs = CACHE / "kafka" / version / "libs"
    marker = libs / ".complete"
    if marker.exists():
        return libs
    if shutil.which("mvn") is None or shutil.which("java") is None:
        raise HarnessError(
            "kafka: java and mvn are needed (apt-get install openjdk-17-jre-headless maven)"
        )
    libs.mkdir(parents=True, exist_ok=True)
    print(
        f"harness: fetching Apache Kafka {version} jars from Maven Central into {libs}", flush=True
    )
    proc = subprocess.run(
        [
            "mvn",
            "-q",
            "-B",
            "-f",
            str(POM),
            "dependency:copy-dependencies",
            f"-DoutputDirectory={libs}",
            "-DincludeScope=runtime",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        raise HarnessError(
            f"kafka: mvn dependency:copy-dependencies failed:\n{proc.stdout[-3000:]}{proc.stderr[-3000:]}"
        )
    marker.write_text(version)
    return libs


LOG4J = """status = warn
appender.file.type = Console
appender.file.name = OUT
appender.file.layout.type = PatternLayout
appender.file.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = INFO
rootLogger.appenderRef.out.ref = OUT
logger.state.name = state.change.logger
logger.state.level = WARN
logger.raft.name = org.apache.kafka.raft
logger.raft.level = WARN
"""


class KafkaServer(Server):
    name = "kafka"
    start_timeout = 90.0

    def __init__(
        self, port: int = 19092, controller_port: int | None = None, heap_mb: int = 512
    ) -> None:
        super().__init__(port)
        self.controller_port = controller_port or port + 1
        self.heap_mb = heap_mb
        self.data = self.dir / "data"

    @property
    def url(self) -> str:
        return f"kafka://{self.host}:{self.port}"

    @property
    def bootstrap(self) -> str:
        return f"{self.host}:{self.port}"

    def version(self) -> str:
        return f"Apache Kafka {kafka_version()} (KRaft)"

    def _install(self) -> None:
        self.libs = kafka_libs()

    def _java(self, *args: str) -> list[str]:
        return [
            "java",
            f"-Xmx{self.heap_mb}m",
            "-Xms128m",
            "-XX:+UseSerialGC",
            "-XX:TieredStopAtLevel=1",
            f"-Dlog4j2.configurationFile={self.dir / 'log4j2.properties'}",
            "-cp",
            f"{self.libs}/*",
            *args,
        ]

    def _prepare(self) -> None:
        (self.dir / "log4j2.properties").write_text(LOG4J)
        props = {
            "process.roles": "broker,controller",
            "node.id": "1",
            "controller.quorum.voters": f"1@{self.host}:{self.controller_port}",
            "listeners": f"PLAINTEXT://{self.host}:{self.port},CONTROLLER://{self.host}:{self.controller_port}",
            "advertised.listeners": f"PLAINTEXT://{self.host}:{self.port}",
            "controller.listener.names": "CONTROLLER",
            "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
            "inter.broker.listener.name": "PLAINTEXT",
            "log.dirs": str(self.data),
            "offsets.topic.replication.factor": "1",
            "offsets.topic.num.partitions": "3",
            "transaction.state.log.replication.factor": "1",
            "transaction.state.log.min.isr": "1",
            "share.coordinator.state.topic.replication.factor": "1",
            "share.coordinator.state.topic.min.isr": "1",
            "group.initial.rebalance.delay.ms": "0",
            "num.partitions": "3",
            "auto.create.topics.enable": "true",
            "log.flush.interval.messages": "9223372036854775807",
            "num.network.threads": "2",
            "num.io.threads": "2",
        }
        (self.dir / "server.properties").write_text("".join(f"{k}={v}\n" for k, v in props.items()))
        if not (self.data / "meta.properties").exists():
            self.data.mkdir(parents=True, exist_ok=True)
            proc = subprocess.run(
                self._java(
                    "kafka.tools.StorageTool",
                    "format",
                    "-t",
                    _cluster_id(),
                    "-c",
                    str(self.dir / "server.properties"),
                ),
                capture_output=True,
                text=True,
                check=False,
            )
            if proc.returncode != 0:
                raise HarnessError(f"kafka: storage format failed: {proc.stdout}{proc.stderr}")

    def _command(self) -> list[str]:
        return self._java("kafka.Kafka", str(self.dir / "server.properties"))

    def _ready(self) -> bool:
        from tests.harness.base import port_open

        if not port_open(self.host, self.port):
            return False
        try:
            from confluent_kafka.admin import AdminClient
        except ImportError:  # readiness by the log line when the client is not installed
            return "Kafka Server started" in self.log_tail(
                400
            ) or "started (kafka.server" in self.log_tail(400)
        try:
            md = AdminClient(
                {"bootstrap.servers": self.bootstrap, "socket.timeout.ms": 2000}
            ).list_topics(timeout=3)
        except Exception:
            return False
        return bool(md.brokers)

    def wipe(self) -> None:
        """Stop and delete all data (a fresh cluster on next start)."""
        self.stop()
        shutil.rmtree(self.data, ignore_errors=True)


def _cluster_id() -> str:
    import base64

    return base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
