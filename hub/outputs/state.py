"""Each output's health, kept by its worker and written to the hub's store every few seconds,
so the API (``GET /api/outputs``) and the dashboard see what the outputs process's own
``/metrics`` show: up or down, the last success and error, the failures in a row, the lag (in
records and in seconds) and the counts by outcome.

The lag in seconds is the age of the oldest record the output holds but has not delivered
(its event time; 0 when nothing waits): it grows while a receiver is down. The store is only
a report: a database that is down never holds up a delivery (the write is retried next time).
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from hub.errors import StoreError
from hub.outputs.config import OutputConfig, OutputsSettings

if TYPE_CHECKING:
    from hub.storage import EventStore

log = logging.getLogger("fednids.hub.outputs")
MAX_ERROR = 300
_USERINFO = re.compile(r"(?P<scheme>[a-z][a-z0-9+.-]*://)[^/@\s]+@", re.I)
_QUERY = re.compile(r"(?P<url>[a-z][a-z0-9+.-]*://[^\s?#]*)[?#]\S*", re.I)


def redact(text: str) -> str:
    """An error as any read token may see it: no credentials (``user:pass@``) and no query
    string (where webhook tokens hide) in the URLs it names."""
    text = _USERINFO.sub(r"\g<scheme>***@", text)
    return _QUERY.sub(r"\g<url>?***", text)[:MAX_ERROR]


Snapshot = Callable[[], dict[str, object]]


def filter_summary(cfg: OutputConfig) -> str:
    """A one-line summary of what an output takes (no secret is in a filter or a limit)."""
    f, r = cfg.filter, cfg.rate_limit
    parts = [f"severity >= {f.min_severity}"]
    parts.append(f"families: {', '.join(f.families)}" if f.families else "all families")
    parts.append(f"nodes: {', '.join(f.nodes)}" if f.nodes else "all nodes")
    if f.new_only:
        parts.append("new incidents only")
    parts.append("suppressed included" if f.include_suppressed else "suppressed skipped")
    if r.per_minute is not None:
        parts.append(f"at most {r.per_minute:g}/min (burst {r.burst})")
    return "; ".join(parts)


class Health:
    """The worker's view of its own output, updated as it delivers (one thread writes)."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self.clock = clock
        self.started = clock()
        self.up = True
        self.last_success: float | None = None
        self.last_error: str | None = None
        self.last_error_at: float | None = None
        self.consecutive_failures = 0
        self.lag_records: int | None = 0
        self.cursor: dict[str, int] = {}
        self.oldest_waiting: float | None = None
        self._lock = threading.Lock()

    def succeeded(self) -> None:
        with self._lock:
            self.up = True
            self.last_success = self.clock()
            self.consecutive_failures = 0

    def failed(self, why: str) -> None:
        with self._lock:
            self.up = False
            self.last_error = redact(why)
            self.last_error_at = self.clock()
            self.consecutive_failures += 1

    def waiting(self, oldest_event_ts: float | None) -> None:
        """The event time of the oldest record held for delivery (None: nothing waits)."""
        with self._lock:
            self.oldest_waiting = oldest_event_ts

    def lag_seconds(self) -> float:
        if self.oldest_waiting is None:
            return 0.0
        return round(max(0.0, self.clock() - self.oldest_waiting), 3)

    def snapshot(self, cfg: OutputConfig, counts: dict[str, int]) -> dict[str, object]:
        with self._lock:
            return {
                "name": cfg.name,
                "kind": cfg.type,
                "filter": filter_summary(cfg),
                "cursor": dict(self.cursor),
                "lag_records": self.lag_records,
                "lag_seconds": self.lag_seconds(),
                "up": self.up,
                "last_success": self.last_success,
                "last_error": self.last_error,
                "last_error_at": self.last_error_at,
                "consecutive_failures": self.consecutive_failures,
                "counts": dict(counts),
                "started": self.started,
            }


class StateReporter:
    """Writes every output's snapshot to the store every ``every_s`` seconds."""

    def __init__(self, store: EventStore, snapshots: Sequence[Snapshot], every_s: float) -> None:
        self.store = store
        self.snapshots = list(snapshots)
        self.every_s = every_s
        self.failed_writes = 0

    @classmethod
    def open(cls, settings: OutputsSettings, snapshots: Sequence[Snapshot]) -> StateReporter | None:
        """None when no ``db_url`` is set (the state is then only in ``/metrics``)."""
        if not settings.db_url:
            return None
        from hub.storage import EventStore
        from hub.storage.output_state import delete_output_states

        store = EventStore(settings.db_url.get_secret_value())
        reporter = cls(store, snapshots, settings.state_every_s)
        try:  # outputs no longer in the file: not shown as stale forever
            delete_output_states(reporter.store, [o.name for o in settings.outputs])
        except StoreError as exc:
            log.warning("outputs: state store not reachable yet: %s", _line(exc))
        return reporter

    def write(self) -> bool:
        from hub.storage.output_state import save_output_states

        try:
            save_output_states(self.store, [snap() for snap in self.snapshots])
        except StoreError as exc:
            self.failed_writes += 1
            log.warning(
                "outputs: state not written (again in %.0f s): %s", self.every_s, _line(exc)
            )
            return False
        return True

    def run(self, stop: threading.Event) -> None:
        while True:
            self.write()
            if stop.wait(self.every_s):
                return


def _line(exc: Exception) -> str:
    return str(exc).splitlines()[0][:300] if str(exc) else type(exc).__name__
