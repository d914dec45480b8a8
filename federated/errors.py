"""Errors of the federated app. ``FederatedError`` is the root."""

from __future__ import annotations


class FederatedError(Exception):
    """Root of every error raised by :mod:`federated`."""


class RoundConfigError(FederatedError):
    """A round config (what the server sends with each round) is missing a key, has a value of
    the wrong type or out of bounds: the node refuses the round rather than guess."""


class PolicyError(FederatedError):
    """The node's provisioned privacy policy is malformed (``--node-config``)."""


class PrivacyStateError(FederatedError):
    """The node's privacy state file is unreadable: refuse to train rather than forget spending."""


class LocalDataError(FederatedError):
    """The node's training data cannot be read."""


class CalibrationError(FederatedError):
    """The base model directory has no (or a corrupt) set of int8 calibration windows."""
