"""Errors of the hub. ``HubError`` is the root."""


class HubError(Exception):
    """Root of every error raised by :mod:`hub`."""


class StoreError(HubError):
    """The database failed (connection lost, constraint, migration); the cause is chained."""


class NotFound(HubError):
    """A requested row does not exist."""
