"""``fednids hub fl-run`` submits the federated app without the hub importing it."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path


def test_fl_run_finds_the_app_without_importing_federated():
    # prepare: a fresh interpreter (this one has imported federated already)
    code = (
        "import sys; from hub.fl.cli import app_dir; d = app_dir(); s = app_dir(True); "
        "print(d); print(s); print('federated' in sys.modules)"
    )
    # execute
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.split()
    # assert
    plain, secagg, imported = out
    assert imported == "False"
    for d, server in ((plain, "federated.server_app:app"), (secagg, "federated.secagg_server:app")):
        app = tomllib.loads((Path(d) / "pyproject.toml").read_text())["tool"]["flwr"]["app"]
        assert app["components"]["serverapp"] == server
