"""Apache Kafka in KRaft mode (one combined broker + controller) from Maven Central jars.

Jars: ``mvn -q -f tests/harness/kafka/pom.xml dependency:copy-dependencies`` into
``<cache>/kafka/<version>/libs`` once (a ``.complete`` marker is written after success).
Storage: formatted once with Kafka's own ``kafka.tools.StorageTool format`` (static
quorum ``controller.quorum.voters=1@127.0.0.1:<controller port>``), then the broker runs
as ``java -Xmx512m -cp 'libs/*' kafka.Kafka server.properties``.
"""

from __future__ import annotations

import base64
import os
import re
import shutil
import socket
import struct
import subprocess
import uuid
from pathlib import Path
from typing import Any

from tests.harness.base import CACHE, HarnessError, Server, file_lock, port_open, tail

POM = Path(__file__).with_name("kafka") / "pom.xml"


def kafka_version() -> str:
    """The Kafka version pinned in the harness pom."""
    m = re.search(r"<kafka.version>([^<]+)</kafka.version>", POM.read_text())
    if not m:
        raise HarnessError(f"kafka: <kafka.version> missing from {POM}")
    return m.group(1)


def kafka_libs() -> Path:
    """The broker jars, fetched once with Maven into ``<cache>/kafka/<version>/libs``."""
    version = kafka_version()
    root = CACHE / "kafka" / version
    libs = root / "libs"
    if (libs / ".complete").exists():
        return libs
    with file_lock(root / "fetch.lock", 900, "kafka jar fetch"):
        if (libs / ".complete").exists():  # another process fetched them meanwhile
            return libs
        if shutil.which("mvn") is None or shutil.which("java") is None:
            raise HarnessError(
                "kafka: java and mvn are needed (apt-get install openjdk-17-jre-headless maven)"
            )
        tmp = root / f"libs.tmp-{os.getpid()}"
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        mvn_log = root / "mvn.log"
        print(
            f"harness: fetching Apache Kafka {version} jars from Maven Central into {libs} "
            f"(once; mvn output in {mvn_log})",
            flush=True,
        )
        cmd = [
            "mvn",
            "-q",
            "-B",
            "-f",
            str(POM),
            "dependency:copy-dependencies",
            f"-DoutputDirectory={tmp}",
            "-DincludeScope=runtime",
        ]
        with mvn_log.open("w") as log:
            proc = subprocess.run(cmd, stdout=log, stderr=subprocess.STDOUT, check=False)
        jar = tmp / f"kafka_2.13-{version}.jar"
        if proc.returncode != 0 or not jar.exists():
            shutil.rmtree(tmp, ignore_errors=True)
            raise HarnessError(
                f"kafka: `{' '.join(cmd)}` failed (exit {proc.returncode})\n"
                f"log: {mvn_log} (last 30 lines):\n{tail(mvn_log)}"
            )
        (tmp / ".complete").write_text(version)
        shutil.rmtree(libs, ignore_errors=True)  # an incomplete earlier attempt
        tmp.rename(libs)
    return libs


# -- a dependency-free Kafka Metadata request (readiness without confluent_kafka) -----


def _recv_exact(sock: socket.socket, n: int) -> bytes:
    buf = b""
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            raise ConnectionError("kafka: connection closed mid-response")
        buf += chunk
    return buf


def kafka_metadata(host: str, port: int, timeout: float = 3.0) -> dict[str, Any]:
    """Send a Kafka ``Metadata`` v4 request (no topics) and return
    ``{"cluster_id", "controller_id", "brokers": [(node_id, host, port), ...]}``.

    Stdlib only; v4 is the oldest version Kafka 4.x still serves and is also served by
    Kafka 1.0+. Raises ``OSError``/``ValueError`` when the broker does not answer.
    """
    client_id = b"fednids-harness"
    body = struct.pack(">hhih", 3, 4, 1, len(client_id)) + client_id  # header v1
    body += struct.pack(">i?", 0, False)  # topics: empty array; allow_auto_topic_creation
    with socket.create_connection((host, port), timeout=timeout) as sock:
        sock.settimeout(timeout)
        sock.sendall(struct.pack(">i", len(body)) + body)
        (size,) = struct.unpack(">i", _recv_exact(sock, 4))
        data = _recv_exact(sock, size)
    pos = 0

    def take(fmt: str) -> Any:
        nonlocal pos
        vals = struct.unpack_from(fmt, data, pos)
        pos += struct.calcsize(fmt)
        return vals[0] if len(vals) == 1 else vals

    def string() -> str | None:
        nonlocal pos
        n = take(">h")
        if n < 0:
            return None
        s = data[pos : pos + n].decode()
        pos += n
        return s

    correlation_id = take(">i")
    if correlation_id != 1:
        raise ValueError(f"kafka: unexpected correlation id {correlation_id}")
    take(">i")  # throttle_time_ms
    brokers = []
    for _ in range(take(">i")):
        node_id = take(">i")
        bhost = string()
        bport = take(">i")
        string()  # rack
        brokers.append((node_id, bhost, bport))
    cluster_id = string()
    controller_id = take(">i")
    return {"cluster_id": cluster_id, "controller_id": controller_id, "brokers": brokers}


LOG4J = """status = warn
appender.out.type = Console
appender.out.name = OUT
appender.out.layout.type = PatternLayout
appender.out.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = INFO
rootLogger.appenderRef.out.ref = OUT
logger.state.name = state.change.logger
logger.state.level = WARN
logger.raft.name = org.apache.kafka.raft
logger.raft.level = WARN
"""


def _cluster_id() -> str:
    """A valid KRaft cluster id (base64url of a random UUID, like StorageTool random-uuid);
    never one that starts with "-", which StorageTool's ``-t`` would take for an option."""
    while (cid := base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("="))[0] == "-":
        pass
    return cid


class KafkaServer(Server):
    """One KRaft node (broker + controller) on ``127.0.0.1:port`` / ``controller_port``."""

    name = "kafka"
    start_timeout = 120.0

    def __init__(
        self, port: int = 19092, controller_port: int | None = None, heap_mb: int = 512
    ) -> None:
        super().__init__(port)
        self.controller_port = controller_port or port + 1
        self.heap_mb = heap_mb
        self.data = self.dir / "data"
        self.properties = self.dir / "server.properties"

    @property
    def url(self) -> str:
        return f"kafka://{self.host}:{self.port}"

    @property
    def bootstrap(self) -> str:
        """``host:port`` for ``bootstrap.servers``."""
        return f"{self.host}:{self.port}"

    def version(self) -> str:
        """The version the broker logged (``Kafka version: X``), else the jar's, else the pom's."""
        m = re.findall(r"Kafka version: (\S+)", tail(self.log_path, 100_000, 8 * 1024 * 1024))
        if m:
            v = m[-1]
        else:
            jars = sorted((CACHE / "kafka" / kafka_version() / "libs").glob("kafka_2.13-*.jar"))
            v = jars[0].name[len("kafka_2.13-") : -len(".jar")] if jars else kafka_version()
        return f"Apache Kafka {v} (KRaft broker+controller)"

    def metadata(self, timeout: float = 3.0) -> dict[str, Any]:
        """``kafka_metadata`` against this broker."""
        return kafka_metadata(self.host, self.port, timeout)

    def _install(self) -> None:
        self.libs = kafka_libs()

    def _java(self, *args: str) -> list[str]:
        return [
            "java",
            f"-Xmx{self.heap_mb}m",
            "-Xms64m",
            "-XX:+UseSerialGC",
            "-XX:TieredStopAtLevel=1",
            "-Djava.awt.headless=true",
            f"-Dlog4j2.configurationFile={self.dir / 'log4j2.properties'}",
            "-cp",
            f"{self.libs}/*",
            *args,
        ]

    def _prepare(self) -> None:
        if port_open(self.host, self.controller_port):
            raise self._error(f"cannot start: controller port {self.controller_port} is taken")
        (self.dir / "log4j2.properties").write_text(LOG4J)
        props = {
            "process.roles": "broker,controller",
            "node.id": "1",
            "controller.quorum.voters": f"1@{self.host}:{self.controller_port}",
            "listeners": (
                f"PLAINTEXT://{self.host}:{self.port},CONTROLLER://{self.host}:{self.controller_port}"
            ),
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
            "num.network.threads": "2",
            "num.io.threads": "2",
        }
        self.properties.write_text("".join(f"{k}={v}\n" for k, v in props.items()))
        if not (self.data / "meta.properties").exists():
            shutil.rmtree(self.data, ignore_errors=True)  # a half-formatted dir
            self.data.mkdir(parents=True)
            cluster = _cluster_id()
            cmd = self._java(
                "kafka.tools.StorageTool", "format", "-t", cluster, "-c", str(self.properties)
            )
            self._log(f"format storage (cluster {cluster}): {' '.join(cmd)}")
            with self.log_path.open("ab") as log:
                proc = subprocess.run(cmd, stdout=log, stderr=subprocess.STDOUT, check=False)
            if proc.returncode != 0:
                raise self._error(f"storage format failed (exit {proc.returncode})")

    def _command(self) -> list[str]:
        return self._java("kafka.Kafka", str(self.properties))

    def _ready(self) -> bool:
        if not port_open(self.host, self.port):
            return False
        try:
            from confluent_kafka.admin import AdminClient
        except ImportError:
            try:
                return bool(self.metadata()["brokers"])
            except (OSError, ValueError, struct.error):
                return False
        try:
            md = AdminClient(
                {"bootstrap.servers": self.bootstrap, "socket.timeout.ms": 2000}
            ).list_topics(timeout=3)
        except Exception:
            return False
        return bool(md.brokers)

    def wipe(self) -> None:
        """Stop and delete all data (a fresh cluster on next start)."""
        with self._locked():
            self.stop()
            shutil.rmtree(self.data, ignore_errors=True)
