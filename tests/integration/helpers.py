"""What several integration tests share: MQTT client options for the test PKI
(``tests.harness.certs``) and for provisioned certificate files, draining a subscriber, and a
thread that stages flows in an outbox like a busy sensor."""

from __future__ import annotations

import threading
import time
import uuid
from pathlib import Path
from typing import Any

from contracts import decode_batch, encode
from contracts.events import EventBase
from contracts.transports import Message, Subscriber, TransportOptions
from edge_agent.outbox import Outbox
from tests.harness.certs import TestPki
from tests.unit.contracts.samples import flow


def pki_client_options(pki: TestPki, cn: str, **kw: Any) -> TransportOptions:
    """A clean-start TLS client of the test PKI's ``cn`` (a fresh client id each call)."""
    c = pki.client(cn)
    return TransportOptions(
        client_id=f"{cn}-{uuid.uuid4().hex[:6]}",
        ca_file=pki.ca,
        cert_file=c.cert,
        key_file=c.key,
        clean_start=True,
        **kw,
    )


def file_client_options(ca: Path, cert: Path, key: Path) -> TransportOptions:
    """A clean-start TLS client with these files (a provisioned node or service)."""
    return TransportOptions(
        client_id=f"t-{uuid.uuid4().hex[:8]}",
        ca_file=ca,
        cert_file=cert,
        key_file=key,
        clean_start=True,
    )


def collect(sub: Subscriber, seconds: float) -> list[Message]:
    """Every message ``sub`` receives in ``seconds``, acked."""
    got: list[Message] = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        msgs = sub.poll(0.2)
        sub.ack(msgs)
        got += msgs
    return got


def drain_until_offline(sub: Subscriber, seconds: float) -> list[EventBase]:
    """Every event ``sub`` receives, acked, until an agent's shutdown status (``online`` false)
    arrived or ``seconds`` passed: what an agent sent before it stopped."""
    events: list[EventBase] = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        msgs = sub.poll(0.3)
        sub.ack(msgs)
        for msg in msgs:
            events.extend(decode_batch(msg.value))
        if any(e.kind == "status" and not e.online for e in events):  # type: ignore[attr-defined]
            break
    return events


class FlowFeeder:
    """A busy sensor's pipeline: ``per_tick`` flow records of ``node`` staged in ``outbox``
    every 0.1 s on a daemon thread; ``staged`` holds their event ids."""

    def __init__(self, outbox: Outbox, node: str, per_tick: int) -> None:
        self.outbox, self.node, self.per_tick = outbox, node, per_tick
        self.staged: set[uuid.UUID] = set()
        self.stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def close(self, timeout: float = 5.0) -> None:
        self.stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout)

    def _run(self) -> None:
        i = 0
        while not self.stop.is_set():
            now = time.time()
            evs = [
                flow(node_id=self.node, flow_id=f"f{i}-{j}", start_ts=now - 1, end_ts=now)
                for j in range(self.per_tick)
            ]
            self.outbox.put_many([("flows", encode(e)) for e in evs])
            self.staged.update(e.event_id for e in evs)
            i += 1
            self.stop.wait(0.1)
