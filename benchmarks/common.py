"""What every benchmark repeats: the result file with the machine it ran on, RSS, a free port,
a timer, percentiles and the ``--json`` option.

``write_result`` adds a ``machine`` block (CPU count, load average when this module was first
imported, i.e. the benchmark's start, and at the end, Python, platform, the git commit when
there is a checkout, the time, this process's peak RSS): figures from a shared machine are only
comparable beside their load. A result that already has a ``machine`` dict keeps its keys (the
block's are added); one whose ``machine`` is something else keeps it and gets the block under
``machine_block``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any

REPO = Path(__file__).resolve().parents[1]
_LOAD_AT_START = os.getloadavg()


def add_json_arg(ap: argparse.ArgumentParser, *, required: bool = False) -> None:
    """The ``--json PATH`` option every benchmark takes: where the result goes."""
    ap.add_argument("--json", type=Path, required=required, help="write the JSON result here")


def git_commit(repo: Path = REPO) -> str | None:
    """The checkout's HEAD commit, or None (no git, not a checkout, any failure)."""
    git = shutil.which("git")
    if git is None:
        return None
    try:
        done = subprocess.run(
            [git, "-C", str(repo), "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    commit = done.stdout.strip()
    return commit if done.returncode == 0 and commit else None


def peak_rss_mb(children: bool = False) -> float:
    """Peak resident set size of this process (or of its waited-for children), in MiB."""
    who = resource.RUSAGE_CHILDREN if children else resource.RUSAGE_SELF
    return round(resource.getrusage(who).ru_maxrss / 1024, 1)  # KiB on Linux


def rss_kb(pid: int | None) -> int:
    """Resident set size of ``pid`` in KiB (0 when it is gone)."""
    if pid is None:
        return 0
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        return 0
    return 0


def machine_info() -> dict[str, Any]:
    """The machine block: what a figure from this run must be read beside."""
    return {
        "cpus": os.cpu_count(),
        "load_average_at_start": [round(v, 2) for v in _LOAD_AT_START],
        "load_average_at_end": [round(v, 2) for v in os.getloadavg()],
        "python": platform.python_version(),
        "platform": platform.platform(),
        "git_commit": git_commit(),
        "timestamp": datetime.now(UTC).isoformat(timespec="seconds"),
        "peak_rss_mb": peak_rss_mb(),
    }


def write_result(
    path: Path | None,
    result: Mapping[str, Any],
    *,
    default: Callable[[Any], Any] | None = None,
) -> str:
    """``result`` with the machine block as indented JSON; written to ``path`` (its parents
    made) when one is given, the path then said on stderr. Returns the JSON text."""
    out = dict(result)
    block = machine_info()
    have = out.get("machine")
    if have is None:
        out["machine"] = block
    elif isinstance(have, Mapping):
        out["machine"] = {**block, **have}
    else:
        out["machine_block"] = block
    text = json.dumps(out, indent=2, default=default)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text + "\n")
        print(f"wrote {path}", file=sys.stderr)
    return text


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def percentiles(
    values: Iterable[float],
    qs: Iterable[int] = (50, 95, 99),
    *,
    suffix: str = "",
    digits: int = 1,
) -> dict[str, float | None]:
    """``{"p50<suffix>": ..}`` for each q (numpy's linear interpolation), None when empty."""
    import numpy as np  # here: a benchmark that takes no percentile does not load numpy

    arr = np.asarray(list(values), dtype=float)
    return {
        f"p{q}{suffix}": round(float(np.percentile(arr, q)), digits) if len(arr) else None
        for q in qs
    }


class Timer:
    """``with Timer() as t: ...`` then ``t.seconds`` (``perf_counter``); ``t.elapsed()`` inside."""

    def __init__(self) -> None:
        self.start = 0.0
        self.seconds = 0.0

    def __enter__(self) -> Timer:
        self.start = time.perf_counter()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.seconds = time.perf_counter() - self.start

    def elapsed(self) -> float:
        return time.perf_counter() - self.start


def fednids_command() -> list[str]:
    """The installed console script beside this interpreter (as a user runs it)."""
    script = Path(sys.executable).parent / "fednids"
    if script.is_file() and os.access(script, os.X_OK):
        return [str(script)]
    return [sys.executable, "-m", "fednids"]  # not installed as a script: the same entry point


def start_bridge(
    mqtt_url: str, kafka_url: str, client_id: str, session_expiry_s: int, timeout: float = 60.0
) -> subprocess.Popen[str]:
    """A ``fednids bridge`` process (its own shared-subscription group, named ``client_id``),
    returned once it logged that it is ready; its log is drained from then on."""
    proc = subprocess.Popen(
        [
            *[sys.executable, "-m", "fednids", "bridge"],
            *["--mqtt", mqtt_url, "--kafka", kafka_url],
            *["--client-id", client_id, "--group", client_id],
            *["--session-expiry", str(session_expiry_s)],
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + timeout
    assert proc.stderr is not None
    while time.monotonic() < deadline:
        line = proc.stderr.readline()
        if not line and proc.poll() is not None:
            raise RuntimeError(f"bridge exited with {proc.returncode}")
        if " ready: " in line:
            break
    threading.Thread(target=proc.stderr.read, daemon=True).start()
    return proc
