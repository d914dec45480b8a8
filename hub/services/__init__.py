"""The hub's Kafka services (consumer groups): alerting today; iforest, classifier and the
GNN predictor plug into the same runtime."""
