"""fednids hub."""
