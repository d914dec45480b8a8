"""The hub's federated-learning commands (``fednids hub keygen | publish-model | fl-run``).

The Flower app itself (ServerApp, ClientApp, strategy, round config) is :mod:`federated`."""
