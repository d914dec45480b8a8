"""The subscriber loop the edge's command and update listeners share."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from contracts.errors import ContractError
from contracts.transports.base import Message, Subscriber


def consume(
    subscriber: Subscriber,
    stop: threading.Event,
    on_message: Callable[[Message], object],
    log: logging.Logger,
    what: str,
    max_messages: int = 10,
) -> None:
    """Poll ``subscriber`` until ``stop`` is set: each message to ``on_message``, then the
    batch acked. A subscription error is logged on ``log`` (``"<what>: subscription error"``)
    and polling resumes after a second."""
    while not stop.is_set():
        try:
            batch: list[Message] = subscriber.poll(0.5, max_messages=max_messages)
        except ContractError as exc:
            log.warning("%s: subscription error: %s", what, exc)
            stop.wait(1.0)
            continue
        for msg in batch:
            on_message(msg)
        if batch:
            subscriber.ack(batch)
