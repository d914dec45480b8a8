"""The one-process demo: ``fednids demo`` (``demo.cli``) runs ``demo.app``."""
