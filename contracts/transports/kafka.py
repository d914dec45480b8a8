"""``kafka://host:port``: confluent-kafka (librdkafka) producer and consumer-group subscriber.

The producer is idempotent with ``acks=all``: a delivery callback with ``None`` means the
broker has the message durably. The subscriber never auto-commits: :meth:`ack` commits
synchronously, so a service commits only what it has finished.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from contracts.errors import TransportError
from contracts.transports.base import DeliveryCallback, Message, TransportOptions

try:
    import confluent_kafka as ck
    from confluent_kafka.admin import AdminClient, NewTopic
except ImportError as _exc:  # pragma: no cover - only on an edge-only install
    raise TransportError("kafka:// needs confluent-kafka: pip install 'fednids[hub]'") from _exc

if TYPE_CHECKING:
    from contracts.transports.factory import ParsedUrl

log = logging.getLogger(__name__)


def _common(url: ParsedUrl, opts: TransportOptions) -> dict[str, Any]:
    conf: dict[str, Any] = {"bootstrap.servers": f"{url.host}:{url.port}"}
    if url.scheme == "kafka+ssl":
        conf["security.protocol"] = "SSL"
        if opts.ca_file:
            conf["ssl.ca.location"] = str(opts.ca_file)
        if opts.cert_file:
            conf["ssl.certificate.location"] = str(opts.cert_file)
        if opts.key_file:
            conf["ssl.key.location"] = str(opts.key_file)
    if opts.client_id:
        conf["client.id"] = opts.client_id
    return conf


def _error(err: Any) -> TransportError:
    return TransportError(f"kafka: {err.str() if hasattr(err, 'str') else err}")


class KafkaPublisher:
    def __init__(self, url: ParsedUrl, opts: TransportOptions) -> None:
        conf = _common(url, opts) | {
            "enable.idempotence": True,
            "acks": "all",
            "linger.ms": 5,
            "batch.num.messages": 10000,
            "compression.type": "lz4",
            "queue.buffering.max.messages": 200_000,
            "message.timeout.ms": 0,  # keep retrying while Kafka is down: backpressure, not loss
        }
        conf.update(opts.extra)
        try:
            self._producer = ck.Producer(conf)
        except ck.KafkaException as exc:
            raise TransportError(f"kafka producer config rejected: {exc}") from exc

    def publish(
        self,
        topic: str,
        value: bytes,
        *,
        key: bytes | None = None,
        on_delivery: DeliveryCallback | None = None,
        retain: bool = False,
    ) -> None:
        def _cb(err: Any, _msg: Any) -> None:
            if on_delivery is not None:
                on_delivery(None if err is None else _error(err))

        while True:
            try:
                self._producer.produce(topic, value=value, key=key, on_delivery=_cb)
                return
            except BufferError:
                self._producer.poll(0.1)  # local queue full: serve callbacks, then retry
            except ck.KafkaException as exc:
                raise TransportError(f"kafka produce to {topic} failed: {exc}") from exc

    def poll(self, timeout: float = 0.0) -> None:
        self._producer.poll(timeout)

    def flush(self, timeout: float = 10.0) -> int:
        return int(self._producer.flush(timeout))

    def close(self) -> None:
        self._producer.flush(10.0)


class KafkaSubscriber:
    def __init__(
        self, url: ParsedUrl, topics: Sequence[str], group: str, opts: TransportOptions
    ) -> None:
        conf = _common(url, opts) | {
            "group.id": group,
            "enable.auto.commit": False,
            "auto.offset.reset": "earliest",
            "enable.partition.eof": False,
            "session.timeout.ms": 10000,
            "max.poll.interval.ms": 300000,
        }
        conf.update(opts.extra)
        try:
            self._consumer = ck.Consumer(conf)
            self._consumer.subscribe(list(topics))
        except ck.KafkaException as exc:
            raise TransportError(f"kafka subscribe to {list(topics)} failed: {exc}") from exc

    def poll(self, timeout: float = 1.0, max_messages: int = 500) -> list[Message]:
        try:
            # consume() waits until max_messages arrived or the timeout passed: at low rates that
            # is the full timeout. Take what is there now; else wait for one, then take the rest.
            raw = self._consumer.consume(num_messages=max_messages, timeout=0)
            if not raw:
                first = self._consumer.poll(timeout)
                raw = (
                    []
                    if first is None
                    else [first, *self._consumer.consume(num_messages=max_messages - 1, timeout=0)]
                )
        except ck.KafkaException as exc:
            raise TransportError(f"kafka consume failed: {exc}") from exc
        out: list[Message] = []
        for m in raw:
            err = m.error()
            if err is not None:
                if err.fatal():
                    raise _error(err)
                log.debug("kafka consumer: %s", err.str())
                continue
            out.append(
                Message(
                    topic=m.topic() or "",
                    value=m.value() or b"",
                    key=m.key(),
                    partition=m.partition() or 0,
                    offset=-1 if m.offset() is None else int(m.offset() or 0),
                )
            )
        return out

    def ack(self, messages: Sequence[Message]) -> None:
        """Commit, per partition, past the highest offset given. Ack in the order received."""
        if not messages:
            return
        top: dict[tuple[str, int], int] = {}
        for m in messages:
            k = (m.topic, m.partition)
            top[k] = max(top.get(k, -1), m.offset)
        offsets = [ck.TopicPartition(t, p, o + 1) for (t, p), o in top.items()]
        try:
            self._consumer.commit(offsets=offsets, asynchronous=False)
        except ck.KafkaException as exc:
            raise TransportError(f"kafka commit failed: {exc}") from exc

    def close(self) -> None:
        self._consumer.close()


def ensure_topics(
    url: ParsedUrl, topics: Iterable[str], partitions: int = 3, timeout: float = 30.0
) -> None:
    """Create topics that do not exist yet (an existing topic is fine)."""
    admin = AdminClient({"bootstrap.servers": f"{url.host}:{url.port}"})
    deadline = time.monotonic() + timeout
    want = [NewTopic(t, num_partitions=partitions, replication_factor=1) for t in topics]
    futures = admin.create_topics(want, operation_timeout=timeout)
    for name, fut in futures.items():
        try:
            fut.result(timeout=max(0.1, deadline - time.monotonic()))
        except ck.KafkaException as exc:
            if exc.args and exc.args[0].code() == ck.KafkaError.TOPIC_ALREADY_EXISTS:
                continue
            raise TransportError(f"kafka: cannot create topic {name}: {exc}") from exc


def cluster_metadata(url: ParsedUrl, timeout: float = 10.0) -> dict[str, Any]:
    """Cluster id, controller and brokers: proof of which broker answered."""
    admin = AdminClient({"bootstrap.servers": f"{url.host}:{url.port}"})
    try:
        md = admin.list_topics(timeout=timeout)
    except ck.KafkaException as exc:
        raise TransportError(f"kafka metadata from {url.host}:{url.port} failed: {exc}") from exc
    return {
        "cluster_id": md.cluster_id,
        "controller_id": md.controller_id,
        "brokers": {b.id: f"{b.host}:{b.port}" for b in md.brokers.values()},
        "topics": sorted(md.topics),
    }
