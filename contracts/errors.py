"""Errors of the contracts part. ``ContractError`` is the root."""

from __future__ import annotations


class ContractError(Exception):
    """Root of every error raised by :mod:`contracts`."""


class ValidationFailed(ContractError):
    """A payload is not a valid event: wrong JSON, wrong schema, wrong types, unknown fields.

    ``reason`` is a short human-readable text fit for a ``dead_letter`` record.
    """

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class PayloadTooLarge(ValidationFailed):
    """A payload is larger than :data:`contracts.codec.MAX_MESSAGE_BYTES`."""


class TransportError(ContractError):
    """A transport (memory, Kafka, MQTT) failed; the library's error is the ``__cause__``."""
