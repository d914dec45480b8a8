"""The hub's federated learning: the Flower ``ServerApp`` (FedAvg with FL events and signed
model distribution), run by ``flower-superlink`` on Flower's deployment engine."""
