"""The dashboard's API types are generated from dashboard/src/api/openapi.json; this fails
when that copy no longer matches the hub's OpenAPI + the contracts' models."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]


def test_committed_openapi_matches_the_hub() -> None:
    proc = subprocess.run(
        [sys.executable, str(REPO / "scripts" / "dump_dashboard_openapi.py"), "--check"],
        check=False,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr


def test_check_detects_a_stale_copy(tmp_path: Path) -> None:
    stale = tmp_path / "openapi.json"
    stale.write_text("{}\n")
    proc = subprocess.run(
        [sys.executable, str(REPO / "scripts" / "dump_dashboard_openapi.py"), "--check",
         "--out", str(stale)],
        check=False, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 1
    assert "stale" in proc.stderr
