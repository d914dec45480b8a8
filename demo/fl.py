"""The demo's federated learning: a real local Flower federation (``flower-superlink`` and
one ``flower-supernode`` per simulated sensor, separate processes on loopback, insecure
because it never leaves 127.0.0.1) training on the sensors' own flow stores, a few DP rounds.

The ServerApp runs in the SuperLink's subprocess, so it cannot reach the demo's in-process
``memory://`` broker: it writes its FL events to a JSONL file and its signed announcements
into the registry directory; this module tails both and publishes them in the demo (FL
events to ``fl_events``, the announcement retained on the model topic, where the sensors'
model updaters verify and hot-swap it).
"""

from __future__ import annotations

import logging
import socket
import threading
import time
from pathlib import Path

from contracts.topics import MQTT_MODEL_TOPIC, KafkaTopic
from contracts.transports import open_publisher

log = logging.getLogger("fednids.demo.fl")


def _free_port_block(size: int = 20) -> int:
    for base in range(19700, 29000, size):
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", base)) != 0:
                return base
    raise OSError("no free loopback port block for the demo's Flower federation")


class DemoFederation:
    def __init__(
        self,
        workdir: Path,
        stores: dict[str, Path],
        signing_key: Path,
        mqtt_url: str,
        kafka_url: str,
        rounds: int = 3,
        start_after_s: float = 40.0,
    ) -> None:
        self.dir = workdir
        self.stores = stores
        self.signing_key = signing_key
        self.mqtt_url = mqtt_url
        self.kafka_url = kafka_url
        self.rounds = rounds
        self.start_after_s = start_after_s
        self.state = "waiting"
        self.published: list[int] = []
        self.events = 0
        self._stop = threading.Event()
        self._dep: object | None = None

    def status(self) -> str:
        return f"fl {self.state} ({self.events} events, models {self.published or '-'})"

    def run(self) -> None:
        from demo.federation import FederationError, FlowerDeployment

        if self._stop.wait(self.start_after_s):
            return
        dep = FlowerDeployment(self.dir / "flower", port=_free_port_block(), tls=None, auth=False)
        self._dep = dep
        events_file = self.dir / "fl-events.jsonl"
        events_file.touch()
        tail = threading.Thread(target=self._tail, args=(events_file,), daemon=True)
        tail.start()
        try:
            self.state = "starting"
            dep.start_superlink()
            for node, store in self.stores.items():
                dep.start_supernode(node, f"store:{store}")
            self.state = "running"
            dep.run(
                {
                    "num-rounds": self.rounds,
                    "min-nodes": len(self.stores),
                    "target-epsilon": 3.0,
                    "batch-size": 32,  # a demo's stores are small
                    "events-url": f"jsonl:{events_file}",
                    "registry-dir": str(self.dir / "registry"),
                    "signing-key": str(self.signing_key),
                    "round-timeout": 300.0,
                },
                timeout=1800,
            )
            self.state = "done"
        except (FederationError, OSError) as exc:
            self.state = "failed"
            log.error("demo: federated learning failed: %s", exc)
        finally:
            dep.stop()
            time.sleep(2)  # let the tail pick up the last lines
            self._stop.set()
            tail.join(10)

    def _tail(self, events_file: Path) -> None:
        events = open_publisher(self.kafka_url)
        models = open_publisher(self.mqtt_url) if self.mqtt_url != self.kafka_url else events
        offset = 0
        announced: set[Path] = set()
        while True:
            done = self._stop.is_set()
            with events_file.open("rb") as f:
                f.seek(offset)
                chunk = f.read()
            complete = chunk[: chunk.rfind(b"\n") + 1]
            offset += len(complete)
            for line in complete.splitlines():
                events.publish(KafkaTopic.FL_EVENTS.value, line, key=b"hub")
                self.events += 1
            for ann in sorted((self.dir / "registry" / "versions").glob("*/announcement.json")):
                if ann not in announced:
                    announced.add(ann)
                    models.publish(MQTT_MODEL_TOPIC, ann.read_bytes(), retain=True)
                    events.publish(KafkaTopic.MODELS.value, ann.read_bytes(), key=b"lstm-ae")
                    self.published.append(int(ann.parent.name))
                    log.info("demo: model version %s announced to the sensors", ann.parent.name)
            events.flush(5)
            models.flush(5)
            if done:
                break
            self._stop.wait(1.0)
        events.close()
        if models is not events:
            models.close()

    def stop(self) -> None:
        self._stop.set()
        dep = self._dep
        if dep is not None:
            dep.stop()  # type: ignore[attr-defined]
