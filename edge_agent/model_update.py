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
from contracts.model_dir import ModelDirError, write_model_dir
from contracts.signing import FleetMismatch, SignatureError, verify
from contracts.topics import MQTT_MODEL_TOPIC
from contracts.transports import Message, Subscriber
from contracts.transports.loop import consume
from edge_agent.capture.errors import EdgeAgentError

log = logging.getLogger(__name__)
_VERSION = re.compile(r"-(\d+)$")
STATE_FILE = "installed.json"
"""Beside the installed models: the highest version of each model name ever installed."""


class Swappable(Protocol):
    @property
    def version(self) -> str: ...

    def swap(self, model_dir: Path) -> str: ...


def version_number(version: str | None) -> int:
    """``lstm-ae-7`` -> 7; no version -> 0."""
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
            write_model_dir(
                target,
                {"model.tflite": verified.model_bytes},
                ann.metadata,
                primary="model.tflite",
                training_data=ann.metadata.get("training_data"),
            )
            version = self.detector.swap(target)
        except (ModelDirError, EdgeAgentError) as exc:
            shutil.rmtree(target, ignore_errors=True)  # never counted as installed
            self._refuse("invalid", f"v{ann.version} not installed: {exc}")
            return None
        self.installed += 1
        self._remember(ann.model_name, ann.version)
        log.info("model: installed and running %s (%s)", version, target)
        if self.on_installed:
            self.on_installed(version)
        self._prune(ann.model_name, ann.version)
        return version

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
        return {f"model_refused_{k}": v for k, v in self.refused.items()}

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
