"""The local Flower federation of :mod:`hub.fl.local` with a test PKI: TLS between the
SuperLink and the SuperNodes, and SuperNode authentication with registered keys."""

from __future__ import annotations

from pathlib import Path

from hub.fl.local import APP_DIR, FederationError, TlsFiles
from hub.fl.local import FlowerDeployment as _Local
from tests.harness.certs import make_test_pki

__all__ = ["APP_DIR", "FederationError", "FlowerDeployment"]


def FlowerDeployment(directory: Path, port: int = 19400, auth: bool = True) -> _Local:
    pki = make_test_pki(directory / "pki")
    return _Local(
        directory, port=port, tls=TlsFiles(pki.ca, pki.server.cert, pki.server.key), auth=auth
    )
