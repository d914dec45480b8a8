"""FL events (``contracts.FLEvent``) published to ``fl_events`` by the ServerApp: one per
client reply (fit or budget exhausted) and one per round from the server. The URL is a
transport URL (``kafka://...``) or ``jsonl:PATH`` (appended lines, for the embedded demo)."""

from __future__ import annotations

import logging

from contracts.codec import encode
from contracts.errors import ContractError
from contracts.events import FLEvent
from contracts.topics import KafkaTopic
from contracts.transports import open_publisher
from contracts.transports.base import Publisher

log = logging.getLogger(__name__)


class FLEventSink:
    """Publishes events and waits for the broker's confirmation; never stops a round."""

    def __init__(self, url: str | None, timeout_s: float = 15.0) -> None:
        self.url = url
        self.timeout_s = timeout_s
        self.sent: list[FLEvent] = []
        self.failed = 0
        self._pub: Publisher | None = None

    def _publisher(self) -> Publisher | None:
        if self._pub is None and self.url and not self.url.startswith("jsonl:"):
            try:
                self._pub = open_publisher(self.url)
            except ContractError as exc:
                log.error("fl events: cannot open %s: %s", self.url, exc)
        return self._pub

    def emit(self, events: list[FLEvent]) -> None:
        self.sent.extend(events)
        if self.url and self.url.startswith("jsonl:"):  # a file another process tails (demo)
            with open(self.url.removeprefix("jsonl:"), "ab") as f:
                f.write(b"".join(encode(ev) + b"\n" for ev in events))
            return
        pub = self._publisher()
        if pub is None:
            return
        errors: list[BaseException] = []
        for ev in events:
            pub.publish(
                KafkaTopic.FL_EVENTS.value,
                encode(ev),
                key=ev.node_id.encode(),
                on_delivery=lambda err: errors.append(err) if err else None,
            )
        pending = pub.flush(self.timeout_s)
        if pending or errors:
            self.failed += pending + len(errors)
            log.error(
                "fl events: %d not confirmed by %s (%s)",
                pending + len(errors),
                self.url,
                errors[:1],
            )

    def close(self) -> None:
        if self._pub is not None:
            self._pub.close()
