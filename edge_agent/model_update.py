"""The agent's side of model distribution: take signed announcements from the retained MQTT
model topic, verify them, install the model atomically and hot-swap the LSTM detector.

Refused (and counted under ``drops`` in the heartbeat, and logged with the reason):
``model_refused_signature`` (unsigned, unknown key, bad signature, payload not matching the
signed sha256/size), ``model_refused_fleet`` (correctly signed, but for another fleet than the
node's provisioned ``fleet_id``, or for none), ``model_refused_older`` (a version not newer
than the running one, or older than the highest ever installed here: that version is kept in
``<models_root>/installed.json``, written atomically, so a restart that falls back to the
provisioned model does not reopen the door to a replayed old signed version),
``model_refused_invalid`` (not a valid announcement, or the detector refuses the file). The
running model keeps running in every case. The subscription is a plain persistent one (no
shared group) so the broker's retained copy reaches a node that was offline.

With a :class:`edge_agent.finetune.FineTuner`, each installed global version N that ships
its float weights is then fine-tuned on the node's own flows (a child process); the result
(``lstm-ae-N+node``) is swapped in only if it verifies with the node-local key, names this
node and was made from the global N still running. Global N+1 replaces it (and may be
fine-tuned in turn).
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import threading
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from contracts.codec import decode
from contracts.errors import ContractError
from contracts.events import ModelAnnouncement
from contracts.local_model import (
    WEIGHTS_FILE,
    LocalModelError,
    split_inline_weights,
    verify_local_model,
)
from contracts.model_dir import ModelDirError, write_model_dir
from contracts.signing import FleetMismatch, SignatureError, verify
from contracts.topics import MQTT_MODEL_TOPIC
from contracts.transports import Message, Subscriber
from contracts.transports.loop import consume
from edge_agent.capture.errors import EdgeAgentError
from edge_agent.finetune import Base, FineTuner

log = logging.getLogger(__name__)
_VERSION = re.compile(r"-(\d+)(?:\+node)?$")
STATE_FILE = "installed.json"
"""Beside the installed models: the highest version of each model name ever installed."""


class Swappable(Protocol):
    @property
    def version(self) -> str: ...

    def swap(self, model_dir: Path) -> str: ...


def version_number(version: str | None) -> int:
    """``lstm-ae-7`` (or the node's fine-tune of it, ``lstm-ae-7+node``) -> 7; none -> 0."""
    m = _VERSION.search(version or "")
    return int(m.group(1)) if m else 0


class ModelUpdater:
    """Handles announcements; :meth:`run` polls a subscriber until ``stop`` is set."""

    def __init__(
        self,
        models_root: Path,
        trusted: dict[str, Ed25519PublicKey],
        detector: Swappable,
        on_installed: Callable[[str], None] | None = None,
        keep: int = 3,
        fleet_id: str | None = None,
        state_path: Path | None = None,
        fine_tuner: FineTuner | None = None,
        node_id: str = "",
    ) -> None:
        self.models_root = models_root
        self.trusted = trusted
        self.detector = detector
        self.on_installed = on_installed
        self.keep = keep
        self.refused: Counter[str] = Counter()
        self.installed = 0
        self.fleet_id = fleet_id
        models_root.mkdir(parents=True, exist_ok=True)
        self.state_path = state_path or models_root / STATE_FILE
        self.highest: dict[str, int] = load_highest(self.state_path, models_root)
        self.fine_tuner = fine_tuner
        self.node_id = node_id
        self.running_global: Base | None = None
        """The installed global model now running (or fine-tuned); None: the provisioned one."""
        self._swap_lock = threading.Lock()

    @property
    def current(self) -> int:
        return version_number(self.detector.version)

    def handle(self, payload: bytes) -> str | None:
        """Install one announcement; the new version string, or None when refused."""
        try:
            ann = decode(payload)
            if not isinstance(ann, ModelAnnouncement):
                raise ContractError(f"a {type(ann).__name__} on the model topic")
        except ContractError as exc:
            self._refuse("invalid", f"not a model announcement: {exc}")
            return None
        try:
            verified = verify(ann, self.trusted, self.fleet_id)
        except FleetMismatch as exc:
            self._refuse("fleet", str(exc))
            return None
        except SignatureError as exc:
            self._refuse("signature", f"{ann.model_name} v{ann.version}: {exc}")
            return None
        floor = self.highest.get(ann.model_name, 0)
        if ann.version < floor:
            self._refuse("older", f"v{ann.version} is older than v{floor}, installed here before")
            return None
        if ann.version <= self.current:
            if ann.version == self.current:
                return None  # the retained copy of what already runs: nothing to do
            self._refuse("older", f"v{ann.version} is older than the running v{self.current}")
            return None
        target = self.models_root / f"{ann.model_name}-{ann.version}"
        try:
            meta, weights = split_inline_weights(ann.metadata)
            files = {"model.tflite": verified.model_bytes}
            if weights is not None:  # the float weights, for the node's own fine-tune
                files[WEIGHTS_FILE] = weights
            with self._swap_lock:
                write_model_dir(
                    target,
                    files,
                    meta,
                    primary="model.tflite",
                    training_data=meta.get("training_data"),
                )
                version = self.detector.swap(target)
                base = Base(target, ann.model_name, ann.version, ann.sha256)
                self.running_global = base
        except (ModelDirError, EdgeAgentError, LocalModelError) as exc:
            shutil.rmtree(target, ignore_errors=True)  # never counted as installed
            self._refuse("invalid", f"v{ann.version} not installed: {exc}")
            return None
        self.installed += 1
        self._remember(ann.model_name, ann.version)
        log.info("model: installed and running %s (%s)", version, target)
        if self.on_installed:
            self.on_installed(version)
        self._prune(ann.model_name, ann.version)
        if self.fine_tuner is not None:
            if weights is None:
                self.fine_tuner.cancel()
                log.info("model: %s ships no float weights; no node fine-tune of it", version)
            else:
                self.fine_tuner.start(base, self.install_local)
        return version

    def install_local(self, base: Base, local: Path) -> bool:
        """Swap in the node's fine-tune of ``base`` if it verifies and ``base`` still runs."""
        tuner = self.fine_tuner
        if tuner is None:
            return False
        with self._swap_lock:
            if self.running_global != base:
                tuner.refused(f"{local} was made from {base.name}-{base.version}, not running")
                return False
            try:
                verify_local_model(local, tuner.public, self.node_id, base.version, base.sha256)
                version = self.detector.swap(local)
            except (LocalModelError, EdgeAgentError) as exc:
                tuner.refused(str(exc))
                return False
        log.info("model: running the node's own fine-tune %s (%s)", version, local)
        if self.on_installed:
            self.on_installed(version)
        return True

    def _remember(self, name: str, version: int) -> None:
        if version <= self.highest.get(name, 0):
            return
        self.highest[name] = version
        try:
            _atomic_json(self.state_path, self.highest)
        except OSError as exc:  # the model runs; only the floor across restarts is at risk
            log.error("model: cannot record v%s in %s: %s", version, self.state_path, exc)

    def _refuse(self, why: str, detail: str) -> None:
        self.refused[why] += 1
        log.warning("model: refused (%s): %s; the running model stays", why, detail)

    def _prune(self, name: str, newest: int) -> None:
        for d in self.models_root.glob(f"{name}-*"):
            n = version_number(d.name)
            if 0 < n <= newest - self.keep:
                shutil.rmtree(d, ignore_errors=True)

    def drops(self) -> dict[str, int]:
        tuned = self.fine_tuner.drops() if self.fine_tuner is not None else {}
        return {f"model_refused_{k}": v for k, v in self.refused.items()} | tuned

    def run(self, subscriber: Subscriber, stop: threading.Event) -> None:
        consume(subscriber, stop, self._on_message, log, "model")

    def _on_message(self, msg: Message) -> None:
        if msg.topic == MQTT_MODEL_TOPIC:
            self.handle(msg.value)


def _atomic_json(path: Path, data: dict[str, int]) -> None:
    """Write ``data`` so that a crash or power loss leaves the old file or the new one."""
    tmp = path.with_name(f".{path.name}.tmp")
    with tmp.open("w") as f:
        json.dump(data, f, sort_keys=True)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def load_highest(path: Path, models_root: Path) -> dict[str, int]:
    """The highest installed version per model name; from the installed model folders when
    the record is missing or unreadable (never lower than what is on disk)."""
    found: dict[str, int] = {}
    for d in models_root.glob("*-*"):
        n = version_number(d.name)
        if n and (d / "model.tflite").is_file():
            name = d.name[: d.name.rindex("-")]
            found[name] = max(found.get(name, 0), n)
    try:
        raw = json.loads(path.read_text())
        record = {str(k): int(v) for k, v in raw.items() if int(v) >= 0}
    except FileNotFoundError:
        record = {}
    except (OSError, ValueError, TypeError, AttributeError) as exc:
        log.error("model: %s unreadable (%s); using the installed model folders", path, exc)
        record = {}
    return {k: max(found.get(k, 0), record.get(k, 0)) for k in found.keys() | record.keys()}
