"""The node's own fine-tune of the global model it runs, as a low-priority child process.

After the agent installs global version N, :class:`FineTuner` launches the one-shot job
``python -m federated.node_finetune`` (``nice``'d, with a timeout; its progress lines go to
the agent's log) on the installed directory and the agent's flow store. The job writes a
node-local model directory signed with this node's own key (``<root>/key``, made here on
first use, 0600) under ``<root>/models/<name>-<N>``; the model updater verifies it
(:func:`contracts.local_model.verify_local_model`) and swaps it in only while global N is
still the one running. Nothing of it is ever sent anywhere.

This process never imports torch or TensorFlow: the job is another process, and whether its
dependencies exist is found out by running it (exit status 3: not installed; the tuner then
stops launching it). Failures are counted (``finetune_failed``, ``finetune_unavailable``,
``finetune_refused`` in the heartbeat's drops) and logged once each; the global model keeps
running. A valid fine-tune of N already on disk (an agent restart) is reused, not redone.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from contracts.local_model import LocalModelError, node_key

log = logging.getLogger(__name__)
EXIT_UNAVAILABLE = 3
JOB_MODULE = "federated.node_finetune"


@dataclass(frozen=True)
class FineTuneConfig:
    store: Path
    """The agent's flow store (the job's data)."""
    root: Path
    """``key/`` (the node-local signing key) and ``models/`` (the node-local models)."""
    node_id: str
    epochs: int = 3
    timeout_s: float = 3600.0
    nice: int = 10
    python: str = sys.executable
    command: Sequence[str] | None = None
    """The job's argv before its arguments (default ``python -m federated.node_finetune``)."""


@dataclass(frozen=True)
class Base:
    """The installed global model a fine-tune starts from."""

    path: Path
    name: str
    version: int
    sha256: str


ReadyCallback = Callable[[Base, Path], bool]
"""Verify and swap in a finished node-local model; False when it was refused."""


class FineTuner:
    """Runs at most one fine-tune at a time; a newer global model cancels the running one."""

    def __init__(self, cfg: FineTuneConfig) -> None:
        self.cfg = cfg
        self.counts: Counter[str] = Counter()
        self.unavailable = False
        self.runs = 0
        self._lock = threading.Lock()
        self._proc: subprocess.Popen[str] | None = None
        self._thread: threading.Thread | None = None
        self._generation = 0
        self.public: Ed25519PublicKey = node_key(cfg.root / "key")[1]

    def out_dir(self, base: Base) -> Path:
        return self.cfg.root / "models" / f"{base.name}-{base.version}"

    def command(self, base: Base, out: Path) -> list[str]:
        head = list(self.cfg.command or [self.cfg.python, "-m", JOB_MODULE])
        return [
            *head,
            "--base",
            str(base.path),
            "--store",
            str(self.cfg.store),
            "--out",
            str(out),
            "--key-dir",
            str(self.cfg.root / "key"),
            "--node-id",
            self.cfg.node_id,
            "--epochs",
            str(self.cfg.epochs),
            "--nice",
            str(self.cfg.nice),
        ]

    def start(self, base: Base, on_ready: ReadyCallback) -> None:
        """Fine-tune ``base`` in the background (cancelling a run for an older base)."""
        self.cancel()
        if self.unavailable:
            return
        with self._lock:
            self._generation += 1
            gen = self._generation
        self._prune(base)
        self._thread = threading.Thread(
            target=self._run, args=(base, on_ready, gen), name="fine-tune", daemon=True
        )
        self._thread.start()

    def cancel(self) -> None:
        with self._lock:
            self._generation += 1
            proc = self._proc
        if proc is not None and proc.poll() is None:
            _kill(proc)
            log.info("fine-tune: cancelled (a newer global model arrived)")

    def join(self, timeout: float | None = None) -> None:
        if self._thread is not None:
            self._thread.join(timeout)

    def _run(self, base: Base, on_ready: ReadyCallback, gen: int) -> None:
        out = self.out_dir(base)
        if out.exists():  # a restart: the job made this one before
            if on_ready(base, out):
                return
            shutil.rmtree(out, ignore_errors=True)
        self.runs += 1
        cmd = self.command(base, out)
        log.info(
            "fine-tune: %s-%d on %s (%d epochs)",
            base.name,
            base.version,
            self.cfg.store,
            self.cfg.epochs,
        )
        t0 = time.monotonic()
        try:
            proc = subprocess.Popen(
                cmd,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
                start_new_session=True,  # its own process group: a timeout kills the children
            )
        except OSError as exc:
            self._fail("failed", f"cannot start {cmd[0]}: {exc}")
            return
        with self._lock:
            cancelled = gen != self._generation
            if not cancelled:
                self._proc = proc
        if cancelled:
            _kill(proc)
            proc.communicate()
            return
        timer = threading.Timer(self.cfg.timeout_s, _kill, args=(proc,))
        timer.daemon = True
        timer.start()
        result, tail = None, ""
        try:
            assert proc.stdout is not None
            for raw in proc.stdout:
                line = raw.rstrip()
                if line.startswith("{"):
                    result = line
                elif line:
                    tail = line
                    log.info("fine-tune: %s", line.removeprefix("fine-tune: "))
            code = proc.wait()
        finally:
            timer.cancel()
            with self._lock:
                self._proc = None
        if gen != self._generation:
            return  # cancelled: a newer base is on its way
        took = time.monotonic() - t0
        if code == EXIT_UNAVAILABLE:
            self.unavailable = True
            self._fail("unavailable", f"{tail} (fine-tunes off until the agent restarts)")
        elif code != 0 or result is None:
            why = "timed out" if took >= self.cfg.timeout_s else f"exit {code}"
            self._fail("failed", f"{why} after {took:.0f} s: {tail}")
        else:
            log.info("fine-tune: done in %.0f s: %s", took, _summary(result))
            on_ready(base, out)

    def _fail(self, why: str, detail: str) -> None:
        self.counts[why] += 1
        log.warning("fine-tune %s: %s; the global model keeps running", why, detail)

    def refused(self, detail: str) -> None:
        self._fail("refused", detail)

    def _prune(self, keep: Base) -> None:
        """Node-local models of other base versions are useless (refused): remove them."""
        for d in (self.cfg.root / "models").glob(f"{keep.name}-*"):
            if d != self.out_dir(keep):
                shutil.rmtree(d, ignore_errors=True)

    def drops(self) -> dict[str, int]:
        return {f"finetune_{k}": v for k, v in self.counts.items()}


def _kill(proc: subprocess.Popen[str]) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)


def _summary(line: str) -> str:
    try:
        r = json.loads(line)
        return (
            f"threshold {r['threshold']:.4g} on {r['heldout_windows']} held-out windows, "
            f"held-out error {r['base_heldout_error_mean']:.4g} -> {r['heldout_error_mean']:.4g}"
        )
    except (ValueError, KeyError, TypeError):
        return line[:200]


__all__ = ["Base", "FineTuneConfig", "FineTuner", "LocalModelError"]
