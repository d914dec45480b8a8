"""The PostgreSQL partition layout, checked without a server: names, buckets, the DDL."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.dialects import postgresql
from sqlalchemy.schema import CreateTable

from hub.storage.partitions import (
    DAY,
    Partition,
    bucket,
    is_partition_name,
    partition_name,
    partitioned_table,
)
from hub.storage.schema import events, flows


def test_buckets_are_whole_days_from_midnight_utc():
    ts = datetime(2026, 12, 1, 15, 30, tzinfo=UTC).timestamp()
    lo, hi = bucket(ts, 1)
    assert datetime.fromtimestamp(lo, UTC) == datetime(2026, 12, 1, tzinfo=UTC)
    assert hi - lo == DAY
    assert bucket(lo, 1) == (lo, hi)  # the first second belongs to its own day
    assert bucket(hi - 1e-3, 1) == (lo, hi)
    assert bucket(ts, 7)[1] - bucket(ts, 7)[0] == 7 * DAY


def test_names_are_recognised_and_nothing_else():
    lo = datetime(2026, 12, 1, tzinfo=UTC).timestamp()
    assert partition_name("flows", lo) == "flows_p20261201"
    assert all(is_partition_name(n) for n in ("flows_p20261201", "events_default"))
    assert not any(
        is_partition_name(n) for n in ("flows", "events", "alerts", "flows_old", None, "x_default")
    )


def test_the_partitioned_copy_keys_on_event_id_and_ts_and_keeps_every_index():
    for table in (flows, events):
        copy = partitioned_table(table)
        ddl = str(CreateTable(copy).compile(dialect=postgresql.dialect()))
        assert "PRIMARY KEY (event_id, ts)" in ddl
        assert "PARTITION BY RANGE (ts)" in ddl
        assert {i.name for i in copy.indexes} == {i.name for i in table.indexes}
        assert [c.name for c in copy.columns] == [c.name for c in table.columns]
    assert [c.name for c in flows.primary_key.columns] == ["event_id"]  # the original unchanged


def test_a_partition_covers_its_range_half_open():
    p = Partition("flows", "flows_p20261201", 0.0, DAY)
    assert p.covers(0.0) and p.covers(DAY - 1) and not p.covers(DAY)
    assert Partition("flows", "flows_default", None, None).is_default
