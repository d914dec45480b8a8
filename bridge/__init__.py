"""fednids bridge."""
