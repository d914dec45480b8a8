"""Errors of the models part. ``ModelError`` is the root."""


class ModelError(Exception):
    """Root of every error raised by :mod:`models`."""
