"""Installing Debian packages when a server's binaries are missing."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Sequence

from tests.harness.base import HarnessError

_updated = False


def apt_install(packages: Sequence[str]) -> None:
    global _updated  # noqa: PLW0603 - one apt-get update per process
    sudo = [] if os.geteuid() == 0 else ["sudo"]
    env = os.environ | {"DEBIAN_FRONTEND": "noninteractive"}
    print(f"harness: installing Debian packages {' '.join(packages)}", flush=True)
    if not _updated:
        subprocess.run(
            [*sudo, "apt-get", "update", "-qq"], check=False, env=env, capture_output=True
        )
        _updated = True
    proc = subprocess.run(
        [*sudo, "apt-get", "install", "-y", "-qq", "--no-install-recommends", *packages],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        raise HarnessError(f"apt-get install {' '.join(packages)} failed:\n{proc.stderr[-2000:]}")
