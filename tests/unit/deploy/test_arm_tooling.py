"""tests/arm/: what the emulated Pi installs is the `edge` extra (nothing heavy), the scripts
parse, keep their cache outside the clone and depend on nothing outside the repository."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
ARM = ROOT / "tests" / "arm"
sys.path.insert(0, str(ARM))

from edge_requirements import edge_requirements  # noqa: E402


def test_the_pi_installs_the_edge_extra_and_nothing_heavy():
    reqs = edge_requirements()
    names = {
        r.split(";")[0].split(">")[0].split("=")[0].split("<")[0].strip().lower() for r in reqs
    }
    assert {"paho-mqtt", "ai-edge-litert", "numpy", "pydantic"} <= names
    assert names.isdisjoint({"torch", "tensorflow", "flwr", "fastapi", "confluent-kafka", "opacus"})
    assert "pytest" not in names and "pytest" in edge_requirements(with_tests=True)


def test_scripts_parse_and_stay_inside_the_repository():
    for script in ("setup-sysroot.sh", "run-arm64.sh"):
        text = (ARM / script).read_text()
        res = subprocess.run(
            ["bash", "-n", str(ARM / script)], capture_output=True, text=True, check=False
        )
        assert res.returncode == 0, res.stderr
        assert "../shared" not in text and "/work/" not in text
        assert "${XDG_CACHE_HOME:-$HOME/.cache}/fednids/arm64" in text  # cache outside the clone
