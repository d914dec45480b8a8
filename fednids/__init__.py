"""fednids: the ``fednids`` console script, dispatching to each part's own CLI."""

__version__ = "0.1.0"
