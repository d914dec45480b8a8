"""Fleet provisioning: the PKI (``provisioning.ca``), node bundles (``provisioning.node``),
the hub's certificates (``provisioning.hub``) and ``fednids provision`` (``provisioning.cli``).

The files it renders (cloud-init, systemd units, the installer) are package data in
``provisioning/templates``, found through :mod:`importlib.resources`, so an installed
``fednids provision`` works without a checkout.
"""
