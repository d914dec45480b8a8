"""Which names a node may have: the node id is its certificate's CN, its MQTT username and the
level of its topics, so it must never be mistaken for a service or reach a service's topics.

The broker's node ACL (``pattern write fednids/v1/%u/<kind>``) already keeps every node under
its own prefix; refusing these names at provisioning keeps a node from *looking* like a service
in topics, logs and the dashboard, and keeps a node CN from ever matching a service ACL entry.
"""

from __future__ import annotations

import re

from contracts.topics import NODE_ID_PATTERN, MqttKind
from provisioning.ca import ProvisionError

SERVICE_NAMES = frozenset(
    {
        "admin",
        "api",
        "bridge",
        "dashboard",
        "fl",
        "health",
        "healthcheck",
        "hub",
        "ingestor",
        "kafka",
        "model",
        "models",
        "mosquitto",
        "postgres",
        "registry",
        "superlink",
    }
)
"""Service identities (certificate CNs of the service CA) and topic levels the hub uses."""
RESERVED_WORDS = frozenset({"all", "fednids", "localhost", "nodes", "root", "services", "share"})
"""Words with a meaning in topics, the PKI layout or the broker (``$share``)."""
_NODE_ID = re.compile(NODE_ID_PATTERN)
_SERVICE_PREFIXES = ("hub-", "bridge-", "api-", "svc-", "service-")

__all__ = ["RESERVED_WORDS", "SERVICE_NAMES", "check_node_id", "is_reserved"]


def is_reserved(node_id: str) -> str | None:
    """Why ``node_id`` may not be a node's name, or ``None`` when it may."""
    low = node_id.lower()
    if low in SERVICE_NAMES:
        return "it is the name of a fednids service"
    if low in RESERVED_WORDS or low in {k.value for k in MqttKind}:
        return "it is a reserved word of the topics or the PKI"
    if low.startswith(_SERVICE_PREFIXES):
        return f"names starting with {'/'.join(_SERVICE_PREFIXES)} are kept for services"
    return None


def check_node_id(node_id: str) -> None:
    """Refuse a node id that is malformed or could be mistaken for a service (clear error)."""
    if not _NODE_ID.fullmatch(node_id):
        raise ProvisionError(
            f"invalid node id {node_id!r}: use 1-63 characters a-z, 0-9, '-' and '_', "
            f"starting with a letter or digit (pattern {NODE_ID_PATTERN}); '$', '+', '#', "
            "'/' and upper case cannot appear in a node id"
        )
    why = is_reserved(node_id)
    if why:
        raise ProvisionError(f"node id {node_id!r} is reserved: {why}; choose another name")
