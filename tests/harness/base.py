"""What every harness server shares: a state dir, a pid file, a lock, a log, readiness.

Lifecycle of one instance (``<cache>/servers/<name>-<port>/``):

* ``start()`` takes an exclusive file lock on ``<dir>/lock`` (so two pytest processes
  asking for the same shared server wait for each other instead of racing), reuses a
  running instance (pid file names a live process whose command line mentions this
  state dir, and the server answers), otherwise cleans a stale pid file, installs what
  is missing, prepares config/state, launches the process in its own session with
  stdout+stderr appended to ``log_path`` and waits until ``_ready()``.
* ``stop()`` SIGTERM (subclass may choose another signal) to the process group, wait,
  then SIGKILL; ``kill()`` SIGKILL at once (fault tests); ``restart()`` = stop + start.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import pwd
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
CACHE = Path(os.environ.get("FEDNIDS_CACHE_DIR", REPO / ".cache")).resolve()


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


def tail(path: Path, lines: int = 30, max_bytes: int = 256 * 1024) -> str:
    """The last ``lines`` lines of a (possibly large) log file."""
    try:
        with path.open("rb") as f:
            f.seek(0, os.SEEK_END)
            size = f.tell()
            f.seek(max(0, size - max_bytes))
            data = f.read()
    except OSError:
        return "(no log)"
    return "\n".join(data.decode(errors="replace").splitlines()[-lines:])


@contextlib.contextmanager
def file_lock(path: Path, timeout: float, what: str) -> Iterator[None]:
    """An exclusive ``flock`` on ``path`` (waits up to ``timeout`` seconds)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a+") as f:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise HarnessError(
                        f"{what}: lock {path} still held by another process after {timeout:.0f}s"
                    ) from None
                time.sleep(0.2)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def as_user(user: str | None) -> dict[str, Any]:
    """``subprocess`` keyword arguments that run the child as OS user ``user``."""
    if not user:
        return {}
    pw = pwd.getpwnam(user)
    return {"user": pw.pw_uid, "group": pw.pw_gid, "extra_groups": []}


class Server:
    """Base class: subclasses set ``name`` and implement ``url``, ``_command`` and
    optionally ``_install``/``_prepare``/``_ready``/``_after_start``/``_user``/``version``."""

    name = "server"
    host = "127.0.0.1"
    start_timeout = 60.0
    stop_signal = signal.SIGTERM
    lock_timeout = 900.0  # a cold Kafka start (jar download) holds the lock for a while

    def __init__(self, port: int) -> None:
        self.port = port
        self.dir = CACHE / "servers" / f"{self.name}-{port}"
        self.dir.mkdir(parents=True, exist_ok=True)
        self.pid_file = self.dir / "pid"
        self.log_path = self.dir / "server.log"
        self._proc: subprocess.Popen[bytes] | None = None
        self._lock_depth = 0

    # -- to implement ----------------------------------------------------------
    def _install(self) -> None:
        """Install missing binaries (with a clear log line)."""

    def _prepare(self) -> None:
        """Write config, create/format state; runs before every launch."""

    def _command(self) -> list[str]:
        raise NotImplementedError

    def _ready(self) -> bool:
        return port_open(self.host, self.port)

    def _after_start(self) -> None:
        """Runs (under the lock) once the server answers, also when it was reused."""

    def _user(self) -> str | None:
        """Run as this OS user (None: as ourselves)."""
        return None

    @property
    def url(self) -> str:
        raise NotImplementedError

    def version(self) -> str:
        return "?"

    # -- state -----------------------------------------------------------------
    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.url} dir={self.dir}>"

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        if self._lock_depth:  # re-entrant within one object
            self._lock_depth += 1
            try:
                yield
            finally:
                self._lock_depth -= 1
            return
        with file_lock(self.dir / "lock", self.lock_timeout, f"{self.name} on port {self.port}"):
            self._lock_depth = 1
            try:
                yield
            finally:
                self._lock_depth = 0

    def _owns(self, pid: int) -> bool:
        """Is ``pid`` our server (and not an unrelated process that reused the pid)?"""
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        except FileNotFoundError:
            return False
        except OSError:  # no /proc: trust the pid file
            return True
        return str(self.dir).encode() in cmdline

    def pid(self) -> int | None:
        """The server's pid from the pid file, or None if absent/stale."""
        try:
            pid = int(self.pid_file.read_text().strip())
        except (OSError, ValueError):
            return None
        return pid if pid_alive(pid) and self._owns(pid) else None

    def is_running(self) -> bool:
        return self.pid() is not None and self._ready()

    # -- lifecycle -------------------------------------------------------------
    def start(self) -> Server:
        """Start (or reuse) this instance and wait until it answers. Idempotent."""
        with self._locked():
            if self.is_running():
                self._after_start()
                return self
            stale = self.pid()
            if stale is not None:  # ours and alive but not answering: a start that hung
                self._log(f"killing unresponsive previous process {stale}")
                self._signal(stale, signal.SIGKILL)
                self._wait_gone(stale, 10)
            if self.pid_file.exists():
                self._log("removing stale pid file")
                self.pid_file.unlink(missing_ok=True)
            if port_open(self.host, self.port):
                raise self._error(
                    f"cannot start: port {self.port} is taken by a process this harness "
                    f"did not start (no live pid in {self.pid_file})"
                )
            self._install()
            self._prepare()
            cmd = self._command()
            user = self._user()
            self._log(f"start{f' as {user}' if user else ''}: {' '.join(cmd)}")
            with self.log_path.open("ab") as log:
                # setuid in the child itself (not `runuser`, which would sit between us and
                # the server and could not pass a SIGKILL on): the pid file holds the
                # server's own pid and its session holds all its children.
                self._proc = subprocess.Popen(
                    cmd,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    stdin=subprocess.DEVNULL,
                    cwd=self.dir,
                    start_new_session=True,
                    **as_user(user),
                )
            self.pid_file.write_text(str(self._proc.pid))
            deadline = time.monotonic() + self.start_timeout
            while time.monotonic() < deadline:
                if self._proc.poll() is not None:
                    self.pid_file.unlink(missing_ok=True)
                    raise self._error(f"exited with code {self._proc.returncode} while starting")
                if self._ready():
                    self._after_start()
                    return self
                time.sleep(0.2)
            self._signal(self._proc.pid, signal.SIGKILL)
            self._wait_gone(self._proc.pid, 10)
            self.pid_file.unlink(missing_ok=True)
            raise self._error(f"not ready within {self.start_timeout:.0f}s (killed it)")

    def stop(self, timeout: float = 30.0) -> None:
        """SIGTERM (``stop_signal``), wait up to ``timeout``, then SIGKILL."""
        with self._locked():
            pid = self.pid()
            if pid is not None:
                self._signal(pid, self.stop_signal)
                if not self._wait_gone(pid, timeout):
                    self._log(f"no exit {timeout:.0f}s after {self.stop_signal!r}: SIGKILL")
                    self._signal(pid, signal.SIGKILL)
                    self._wait_gone(pid, 10)
            self.pid_file.unlink(missing_ok=True)
            self._wait_port_free()

    def kill(self) -> None:
        """SIGKILL the whole process group at once (for fault tests)."""
        with self._locked():
            pid = self.pid()
            if pid is not None:
                self._signal(pid, signal.SIGKILL)
                self._wait_gone(pid, 10)
            self.pid_file.unlink(missing_ok=True)
            self._wait_port_free()

    def restart(self) -> Server:
        self.stop()
        return self.start()

    # -- helpers ---------------------------------------------------------------
    def _signal(self, pid: int, sig: int) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pid, sig)  # started with start_new_session: pgid == pid
        with contextlib.suppress(ProcessLookupError, PermissionError):
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
            else:
                time.sleep(0.1)
        return False

    def _wait_port_free(self, timeout: float = 15.0) -> None:
        deadline = time.monotonic() + timeout
        while port_open(self.host, self.port) and time.monotonic() < deadline:
            time.sleep(0.1)

    def _log(self, line: str) -> None:
        """A harness line in the server's own log (so the log tells the whole story)."""
        with self.log_path.open("a") as f:
            f.write(f"=== harness {time.strftime('%Y-%m-%d %H:%M:%S')}: {line}\n")

    def log_tail(self, lines: int = 30) -> str:
        return tail(self.log_path, lines)

    def _error(self, what: str) -> HarnessError:
        return HarnessError(
            f"{self.name} on {self.host}:{self.port} {what}\n"
            f"log: {self.log_path} (last 30 lines):\n{self.log_tail(30)}"
        )
