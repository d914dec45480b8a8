"""The small publish/subscribe interface every transport implements."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

DeliveryCallback = Callable[[Exception | None], None]
"""Called once per published message: ``None`` when the broker confirmed it, else the error."""


@dataclass(frozen=True, slots=True)
class Message:
    """A received message. Pass it back to :meth:`Subscriber.ack` once it is handled."""

    topic: str
    value: bytes
    key: bytes | None = None
    partition: int = 0
    offset: int = -1
    retained: bool = False
    token: Any = field(default=None, compare=False, repr=False)
    """Backend-specific handle used by ``ack`` (MQTT message id, Kafka offsets)."""


@dataclass(frozen=True, slots=True)
class TransportOptions:
    """Connection options shared by the backends (each ignores what it does not use)."""

    client_id: str | None = None
    # TLS (mqtts://, kafka+ssl://)
    ca_file: Path | None = None
    cert_file: Path | None = None
    key_file: Path | None = None
    username: str | None = None
    password: str | None = None
    # MQTT
    clean_start: bool = False
    session_expiry_s: int = 7 * 24 * 3600
    keepalive_s: int = 30
    will_topic: str | None = None
    will_payload: bytes | None = None
    max_inflight: int = 1000
    # Kafka
    extra: dict[str, Any] = field(default_factory=dict)
    """Raw backend settings (librdkafka properties for Kafka) merged over our defaults."""


class Publisher(Protocol):
    def publish(
        self,
        topic: str,
        value: bytes,
        *,
        key: bytes | None = None,
        on_delivery: DeliveryCallback | None = None,
        retain: bool = False,
    ) -> None:
        """Queue ``value`` for ``topic``; ``on_delivery`` fires when the broker confirmed it."""
        ...

    def poll(self, timeout: float = 0.0) -> None:
        """Serve delivery callbacks that are due."""
        ...

    def flush(self, timeout: float = 10.0) -> int:
        """Wait until everything queued is confirmed; returns how many are still pending."""
        ...

    def close(self) -> None: ...


class Subscriber(Protocol):
    def poll(self, timeout: float = 1.0, max_messages: int = 500) -> list[Message]:
        """Up to ``max_messages`` messages, waiting at most ``timeout`` seconds for the first."""
        ...

    def ack(self, messages: Sequence[Message]) -> None:
        """Confirm ``messages`` as handled (Kafka: commit offsets; MQTT: send PUBACK)."""
        ...

    def close(self) -> None: ...
