"""What every harness server shares: a state dir, a pid file, a log, readiness by TCP."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
CACHE = Path(os.environ.get("FEDNIDS_CACHE_DIR", REPO / ".cache"))


class HarnessError(RuntimeError):
    """A server would not install, start or answer; names the server and shows its log."""


def port_open(host: str, port: int, timeout: float = 0.5) -> bool:
    with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=timeout):
        return True
    return False


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # a zombie child still "exists": reap it if it is ours
    with contextlib.suppress(ChildProcessError):
        done, _ = os.waitpid(pid, os.WNOHANG)
        if done == pid:
            return False
    return True


class Server:
    """Base class: subclasses set ``name``, ``port`` and implement ``_install``/``_prepare``/
    ``_command``/``_ready``."""

    name = "server"
    host = "127.0.0.1"

    def __init__(self, port: int) -> None:
        self.port = port
        self.dir = CACHE / "servers" / f"{self.name}-{port}"
        self.dir.mkdir(parents=True, exist_ok=True)
        self.pid_file = self.dir / "pid"
        self.log_path = self.dir / "server.log"
        self._proc: subprocess.Popen[bytes] | None = None

    # -- to implement ----------------------------------------------------------
    def _install(self) -> None: ...

    def _prepare(self) -> None: ...

    def _command(self) -> list[str]:
        raise NotImplementedError

    def _ready(self) -> bool:
        return port_open(self.host, self.port)

    def _user(self) -> str | None:
        """Run as this OS user (None: as ourselves)."""
        return None

    start_timeout = 60.0
    stop_signal = signal.SIGTERM

    # -- lifecycle -------------------------------------------------------------
    @property
    def url(self) -> str:
        raise NotImplementedError

    def version(self) -> str:
        return "?"

    def pid(self) -> int | None:
        try:
            pid = int(self.pid_file.read_text().strip())
        except (OSError, ValueError):
            return None
        return pid if pid_alive(pid) else None

    def is_running(self) -> bool:
        return self.pid() is not None and self._ready()

    def start(self) -> Server:
        if self.is_running():
            return self
        stale = self.pid()
        if stale is not None:  # alive but not answering: a previous start that hung
            self._signal(stale, signal.SIGKILL)
        self.pid_file.unlink(missing_ok=True)
        if port_open(self.host, self.port):
            raise HarnessError(f"{self.name}: port {self.port} is taken by another process")
        self._install()
        self._prepare()
        cmd = self._command()
        user = self._user()
        if user:
            cmd = ["runuser", "-u", user, "--", *cmd]
        with self.log_path.open("ab") as log:
            log.write(
                f"\n=== start {time.strftime('%Y-%m-%d %H:%M:%S')}: {' '.join(cmd)}\n".encode()
            )
            log.flush()
            self._proc = subprocess.Popen(
                cmd,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                cwd=self.dir,
                start_new_session=True,
            )
        self.pid_file.write_text(str(self._proc.pid))
        deadline = time.monotonic() + self.start_timeout
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                raise self._error(f"exited with code {self._proc.returncode} while starting")
            if self._ready():
                return self
            time.sleep(0.2)
        raise self._error(f"not ready within {self.start_timeout:.0f}s")

    def _signal(self, pid: int, sig: int) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, sig)
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, sig)

    def _wait_gone(self, pid: int, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._proc is not None and self._proc.pid == pid:
                with contextlib.suppress(subprocess.TimeoutExpired):
                    self._proc.wait(timeout=0.1)
                if self._proc.poll() is not None:
                    return True
            elif not pid_alive(pid):
                return True
            time.sleep(0.1)
        return False

    def stop(self, timeout: float = 30.0) -> None:
        """SIGTERM, wait, then SIGKILL."""
        pid = self.pid()
        if pid is not None:
            self._signal(pid, self.stop_signal)
            if not self._wait_gone(pid, timeout):
                self._signal(pid, signal.SIGKILL)
                self._wait_gone(pid, 10)
        self.pid_file.unlink(missing_ok=True)
        self._wait_port_free()

    def kill(self) -> None:
        """SIGKILL, for fault tests."""
        pid = self.pid()
        if pid is not None:
            self._signal(pid, signal.SIGKILL)
            self._wait_gone(pid, 10)
        self.pid_file.unlink(missing_ok=True)
        self._wait_port_free()

    def restart(self) -> Server:
        self.stop()
        return self.start()

    def _wait_port_free(self, timeout: float = 15.0) -> None:
        deadline = time.monotonic() + timeout
        while port_open(self.host, self.port) and time.monotonic() < deadline:
            time.sleep(0.1)

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def _error(self, what: str) -> HarnessError:
        return HarnessError(
            f"{self.name} on port {self.port} {what}; log {self.log_path}:\n{self.log_tail()}"
        )
