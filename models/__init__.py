"""fednids models."""
