"""Bytes from the wire -> bounded, printable text; and the error a parser raises."""

from __future__ import annotations

from edge_agent.capture.errors import EdgeAgentError

_CONTROL = {c: "?" for c in (*range(0x20), 0x7F)}


class Malformed(EdgeAgentError):
    """An L7 payload that does not parse; ``reason`` names why (counted, never raised on)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def clean(raw: bytes, limit: int) -> str:
    """``raw`` as text of at most ``limit`` characters with no control characters (each
    becomes ``?``; bytes that are not UTF-8 become U+FFFD)."""
    text = raw[: limit * 4].decode("utf-8", "replace")
    if not text.isprintable():
        text = text.translate(_CONTROL)
    return text[:limit]
