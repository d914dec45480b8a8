"""Tables. Raw flows have their own narrow table (the bulk of the rows); every other event
is a row of ``events`` with the columns the API filters on and the contract JSON."""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    Float,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
)

metadata = MetaData()

flows = Table(
    "flows",
    metadata,
    Column("event_id", String(36), primary_key=True),
    Column("node_id", String(64), nullable=False),
    Column("ts", Float, nullable=False),
    Column("minute", Integer, nullable=False),
    Column("start_ts", Float, nullable=False),
    Column("end_ts", Float, nullable=False),
    Column("src_ip", String(64), nullable=False),
    Column("dst_ip", String(64), nullable=False),
    Column("src_port", Integer, nullable=False),
    Column("dst_port", Integer, nullable=False),
    Column("proto", Integer, nullable=False),
    Column("packets", Integer, nullable=False),
    Column("bytes", Float, nullable=False),
    Column("label", String(64)),
    Column("community_id", String(64)),  # Community ID v1: the key to join with Zeek/Suricata
    Column("l7", Text),  # JSON {"dns"|"tls"|"http"|"ssh": the contract's object}, or NULL
    Index("flows_minute_node", "minute", "node_id"),
    Index("flows_node_ts", "node_id", "ts"),
    Index("flows_community_id", "community_id"),
)

events = Table(
    "events",
    metadata,
    Column("event_id", String(36), primary_key=True),
    Column("kind", String(16), nullable=False),
    Column("node_id", String(64), nullable=False),
    Column("ts", Float, nullable=False),
    Column("minute", Integer, nullable=False),
    Column("tag", String(64)),  # detector / family / predictor / role / model name
    Column("severity", String(16)),
    Column("host", String(64)),  # src_ip, target host, ...
    Column("peer", String(64)),
    Column("payload", Text, nullable=False),  # the contract's JSON
    Index("events_kind_ts", "kind", "ts"),
    Index("events_kind_node_ts", "kind", "node_id", "ts"),
    Index("events_kind_tag_ts", "kind", "tag", "ts"),
    Index("events_kind_severity_ts", "kind", "severity", "ts"),
    Index("events_kind_minute", "kind", "minute"),
)

alerts = Table(
    "alerts",
    metadata,
    Column("incident_key", String(200), primary_key=True),
    Column("severity", String(16), nullable=False),
    Column("status", String(16), nullable=False),
    Column("family", String(32), nullable=False),
    Column("count", Integer, nullable=False),
    Column("first_seen", Float, nullable=False),
    Column("last_seen", Float, nullable=False),
    Column("updated", Float, nullable=False),
    Column("acknowledged_by", String(100)),
    Column("acknowledged_at", Float),
    Column("resolved_at", Float),
    Column("payload", Text, nullable=False),  # the latest AlertEvent
    Column("suppressed_by", String(36)),  # the active suppression it matched (0004)
    Column("resolution", String(32)),  # "false_positive" when resolved as one (0004)
    Index("alerts_status_updated", "status", "updated"),
    Index("alerts_severity_updated", "severity", "updated"),
)

nodes = Table(
    "nodes",
    metadata,
    Column("node_id", String(64), primary_key=True),
    Column("online", Boolean, nullable=False),
    Column("last_seen", Float, nullable=False),
    Column("payload", Text, nullable=False),  # the latest NodeStatus
)

api_tokens = Table(
    "api_tokens",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(100), nullable=False, unique=True),
    Column("role", String(16), nullable=False),
    Column("salt", String(64), nullable=False),
    Column("digest", String(128), nullable=False),
    Column("prefix", String(16), nullable=False),
    Column("created", Float, nullable=False),
    Column("expires", Float, nullable=True),  # unix time; NULL: created with --expires-days 0
    Index("api_tokens_prefix", "prefix"),
)

suppressions = Table(
    "suppressions",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("match", Text, nullable=False),  # JSON: hub.services.suppressions.SuppressionMatch
    Column("reason", String(500), nullable=False),
    Column("author", String(100), nullable=False),  # the API token's name (its role)
    Column("created_at", Float, nullable=False),
    Column("expires_at", Float, nullable=False),
    Column("deleted_at", Float),
    Column("source_incident", String(200)),
    Column("hits", Integer, nullable=False, default=0),
    Column("last_hit", Float),
    Index("suppressions_expires", "deleted_at", "expires_at"),
)

suppression_audit = Table(
    "suppression_audit",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("suppression_id", String(36), nullable=False),
    Column("action", String(16), nullable=False),  # created / expired / deleted
    Column("actor", String(100), nullable=False),
    Column("at", Float, nullable=False),
    Column("detail", String(500)),
    Index("suppression_audit_sid", "suppression_id", "at"),
)

assets = Table(  # the passive device inventory (0005): one row per (node, MAC or IP)
    "assets",
    metadata,
    Column("node_id", String(64), primary_key=True),
    Column("asset_key", String(64), primary_key=True),  # the MAC, else the IP
    Column("mac", String(17)),
    Column("ip", String(64)),
    Column("vendor", String(200)),
    Column("hostname", String(253)),
    Column("first_seen", Float, nullable=False),
    Column("last_seen", Float, nullable=False),
    Column("updated", Float, nullable=False),
    Column("search", Text, nullable=False),  # lower-cased key, IPs, names, vendor: the q filter
    Column("payload", Text, nullable=False),  # JSON: the merged hub.storage.assets.AssetRow
    Index("assets_last_seen", "last_seen", "asset_key"),
    Index("assets_vendor", "vendor"),
)

output_state = Table(  # each SOC output's health, written by `fednids hub outputs` (0006)
    "output_state",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("kind", String(16), nullable=False),  # syslog / webhook / splunk_hec / apprise / kafka
    Column("filter", String(500), nullable=False),  # a one-line summary of the output's filter
    Column("cursor", Text, nullable=False),  # JSON {"topic:partition": committed offset}
    Column("lag_records", Integer),  # NULL: the broker did not answer
    Column("lag_seconds", Float, nullable=False),  # the oldest record waiting (0: caught up)
    Column("up", Boolean, nullable=False),
    Column("last_success", Float),
    Column("last_error", String(500)),
    Column("last_error_at", Float),
    Column("consecutive_failures", Integer, nullable=False),
    Column("counts", Text, nullable=False),  # JSON {outcome: records} since the process started
    Column("started", Float, nullable=False),  # the outputs process's start
    Column("updated", Float, nullable=False),  # its last write: a stale row is a stopped process
)
