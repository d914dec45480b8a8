"""The training side of :mod:`models`: data sets built from captures and the simulator
through the edge's own pipeline (so features are exactly what a sensor computes), the
classifier's training, and the offline evaluation of the hub's models. It may import
``edge_agent``; what the hub loads at run time (``models.iforest``, ``models.classifier``,
``models.gnn.model``, ``models.paths``) must not (import-linter checks it)."""
