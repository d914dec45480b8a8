"""``fednids demo`` processes for the dashboard's browser tests (real API, WebSocket, build)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]
DASH = REPO / "dashboard"
CHROMIUM = os.environ.get("FEDNIDS_CHROMIUM", "/usr/bin/chromium")


@dataclass
class DemoProcess:
    """One ``python -m fednids demo`` on ``port`` keeping its state in ``state``."""

    port: int
    state: Path
    args: list[str] = field(default_factory=list)
    proc: subprocess.Popen[str] | None = None
    tokens: dict[str, str] = field(default_factory=dict)
    ready_s: float = 0.0
    served_s: float = 0.0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def log(self) -> str:
        path = self.state / "demo.log"
        return path.read_text() if path.is_file() else ""

    def start(self, timeout: float = 90.0) -> DemoProcess:
        (self.state / "demo.log").unlink(missing_ok=True)
        t0 = time.monotonic()
        with (self.state / "demo.log").open("w") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "fednids", "demo", "--port", str(self.port),
                 "--state-dir", str(self.state), *self.args],
                cwd=REPO, stdout=out, stderr=subprocess.STDOUT, text=True,
            )  # fmt: skip
        self.tokens, self.ready_s = {}, 0.0
        while time.monotonic() - t0 < timeout and len(self.tokens) < 2:
            assert self.proc.poll() is None, f"the demo exited:\n{self.log()}"
            for line in self.log().splitlines():
                parts = line.split()
                if line.startswith("fednids demo ready") and not self.ready_s:
                    self.ready_s = time.monotonic() - t0
                if len(parts) == 3 and parts[1] == "token":
                    self.tokens[parts[0]] = parts[2]
            time.sleep(0.1)
        assert len(self.tokens) == 2, f"no tokens printed:\n{self.log()}"
        with urllib.request.urlopen(f"{self.url}/", timeout=10) as r:
            assert '<div id="root">' in r.read().decode(), "the demo does not serve the build"
        self.served_s = time.monotonic() - t0
        return self

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGINT)
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class DemoPool:
    """Makes demo processes and stops every one of them at teardown."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.made: list[DemoProcess] = []

    def new(self, name: str, *args: str, port: int | None = None) -> DemoProcess:
        state = self.root / name
        state.mkdir(exist_ok=True)
        d = DemoProcess(port or free_port(), state, list(args))
        self.made.append(d)
        return d

    def stop_all(self) -> None:
        for d in self.made:
            d.stop()
