"""fednids: the ``fednids`` console script, dispatching to each part's own CLI."""

from contracts.version import __version__

__all__ = ["__version__"]
