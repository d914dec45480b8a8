"""The import boundaries of pyproject's [tool.importlinter] hold (``make lint`` runs them
all; this runs the ones that guard the edge's and the hub's run time)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
GUARDS = (
    "contracts-alone",
    "hub-not-edge",
    "edge-not-hub",
    "edge-detection-light",
    "models-runtime",
)


def _lint_imports() -> str:
    exe = Path(sys.executable).with_name("lint-imports")
    found = str(exe) if exe.is_file() else shutil.which("lint-imports")
    if found is None:
        pytest.skip("import-linter is not installed (the dev extra)")
    return found


def test_run_time_boundaries_hold():
    cmd = [_lint_imports(), "--no-cache", "--no-logo"]
    for c in GUARDS:
        cmd += ["--contract", c]
    out = subprocess.run(cmd, check=False, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stdout + out.stderr
    assert out.stdout.count(" KEPT") == len(GUARDS)
