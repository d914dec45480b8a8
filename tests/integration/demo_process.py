"""Start `fednids demo` as a subprocess for a test and talk to its API."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import urllib.request


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def get(url: str, token: str) -> dict:
    req = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(req, timeout=5) as r:
        return dict(json.loads(r.read()))


def start_demo(port: int, *args: str) -> tuple[subprocess.Popen[str], str, list[str]]:
    """The running demo, its read token and the lines it printed until then."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "fednids", "demo", "--port", str(port), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines: list[str] = []
    while not any("read token" in x for x in lines):
        line = proc.stdout.readline()  # type: ignore[union-attr]
        if not line:
            proc.wait(10)
            raise AssertionError("the demo exited before it was ready:\n" + "".join(lines))
        lines.append(line)
    return proc, next(x for x in lines if "read token" in x).split()[-1], lines
