"""The propagation predictor (GraphSAGE in plain PyTorch): ``model`` (what the hub loads),
``train`` and ``propagation_sim`` (training on simulated scenarios; no capture, nothing of
the edge)."""
