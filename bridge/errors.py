"""Errors of the bridge. ``BridgeError`` is the root."""


class BridgeError(Exception):
    """Root of every error raised by :mod:`bridge`."""
