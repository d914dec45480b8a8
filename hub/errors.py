"""Errors of the hub. ``HubError`` is the root."""


class HubError(Exception):
    """Root of every error raised by :mod:`hub`."""


class StoreError(HubError):
    """The database failed (connection lost, constraint, migration); the cause is chained."""


class RecordRejected(StoreError):
    """The database refused the data of a batch (a value out of a column's range, a constraint),
    not the connection: retrying the same batch can never succeed."""


class NotFound(HubError):
    """A requested row does not exist."""
