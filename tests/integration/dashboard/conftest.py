"""Fixtures for the dashboard's browser tests: the built dashboard and demo processes."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from dashboard_demo import CHROMIUM, DASH, REPO, DemoPool


@pytest.fixture(scope="session")
def built_dashboard() -> Path:
    """scripts/build-dashboard.sh (npm ci, fresh-types check, tsc, Vitest, vite build); a no-op
    when nothing changed since the last successful build."""
    assert shutil.which("node"), "node is needed (scripts/system-deps.sh installs it)"
    assert Path(CHROMIUM).is_file(), f"{CHROMIUM} is missing (scripts/system-deps.sh installs it)"
    proc = subprocess.run(
        ["bash", str(REPO / "scripts" / "build-dashboard.sh")],
        env=dict(os.environ, PYTHON=sys.executable),
        check=False,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, f"build failed:\n{proc.stdout}\n{proc.stderr}"
    assert (DASH / "dist" / "index.html").is_file()
    return DASH / "dist"


@pytest.fixture
def demos(built_dashboard: Path, tmp_path: Path) -> Iterator[DemoPool]:
    pool = DemoPool(tmp_path)
    try:
        yield pool
    finally:
        pool.stop_all()
