"""The receivers an output sends to. Each :class:`Sink` takes a batch of records and returns
only once the receiver accepted all of them, else raises :class:`SinkError`.

A sink that sends record by record (``per_record``: webhook, apprise) is given one record at a
time, so a retry after a failure does not send again what was already accepted.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from hub.outputs import OutputError
from hub.outputs.records import Record


class SinkError(OutputError):
    """The receiver is unreachable or refused a record; the batch will be sent again."""

    def __init__(self, message: str, permanent: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent
        """The receiver rejected the record itself (HTTP 400, 413, 415, 422): sending it
        again can never succeed; the output counts it as ``rejected`` and goes on."""


class Sink(Protocol):
    per_record: bool

    def send(self, records: Sequence[Record]) -> None: ...

    def close(self) -> None: ...
