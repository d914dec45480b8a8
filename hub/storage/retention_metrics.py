"""What retention keeps, for the API's ``/metrics``: the store's size, its partitions and the
oldest data per table, read from the catalog at scrape time (cheap: no table scans). A
database that does not answer gives ``fednids_store_up 0`` and nothing else."""

from __future__ import annotations

import logging
from collections.abc import Iterator

from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy.exc import SQLAlchemyError

from hub.storage.partitions import PARTITIONED, is_partitioned, list_partitions
from hub.storage.retention import pg_size
from hub.storage.retention_sqlite import sqlite_size
from hub.storage.store import EventStore

log = logging.getLogger(__name__)


class StoreCollector(Collector):
    def __init__(self, store: EventStore) -> None:
        self.store = store

    def collect(self) -> Iterator[Metric]:
        up = GaugeMetricFamily("fednids_store_up", "The event store answered this scrape")
        try:
            metrics = self._read()
        except SQLAlchemyError as exc:
            log.debug("store metrics: %s", exc)
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        yield from metrics

    def _read(self) -> list[Metric]:
        size = GaugeMetricFamily("fednids_store_bytes", "Size of the event store's tables")
        parts = GaugeMetricFamily(
            "fednids_store_partitions", "Range partitions per table (PostgreSQL)", labels=["table"]
        )
        oldest = GaugeMetricFamily(
            "fednids_store_oldest_seconds",
            "Start of the oldest data kept per table (epoch s; PostgreSQL: oldest partition)",
            labels=["table"],
        )
        engine = self.store.engine
        if self.store.dialect == "postgresql":
            with engine.connect() as conn:
                size.add_metric([], pg_size(conn))
                for table in PARTITIONED:
                    ranges = [
                        p.lo
                        for p in (
                            list_partitions(conn, table) if is_partitioned(conn, table) else []
                        )
                        if p.lo is not None
                    ]
                    parts.add_metric([table], len(ranges))
                    if ranges:
                        oldest.add_metric([table], min(ranges))
        else:  # SQLite: the size only (its oldest row would cost a scan: no index on ts)
            size.add_metric([], sqlite_size(engine))
        return [size, parts, oldest]
