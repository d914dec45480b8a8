"""What a Pi installs for the agent: the ``edge`` extra's dependency closure, sizes included.

Run with the aarch64 python (``tests/arm/run-arm64.sh tests/arm/edge_footprint.py SITE WHEELS``):
markers are evaluated on the emulated machine, so the list is the one a Pi resolves. Prints
JSON: one entry per distribution with its version, installed bytes and wheel bytes.
"""

from __future__ import annotations

import json
import platform
import sys
from importlib.metadata import Distribution, distributions
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

sys.path.insert(0, str(Path(__file__).resolve().parent))
from edge_requirements import edge_requirements


def _installed_bytes(dist: Distribution, site: Path) -> int:
    total = 0
    for f in dist.files or []:
        p = site / f
        if p.is_file():
            total += p.stat().st_size
    return total


def footprint(site: Path, wheels: Path) -> dict[str, object]:
    dists = {canonicalize_name(d.metadata["Name"]): d for d in distributions(path=[str(site)])}
    todo = [Requirement(r) for r in edge_requirements(with_tests=False)]
    seen: dict[str, Distribution] = {}
    while todo:
        req = todo.pop()
        if req.marker is not None and not req.marker.evaluate({"extra": ""}):
            continue
        name = canonicalize_name(req.name)
        if name in seen:
            continue
        if name not in dists:
            raise SystemExit(f"{name} is required but not installed in {site}")
        seen[name] = dists[name]
        todo += [Requirement(r) for r in dists[name].requires or []]
    rows = []
    for name, d in sorted(seen.items()):
        whl = [w for w in wheels.glob("*.whl") if canonicalize_name(w.name.split("-")[0]) == name]
        ver = d.version
        whl = [w for w in whl if w.name.split("-")[1] == ver]
        rows.append(
            {
                "name": name,
                "version": ver,
                "installed_bytes": _installed_bytes(d, site),
                "wheel": whl[0].name if whl else None,
                "wheel_bytes": whl[0].stat().st_size if whl else None,
            }
        )
    return {
        "machine": platform.machine(),
        "python": platform.python_version(),
        "packages": rows,
        "installed_bytes": sum(r["installed_bytes"] for r in rows),
        "download_bytes": sum(r["wheel_bytes"] or 0 for r in rows),
    }


if __name__ == "__main__":
    print(json.dumps(footprint(Path(sys.argv[1]), Path(sys.argv[2]))))
