"""``fednids hub retention``: the retention and partition-maintenance job, once or every N
minutes (settings: :class:`hub.storage.retention.RetentionSettings`, ``FEDNIDS_RETENTION_*``)."""

from __future__ import annotations

import argparse
import json
import logging
import threading
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from hub.storage.retention import RetentionSettings

log = logging.getLogger("fednids.retention")
_FLAGS = ("flows_days", "events_days", "alerts_days", "max_size_mb", "every_minutes")


def register_services(hsub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    ret = hsub.add_parser(
        "retention",
        help="drop old data by age and size (PostgreSQL: whole partitions), make partitions ahead",
    )
    ret.add_argument("--db", dest="db_url")
    ret.add_argument("--flows-days", type=float, help="keep raw flows this many days")
    ret.add_argument("--events-days", type=float, help="keep anomalies and other events")
    ret.add_argument("--alerts-days", type=float, help="keep incidents (by last update)")
    ret.add_argument("--max-size-mb", type=float, help="cap on the store's size")
    ret.add_argument("--every-minutes", type=float, help="run every N minutes (0: once)")
    ret.set_defaults(handler=_retention)


def run_loop(store_url: str, settings: RetentionSettings, stop: threading.Event) -> int:
    """Run once, or every ``settings.every_minutes`` until ``stop``; 1 if the last run failed."""
    from hub.errors import StoreError
    from hub.storage.retention import run_retention
    from hub.storage.store import EventStore

    store = EventStore(store_url)
    try:
        store.create_schema()  # idempotent: the tables (and partitions ahead) exist
    except StoreError as exc:
        log.error("%s", exc)
        return 1
    status = 0
    while True:
        try:
            report = run_retention(store.engine, settings)
            print(json.dumps(report.as_dict(), sort_keys=True), flush=True)
            status = 0
        except StoreError as exc:
            log.error("%s", exc)
            status = 1
        if settings.every_minutes <= 0 or stop.wait(settings.every_minutes * 60):
            return status


def _retention(args: argparse.Namespace) -> int:
    from contracts.runtime import stop_event_on_signals
    from hub.settings import HubSettings
    from hub.storage.retention import RetentionSettings

    hub = HubSettings(**({"db_url": args.db_url} if args.db_url else {}))
    flags = {k: getattr(args, k) for k in _FLAGS if getattr(args, k, None) is not None}
    return run_loop(hub.db_url, RetentionSettings(**flags), stop_event_on_signals())
