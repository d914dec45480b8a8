"""``flwr-clientapp`` as the attacker runs it: Flower's own ClientApp process, except that it
executes :data:`tests.harness.hostile_app.client_app.app` instead of the app the SuperLink's
FAB names. The hostile SuperNode finds it first on its ``PATH`` (its SuperExec starts
``flwr-clientapp`` by name for each message)."""

from __future__ import annotations

from collections.abc import Callable

from flwr.clientapp import ClientApp


def _hostile_loader(**_: object) -> Callable[[str, str, str], ClientApp]:
    from tests.harness.hostile_app.client_app import app

    return lambda _fab_id, _fab_version, _fab_hash: app


def main() -> None:
    import flwr.supernode.runtime.run_clientapp as run_clientapp
    from flwr.supernode.cli.flwr_clientapp import flwr_clientapp

    run_clientapp.get_load_client_app_fn = _hostile_loader  # type: ignore[assignment]
    flwr_clientapp()
