"""Benchmarks: one command each, ``python -m benchmarks.NAME`` from the repository root
(``make bench`` runs them all); each imports and runs the product's own code."""
