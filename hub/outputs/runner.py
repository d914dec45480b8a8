"""The outputs process: one worker thread and one Kafka consumer group per output.

Each output's consumer group (``{group_prefix}-{name}``) is its durable cursor: a batch is
committed only once every record in it was accepted by the receiver, filtered out, or counted
over the rate limit. A receiver that is down blocks only its own output, which sends the
same batch again after an exponential back-off (nothing is skipped); the other outputs go on.
At-least-once: a crash between delivery and commit sends a batch twice.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from contracts.codec import decode_batch
from contracts.errors import ContractError
from contracts.events import AlertEvent, EventBase
from contracts.transports import TransportOptions, open_subscriber
from contracts.transports.base import Message, Subscriber
from hub.outputs.config import (
    AppriseOutput,
    KafkaOutput,
    OutputConfig,
    OutputsSettings,
    SplunkHecOutput,
    SyslogOutput,
    WebhookOutput,
)
from hub.outputs.metrics import LagProbe, OutputMetrics
from hub.outputs.policy import FirstSeen, TokenBucket, accepts
from hub.outputs.records import Record, render
from hub.outputs.sinks import Sink, SinkError
from hub.outputs.state import Health, StateReporter

log = logging.getLogger("fednids.hub.outputs")
MAX_POLL_INTERVAL_MS = 86_400_000
"""librdkafka's maximum: an output blocked on a dead receiver stays in its group a day."""


def make_sink(cfg: OutputConfig, settings: OutputsSettings) -> Sink:
    if isinstance(cfg, SyslogOutput):
        from hub.outputs.sinks.syslog import SyslogSink

        return SyslogSink(cfg)
    if isinstance(cfg, WebhookOutput):
        from hub.outputs.sinks.http import WebhookSink

        return WebhookSink(cfg)
    if isinstance(cfg, SplunkHecOutput):
        from hub.outputs.sinks.http import SplunkHecSink

        return SplunkHecSink(cfg)
    if isinstance(cfg, AppriseOutput):
        from hub.outputs.sinks.notify import AppriseSink

        return AppriseSink(cfg)
    if isinstance(cfg, KafkaOutput):
        from hub.outputs.sinks.kafka import KafkaSink

        return KafkaSink(cfg, settings.kafka_url)
    raise SinkError(f"unknown output type {type(cfg).__name__}")


class OutputWorker:
    """Feeds one output from its own consumer group."""

    def __init__(
        self,
        cfg: OutputConfig,
        settings: OutputsSettings,
        metrics: OutputMetrics,
        sink: Sink | None = None,
        subscriber: Callable[[], Subscriber] | None = None,
    ) -> None:
        self.cfg = cfg
        self.settings = settings
        self.metrics = metrics
        self.group = f"{settings.group_prefix}-{cfg.name}"
        self.sink = sink or make_sink(cfg, settings)
        self.bucket = TokenBucket(cfg.rate_limit)
        self.seen = FirstSeen() if cfg.filter.new_only else None
        self._subscriber = subscriber or self._open
        self.lag_probe = LagProbe(settings.kafka_url, self.group, settings.topics)
        self.counts = {
            "sent": 0,
            "filtered": 0,
            "suppressed": 0,
            "limited": 0,
            "undecodable": 0,
            "rejected": 0,
            "failures": 0,
        }
        self._limited_unreported = 0
        self._lag_at = 0.0
        self.health = Health()
        """What ``GET /api/outputs`` shows, through the store (:mod:`hub.outputs.state`)."""

    def _open(self) -> Subscriber:
        opts = TransportOptions(
            client_id=self.group, extra={"max.poll.interval.ms": MAX_POLL_INTERVAL_MS}
        )
        return open_subscriber(self.settings.kafka_url, self.settings.topics, self.group, opts)

    def _count(self, outcome: str, n: int = 1) -> None:
        if n:
            self.counts[outcome] += n
            self.metrics.records.labels(self.cfg.name, outcome).inc(n)

    def _wanted(self, ev: EventBase) -> bool:
        if not accepts(self.cfg.filter, ev):
            return False
        return self.seen is None or self.seen.first(ev)

    def _suppressed(self, ev: EventBase) -> bool:
        """A marked incident, skipped unless the output's filter includes suppressed ones."""
        return (
            isinstance(ev, AlertEvent)
            and ev.suppressed_by is not None
            and not self.cfg.filter.include_suppressed
        )

    def select(self, msgs: list[Message]) -> list[Record]:
        """The records of a batch this output sends; the rest counted by why not."""
        out: list[Record] = []
        for m in msgs:
            try:
                events = decode_batch(m.value)
            except ContractError as exc:
                log.warning(
                    "output %s: undecodable record at %s/%s: %s",
                    self.cfg.name,
                    m.topic,
                    m.offset,
                    exc,
                )
                self._count("undecodable")
                continue
            for ev in events:
                if self._suppressed(ev):
                    self._count("suppressed")
                elif not self._wanted(ev):
                    self._count("filtered")
                elif not self.bucket.take():
                    if self.seen is not None:
                        self.seen.forget(ev)
                    self._count("limited")
                    self._limited_unreported += 1
                else:
                    out.extend(render(ev, self.cfg.format))
        if self._limited_unreported and out:
            log.warning(
                "output %s: %d record(s) over its rate limit were not sent (counted in "
                'fednids_output_records_total{outcome="limited"})',
                self.cfg.name,
                self._limited_unreported,
            )
            self._limited_unreported = 0
        return out

    def deliver(self, records: list[Record], stop: threading.Event) -> bool:
        """Send until the receiver accepted every record (or rejected it for good: counted);
        False when the process stops first. Per-record sinks get one record at a time, and
        a batch the receiver rejects is sent again record by record to find the bad one."""
        if not self.sink.per_record and len(records) > 1:
            outcome = self._send(records, stop)
            if outcome != "rejected":
                return outcome == "sent"
        return all(self._send([rec], stop) != "stopped" for rec in records)

    def _send(self, records: list[Record], stop: threading.Event) -> str:
        delay = self.settings.retry_initial_s
        while True:
            try:
                self.sink.send(records)
            except SinkError as exc:
                if exc.permanent:
                    if len(records) == 1:
                        self._reject(records[0], exc)
                    return "rejected"
                self._failed(str(exc), delay)
            except Exception as exc:  # a receiver's library failing: retried, not lost
                log.exception("output %s: unexpected failure", self.cfg.name)
                self._failed(f"{type(exc).__name__}: {exc}", delay)
            else:
                self.metrics.up.labels(self.cfg.name).set(1)
                self.health.succeeded()
                self._count("sent", len(records))
                return "sent"
            self.update_lag(every_s=0.0)  # a stalled output's lag keeps being reported
            if stop.wait(delay):
                return "stopped"
            delay = min(delay * 2, self.settings.retry_max_s)

    def _failed(self, why: str, delay: float) -> None:
        self.counts["failures"] += 1
        self.health.failed(why)
        self.metrics.failures.labels(self.cfg.name).inc()
        self.metrics.up.labels(self.cfg.name).set(0)
        log.warning("output %s: %s; again in %.1f s", self.cfg.name, why, delay)

    def _reject(self, rec: Record, exc: SinkError) -> None:
        self._count("rejected")
        key = getattr(rec.event, "incident_key", "")
        log.error(
            "output %s: the receiver rejected event %s %s for good (%s); not sent again",
            self.cfg.name,
            rec.event.event_id,
            key,
            exc,
        )

    def update_lag(self, every_s: float = 1.0) -> None:
        now = time.monotonic()
        if now - self._lag_at < every_s:
            return
        self._lag_at = now
        try:
            lag = self.lag_probe.lag()
        except ContractError as exc:
            log.debug("output %s: lag unknown: %s", self.cfg.name, exc)
            self.health.lag_records = None
            return
        self.metrics.lag.labels(self.cfg.name).set(lag)
        self.health.lag_records = lag
        self.health.cursor = dict(self.lag_probe.cursor)

    def step(self, sub: Subscriber, stop: threading.Event) -> int:
        """One poll: select, deliver, commit. Returns the messages committed."""
        msgs = sub.poll(timeout=0.5, max_messages=self.settings.batch)
        if not msgs:
            return 0
        records = self.select(msgs)
        if records:
            self.health.waiting(min(r.event.ts.timestamp() for r in records))
            if not self.deliver(records, stop):
                return 0  # stopping: not committed, sent again on the next start
        sub.ack(msgs)
        self.health.waiting(None)
        return len(msgs)

    def snapshot(self) -> dict[str, object]:
        """This output's state as the store keeps it (:mod:`hub.storage.output_state`)."""
        return self.health.snapshot(self.cfg, self.counts)

    def run(self, stop: threading.Event) -> None:
        sub = self._subscriber()
        try:
            while not stop.is_set():
                try:
                    self.step(sub, stop)
                except ContractError as exc:  # the broker: poll or commit failed; retried
                    log.warning("output %s: %s", self.cfg.name, exc)
                    stop.wait(self.settings.retry_initial_s)
                self.update_lag()
        finally:
            sub.close()
            self.sink.close()
            self.lag_probe.close()


def run_outputs(settings: OutputsSettings, stop: threading.Event) -> OutputMetrics:
    """Start every output's worker, serve the metrics, and return when ``stop`` is set."""
    metrics = OutputMetrics()
    workers = [OutputWorker(cfg, settings, metrics) for cfg in settings.outputs]
    if settings.metrics_port is not None:
        port = metrics.serve(settings.metrics_host, settings.metrics_port)
        log.info("outputs: metrics on http://%s:%d/metrics", settings.metrics_host, port)
    reporter = StateReporter.open(settings, [w.snapshot for w in workers])
    threads = [
        threading.Thread(target=w.run, args=(stop,), name=f"output-{w.cfg.name}", daemon=True)
        for w in workers
    ]
    if reporter is not None:
        threads.append(threading.Thread(target=reporter.run, args=(stop,), name="output-state"))
    for t in threads:
        t.start()
    log.info("outputs: %s", ", ".join(f"{w.cfg.name} ({w.cfg.type})" for w in workers))
    try:
        stop.wait()
    finally:
        for t in threads:
            t.join(timeout=30)
        if reporter is not None:
            reporter.write()  # the last word: each output's state as it stopped
        metrics.close()
    return metrics
