"""Print what a Raspberry Pi installs for the agent: the core + ``edge`` extra of pyproject.toml.

``python tests/arm/edge_requirements.py [--test]`` writes one requirement a line (environment
markers kept, so pip on the Pi / under emulation resolves them); ``--test`` adds the test runner
the emulated suite needs. Versions are pinned by ``requirements/lock.txt`` through ``-c``.
"""

from __future__ import annotations

import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TEST_ONLY = ("pytest", "pytest-timeout")


def edge_requirements(with_tests: bool = False) -> list[str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    reqs = [*project["dependencies"], *project["optional-dependencies"]["edge"]]
    return reqs + (list(TEST_ONLY) if with_tests else [])


if __name__ == "__main__":
    print("\n".join(edge_requirements("--test" in sys.argv[1:])))
