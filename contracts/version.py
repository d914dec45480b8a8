"""The fednids release, read once from the installed distribution's metadata (pyproject.toml
is its only source); a source checkout that was never installed reports ``0+unknown``."""

from __future__ import annotations

from importlib import metadata

try:
    __version__ = metadata.version("fednids")
except metadata.PackageNotFoundError:  # pragma: no cover - a bare checkout
    __version__ = "0+unknown"
