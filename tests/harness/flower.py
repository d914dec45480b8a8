"""The local Flower federation of :mod:`demo.federation` with a test PKI: TLS between the
SuperLink and the SuperNodes, and SuperNode authentication with registered keys."""

from __future__ import annotations

from pathlib import Path

from demo.federation import APP_DIR, FederationError, TlsFiles
from demo.federation import FlowerDeployment as _Local
from federated import SECAGG_APP_DIR
from tests.harness.certs import make_test_pki

__all__ = ["APP_DIR", "SECAGG_APP_DIR", "FederationError", "FlowerDeployment"]


def FlowerDeployment(directory: Path, port: int = 19400, auth: bool = True) -> _Local:
    pki = make_test_pki(directory / "pki")
    return _Local(
        directory, port=port, tls=TlsFiles(pki.ca, pki.server.cert, pki.server.key), auth=auth
    )
