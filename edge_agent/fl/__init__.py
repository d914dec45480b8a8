"""The agent's federated-learning client (Flower ``ClientApp``), run by ``flower-supernode``.

DP training imports torch and Opacus, so it lives in the Flower client's own process; the
agent's detection process never imports this package's training modules.
"""
