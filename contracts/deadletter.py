"""The ``dead_letter`` record: why a payload was refused, where it came from, its bytes."""

from __future__ import annotations

import base64
import json
import time
from typing import Any

MAX_KEPT_BYTES = 512 * 1024


def dead_letter(
    reason: str, source_topic: str, payload: bytes, node_id: str | None = None, service: str = ""
) -> bytes:
    """One JSON record for the ``dead_letter`` topic (the original bytes base64, capped)."""
    kept = payload[:MAX_KEPT_BYTES]
    return json.dumps(
        {
            "reason": reason[:2000],
            "source_topic": source_topic[:500],
            "node_id": node_id,
            "service": service,
            "received_at": time.time(),
            "size": len(payload),
            "truncated": len(kept) < len(payload),
            "payload_b64": base64.b64encode(kept).decode(),
        },
        separators=(",", ":"),
    ).encode()


def read_dead_letter(record: bytes) -> dict[str, Any]:
    d: dict[str, Any] = json.loads(record)
    d["payload"] = base64.b64decode(d.pop("payload_b64"))
    return d
