"""Errors of the edge agent. ``EdgeAgentError`` is the root."""

from __future__ import annotations


class EdgeAgentError(Exception):
    """Root of every error raised by :mod:`edge_agent`."""


class CaptureError(EdgeAgentError):
    """A packet source cannot be opened or read (no such file, no permission, bad spec)."""
