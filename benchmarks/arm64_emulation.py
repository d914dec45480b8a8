"""How long the QEMU ARM tests take, cold and warm, and what a Pi installs for the agent.

    python -m benchmarks.arm64_emulation --json OUT [--keep]

Cold: a fresh aarch64 environment in a temporary folder (apt lists, .debs, qemu, every wheel
downloaded again), then the emulated test module. Warm: the same test module again on that
environment (what every later ``make test`` costs). Footprint: the ``edge`` extra's dependency
closure resolved on aarch64 (names, versions, wheel and installed sizes). Needs the network
for the cold part and the real Mosquitto of the test harness (started on demand).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.common import REPO as ROOT
from benchmarks.common import add_json_arg, write_result

ARM = ROOT / "tests" / "arm"
TESTS = "tests/integration/arm"


CPU: dict[str, float] = {}


def _timed(cmd: list[str], env: dict[str, str], name: str) -> float:
    """Wall seconds of ``cmd``; its CPU seconds (user + system, children) go to ``CPU``."""
    r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.monotonic()
    subprocess.run(cmd, cwd=ROOT, env=env, check=True)
    wall = time.monotonic() - t0
    r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    CPU[name] = round(r1.ru_utime - r0.ru_utime + r1.ru_stime - r0.ru_stime, 1)
    return wall


def _du(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file() and not p.is_symlink())


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    add_json_arg(ap, required=True)
    ap.add_argument("--keep", action="store_true", help="keep the temporary environment")
    args = ap.parse_args()
    base = Path(tempfile.mkdtemp(prefix="fednids-arm64-bench-"))
    env = {**os.environ, "ARM64_DIR": str(base), "ARM64_HOST_PYTHON": sys.executable}
    pytest = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", TESTS]
    try:
        setup_cold = _timed(["bash", str(ARM / "setup-sysroot.sh")], env, "setup_cold")
        tests_first = _timed(pytest, env, "tests_after_cold_setup")
        setup_warm = _timed(["bash", str(ARM / "setup-sysroot.sh")], env, "setup_warm")
        tests_warm = _timed(pytest, env, "tests_warm")
        out = subprocess.run(
            [
                "bash",
                str(ARM / "run-arm64.sh"),
                str(ARM / "edge_footprint.py"),
                str(base / "site"),
                str(base / "cache" / "wheels"),
            ],
            cwd=ROOT,
            env={**env, "ARM64_PYTHONPATH": str(ROOT)},
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        footprint = json.loads(out.strip().splitlines()[-1])
        qemu = (base / "qemu" / ".stamp").read_text().strip()
        sizes = {
            "sysroot_bytes": _du(base / "sysroot"),
            "site_bytes_with_test_runner": _du(base / "site"),
            "cache_bytes": _du(base / "cache"),
        }
    finally:
        if not args.keep:
            shutil.rmtree(base, ignore_errors=True)
    result = {
        "host": {"machine": platform.machine(), "cpus": os.cpu_count()},
        "qemu": qemu,
        "seconds": {
            "setup_cold": round(setup_cold, 1),
            "tests_after_cold_setup": round(tests_first, 1),
            "cold_total": round(setup_cold + tests_first, 1),
            "setup_warm": round(setup_warm, 1),
            "tests_warm": round(tests_warm, 1),
        },
        "cpu_seconds": CPU,
        "load_average_1m_at_end": round(os.getloadavg()[0], 1),
        "disk": sizes,
        "edge_footprint": footprint,
    }
    write_result(args.json, result)
    print(
        json.dumps(result["seconds"]), f"edge install {footprint['installed_bytes'] / 1e6:.0f} MB"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
