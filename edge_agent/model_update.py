"""The agent's side of model distribution: take signed announcements from the retained MQTT
model topic, verify them, install the model atomically and hot-swap the LSTM detector.

Refused (and counted under ``drops`` in the heartbeat, and logged with the reason):
``model_refused_signature`` (unsigned, unknown key, bad signature, payload not matching the
signed sha256/size), ``model_refused_older`` (a version not newer than the running one),
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
import tempfile
import threading
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from contracts.codec import decode
from contracts.errors import ContractError
from contracts.events import ModelAnnouncement
from contracts.signing import SignatureError, verify
from contracts.topics import MQTT_MODEL_TOPIC
from contracts.transports import Message, Subscriber
from edge_agent.capture.errors import EdgeAgentError

log = logging.getLogger(__name__)
_VERSION = re.compile(r"-(\d+)$")


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
    ) -> None:
        self.models_root = models_root
        self.trusted = trusted
        self.detector = detector
        self.on_installed = on_installed
        self.keep = keep
        self.refused: Counter[str] = Counter()
        self.installed = 0
        models_root.mkdir(parents=True, exist_ok=True)

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
            verified = verify(ann, self.trusted)
        except SignatureError as exc:
            self._refuse("signature", f"{ann.model_name} v{ann.version}: {exc}")
            return None
        if ann.version <= self.current:
            if ann.version == self.current:
                return None  # the retained copy of what already runs: nothing to do
            self._refuse("older", f"v{ann.version} is older than the running v{self.current}")
            return None
        target = self.models_root / f"{ann.model_name}-{ann.version}"
        tmp = Path(tempfile.mkdtemp(dir=self.models_root, prefix=".incoming-"))
        try:
            (tmp / "model.tflite").write_bytes(verified.model_bytes)
            (tmp / "metadata.json").write_text(json.dumps(ann.metadata, indent=2))
            for f in tmp.iterdir():
                with f.open("rb") as fh:
                    os.fsync(fh.fileno())
            if target.exists():
                shutil.rmtree(target)
            os.replace(tmp, target)
            version = self.detector.swap(target)
        except (OSError, EdgeAgentError) as exc:
            shutil.rmtree(tmp, ignore_errors=True)
            self._refuse("invalid", f"v{ann.version} not installed: {exc}")
            return None
        self.installed += 1
        log.info("model: installed and running %s (%s)", version, target)
        if self.on_installed:
            self.on_installed(version)
        self._prune(ann.model_name, ann.version)
        return version

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
        while not stop.is_set():
            try:
                batch: list[Message] = subscriber.poll(0.5, max_messages=10)
            except ContractError as exc:
                log.warning("model: subscription error: %s", exc)
                stop.wait(1.0)
                continue
            for msg in batch:
                if msg.topic == MQTT_MODEL_TOPIC:
                    self.handle(msg.value)
            if batch:
                subscriber.ack(batch)
