"""``mqtt://`` and ``mqtts://``: paho-mqtt 2.x, MQTT v5, QoS 1, persistent sessions.

The publisher reports a delivery only on a PUBACK with reason code 0 (Success). Any other
code fails the delivery, including 0x10 "No matching subscribers": the broker accepted the
message but kept it nowhere, so a caller that deletes its copy on success must keep it. (A
retained message with 0x10 is kept by the broker as the topic's retained value: success.)
paho holds at most ``max_inflight`` QoS 1 messages (in flight + queued); ``publish`` waits
for room up to ``publish_wait_s`` and then raises, so an outage costs bounded memory.

The subscriber uses paho's ``manual_ack``: the broker's message stays unacknowledged (and
is redelivered after a reconnect) until :meth:`MqttSubscriber.ack` is called. A packet id
is only valid on the connection that delivered it: after a reconnect the broker may give
the same id to a newer message, so an ack for a message of an earlier connection is
dropped (the broker redelivers that message, the hub is idempotent on ``event_id``).
"""

from __future__ import annotations

import logging
import queue
import ssl
import threading
import time
import uuid
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from contracts.errors import TransportError
from contracts.transports.base import DeliveryCallback, Message, TransportOptions

try:
    import paho.mqtt.client as paho
    from paho.mqtt.packettypes import PacketTypes
    from paho.mqtt.properties import Properties
except ImportError as _exc:  # pragma: no cover
    raise TransportError("mqtt:// needs paho-mqtt 2.x: pip install 'fednids[edge]'") from _exc

if TYPE_CHECKING:
    from contracts.transports.factory import ParsedUrl

log = logging.getLogger(__name__)
SUCCESS = 0x00
NO_MATCHING_SUBSCRIBERS = 0x10


class PublishNotDelivered(TransportError):
    """The broker answered a PUBLISH with a reason code other than Success."""

    def __init__(self, reason_code: int, name: str) -> None:
        super().__init__(f"mqtt publish not delivered: {name} (reason code 0x{reason_code:02x})")
        self.reason_code = reason_code


def delivery_error(reason_code: int, name: str, retained: bool) -> PublishNotDelivered | None:
    """``None`` when a PUBACK's reason code means the broker kept the message, else the error."""
    if reason_code == SUCCESS or (retained and reason_code == NO_MATCHING_SUBSCRIBERS):
        return None
    return PublishNotDelivered(reason_code, name)


def _client(url: ParsedUrl, opts: TransportOptions, manual_ack: bool = False) -> paho.Client:
    client_id = opts.client_id or f"fednids-{uuid.uuid4().hex[:12]}"
    try:
        c = paho.Client(
            paho.CallbackAPIVersion.VERSION2,
            client_id=client_id,
            protocol=paho.MQTTv5,
            manual_ack=manual_ack,
        )
        if url.scheme == "mqtts":
            c.tls_set(
                ca_certs=str(opts.ca_file) if opts.ca_file else None,
                certfile=str(opts.cert_file) if opts.cert_file else None,
                keyfile=str(opts.key_file) if opts.key_file else None,
                cert_reqs=ssl.CERT_REQUIRED,
                tls_version=ssl.PROTOCOL_TLS_CLIENT,
            )
        if opts.username:
            c.username_pw_set(opts.username, opts.password)
        if opts.will_topic:
            c.will_set(opts.will_topic, opts.will_payload, qos=1, retain=True)
        c.max_inflight_messages_set(opts.max_inflight)
        c.max_queued_messages_set(opts.max_inflight)  # in flight + queued, never more
        c.reconnect_delay_set(min_delay=1, max_delay=10)
    except (ValueError, OSError, ssl.SSLError) as exc:
        raise TransportError(f"mqtt client setup for {url.host}:{url.port} failed: {exc}") from exc
    return c


def _connect(c: paho.Client, url: ParsedUrl, opts: TransportOptions) -> None:
    props = Properties(PacketTypes.CONNECT)
    props.SessionExpiryInterval = opts.session_expiry_s
    try:
        c.connect_async(
            url.host,
            url.port,
            keepalive=opts.keepalive_s,
            clean_start=opts.clean_start,
            properties=props,
        )
    except (ValueError, OSError) as exc:
        raise TransportError(f"mqtt connect to {url.host}:{url.port} failed: {exc}") from exc
    c.loop_start()


class _ConnState:
    def __init__(self) -> None:
        self.connected = threading.Event()
        self.last_error: str | None = None

    def on_connect(self, _c: Any, _u: Any, _f: Any, reason: Any, _p: Any) -> None:
        if reason.is_failure:
            self.last_error = f"connection refused: {reason}"
            log.warning("mqtt %s", self.last_error)
        else:
            self.last_error = None
            self.connected.set()

    def on_disconnect(self, _c: Any, _u: Any, _f: Any, reason: Any, _p: Any) -> None:
        self.connected.clear()
        if reason.is_failure:
            self.last_error = f"disconnected: {reason}"

    def wait(self, timeout: float, where: str) -> None:
        if not self.connected.wait(timeout):
            raise TransportError(
                f"mqtt: no connection to {where} within {timeout}s ({self.last_error or 'no answer'})"
            )


class MqttPublisher:
    publish_wait_s = 30.0
    """How long ``publish`` waits for room when ``max_inflight`` messages are held."""

    def __init__(self, url: ParsedUrl, opts: TransportOptions) -> None:
        self._where = f"{url.host}:{url.port}"
        self._client = _client(url, opts)
        self._state = _ConnState()
        self._lock = threading.Lock()
        self._cap = max(1, opts.max_inflight)
        self._pending: dict[int, tuple[DeliveryCallback | None, bool]] = {}
        self._early: dict[int, tuple[int, str]] = {}
        self._idle = threading.Condition(self._lock)
        self.not_delivered: dict[int, int] = {}
        """Count of PUBACKs per non-success reason code (e.g. ``{0x10: 3}``)."""
        self._client.on_connect = self._state.on_connect
        self._client.on_disconnect = self._state.on_disconnect
        self._client.on_publish = self._on_publish
        _connect(self._client, url, opts)

    @property
    def connected(self) -> bool:
        return self._state.connected.is_set()

    def wait_connected(self, timeout: float = 10.0) -> None:
        self._state.wait(timeout, self._where)

    def _on_publish(self, _c: Any, _u: Any, mid: int, reason: Any, _p: Any) -> None:
        code, name = int(reason.value), str(reason)
        with self._lock:
            if code != SUCCESS:
                self.not_delivered[code] = self.not_delivered.get(code, 0) + 1
            if mid not in self._pending:  # PUBACK before publish() registered the mid
                self._early[mid] = (code, name)
                return
            cb, retained = self._pending.pop(mid)
            self._idle.notify_all()
        if cb is not None:
            cb(delivery_error(code, name, retained))

    def publish(
        self,
        topic: str,
        value: bytes,
        *,
        key: bytes | None = None,
        on_delivery: DeliveryCallback | None = None,
        retain: bool = False,
    ) -> None:
        self._wait_for_room(topic)
        info = self._client.publish(topic, value, qos=1, retain=retain)
        if info.rc not in (paho.MQTT_ERR_SUCCESS, paho.MQTT_ERR_NO_CONN):
            raise TransportError(f"mqtt publish to {topic} failed: {paho.error_string(info.rc)}")
        # MQTT_ERR_NO_CONN: paho keeps the message and sends it after reconnecting.
        with self._lock:
            if info.mid not in self._early:
                self._pending[info.mid] = (on_delivery, retain)
                return
            code, name = self._early.pop(info.mid)
        if on_delivery is not None:
            on_delivery(delivery_error(code, name, retain))

    def _wait_for_room(self, topic: str) -> None:
        deadline = time.monotonic() + self.publish_wait_s
        with self._lock:
            while len(self._pending) >= self._cap:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TransportError(
                        f"mqtt publish to {topic}: {self._cap} messages still wait for"
                        f" {self._where} to confirm them"
                    )
                self._idle.wait(left)

    def pending(self) -> int:
        with self._lock:
            return len(self._pending)

    def queued(self) -> int:
        """Messages paho itself holds for this client (in flight + waiting to be sent)."""
        return len(self._client._out_messages)  # paho has no public count

    def poll(self, timeout: float = 0.0) -> None:
        if timeout > 0:
            time.sleep(timeout)

    def flush(self, timeout: float = 10.0) -> int:
        deadline = time.monotonic() + timeout
        with self._lock:
            while self._pending and (left := deadline - time.monotonic()) > 0:
                self._idle.wait(left)
            return len(self._pending)

    def close(self) -> None:
        self._client.disconnect()
        self._client.loop_stop()


class MqttSubscriber:
    def __init__(
        self, url: ParsedUrl, topics: Sequence[str], group: str, opts: TransportOptions
    ) -> None:
        self._where = f"{url.host}:{url.port}"
        self._filters = [
            t if (t.startswith("$share/") or not group) else f"$share/{group}/{t}" for t in topics
        ]
        self._queue: queue.Queue[Message] = queue.Queue()
        self._client = _client(url, opts, manual_ack=True)
        self._state = _ConnState()
        self._ack_lock = threading.Lock()
        self._connection = 0  # counts connections; packet ids are only valid on their own
        self._live = False
        self.stale_acks = 0
        """Acks dropped because their message came on an earlier connection."""
        self._client.on_connect = self._on_connect
        self._client.on_disconnect = self._on_disconnect
        self._client.on_message = self._on_message
        self.subscribed = threading.Event()
        self._client.on_subscribe = lambda *_a: self.subscribed.set()
        _connect(self._client, url, opts)

    def _on_connect(self, c: Any, u: Any, f: Any, reason: Any, p: Any) -> None:
        if not reason.is_failure:
            with self._ack_lock:
                self._connection += 1
                self._live = True
        self._state.on_connect(c, u, f, reason, p)
        if not reason.is_failure:
            self._client.subscribe([(flt, paho.SubscribeOptions(qos=1)) for flt in self._filters])

    def _on_disconnect(self, c: Any, u: Any, f: Any, reason: Any, p: Any) -> None:
        with self._ack_lock:
            self._live = False
        self._state.on_disconnect(c, u, f, reason, p)

    def _on_message(self, _c: Any, _u: Any, msg: Any) -> None:
        self._queue.put(
            Message(
                topic=msg.topic,
                value=bytes(msg.payload),
                retained=bool(msg.retain),
                token=(msg.mid, msg.qos, self._connection),
            )
        )

    def wait_subscribed(self, timeout: float = 10.0) -> None:
        self._state.wait(timeout, self._where)
        if not self.subscribed.wait(timeout):
            raise TransportError(
                f"mqtt: subscription to {self._filters} not confirmed by {self._where}"
            )

    def poll(self, timeout: float = 1.0, max_messages: int = 500) -> list[Message]:
        out: list[Message] = []
        try:
            out.append(self._queue.get(timeout=timeout))
        except queue.Empty:
            return out
        while len(out) < max_messages:
            try:
                out.append(self._queue.get_nowait())
            except queue.Empty:
                break
        return out

    def ack(self, messages: Sequence[Message]) -> None:
        """PUBACK each message on the connection that delivered it; drop acks for messages of
        an earlier connection (their packet id may now name a newer message)."""
        with self._ack_lock:
            for m in messages:
                mid, qos, connection = m.token
                if qos == 0:
                    continue
                if not self._live or connection != self._connection:
                    self.stale_acks += 1
                    continue
                self._client.ack(mid, qos)

    def close(self) -> None:
        self._client.disconnect()
        self._client.loop_stop()
