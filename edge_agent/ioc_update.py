"""The agent's side of threat-intel distribution: take the signed indicator bundle from the
retained MQTT topics (the manifest on ``fednids/v1/intel/manifest/current``, its parts on
``fednids/v1/intel/part/<i>``), verify it, and swap the IOC detector's matcher atomically.

Refused (counted under ``drops`` in the heartbeat as ``ioc_refused_<why>``, and logged):
``signature`` (unsigned, unknown key, bad signature), ``fleet`` (signed for another fleet, or
for none, when the node has a ``fleet_id``), ``older`` (a version lower than the highest ever
installed here: kept in ``<root>/installed.json``, written atomically, so a restart does not
reopen the door to a replayed old bundle), ``expired`` (the bundle's own expiry has passed),
``invalid`` (not a manifest, parts not matching the signed digests, not a valid bundle). The
matcher in use keeps matching in every case. The last installed bundle is kept on disk
(manifest and parts) and verified again at start, so a node matches before it reconnects.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import threading
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from contracts.errors import ContractError
from contracts.indicator_wire import (
    MAX_PART_BYTES,
    MAX_PARTS,
    BundleManifest,
    decode_manifest,
    encode_manifest,
    open_bundle,
    verify_manifest,
)
from contracts.indicators import IndicatorError
from contracts.signing import FleetMismatch, SignatureError
from contracts.topics import MQTT_INTEL_TOPIC, MQTT_PREFIX
from contracts.transports import Subscriber
from contracts.transports.loop import consume
from edge_agent.detectors.ioc import IocDetector, IocMatcher

log = logging.getLogger(__name__)
STATE_FILE, MANIFEST_FILE, BLOB_FILE = "installed.json", "manifest.json", "bundle.bin"
_PART_PREFIX = f"{MQTT_PREFIX}/intel/part/"


class IocUpdater:
    def __init__(
        self,
        root: Path,
        trusted: dict[str, Ed25519PublicKey],
        detector: IocDetector,
        fleet_id: str | None = None,
        clock: Callable[[], float] = time.time,
        on_installed: Callable[[int], None] | None = None,
    ) -> None:
        self.root, self.trusted, self.detector = root, trusted, detector
        self.fleet_id, self.clock, self.on_installed = fleet_id, clock, on_installed
        self.refused: Counter[str] = Counter()
        self.installed = 0
        root.mkdir(parents=True, exist_ok=True)
        self.highest = _read_highest(root / STATE_FILE)
        self._pending: BundleManifest | None = None
        self._parts: dict[int, tuple[str, bytes]] = {}
        """Parts received (index -> digest, bytes), until a verified manifest names them all."""

    # -- start: the bundle installed before the restart --------------------------------------
    def load_installed(self) -> int | None:
        """Verify and install the bundle kept on disk; its version, or None."""
        try:
            manifest = decode_manifest((self.root / MANIFEST_FILE).read_bytes())
            blob = (self.root / BLOB_FILE).read_bytes()
        except FileNotFoundError:
            return None
        except (OSError, ContractError) as exc:
            log.error("ioc: the kept bundle is unreadable (%s); waiting for the hub's", exc)
            return None
        self.highest = max(self.highest, manifest.version)
        sizes = _read_state(self.root / STATE_FILE).get("part_sizes") or [len(blob)]
        parts, at = [], 0
        for n in sizes:
            parts.append(blob[at : at + int(n)])
            at += int(n)
        return self._install(manifest, parts, persist=False)

    # -- messages ----------------------------------------------------------------------------
    def handle(self, topic: str, payload: bytes) -> int | None:
        """One retained message; the version installed by it, or None."""
        if not payload:
            return None  # a cleared retained topic
        if topic == MQTT_INTEL_TOPIC:
            return self._on_manifest(payload)
        if topic.startswith(_PART_PREFIX):
            idx = topic[len(_PART_PREFIX) :]
            if idx.isdigit() and int(idx) < MAX_PARTS and len(payload) <= MAX_PART_BYTES:
                self._parts[int(idx)] = (hashlib.sha256(payload).hexdigest(), payload)
                return self._try_assemble()
        return None

    def _on_manifest(self, payload: bytes) -> int | None:
        try:
            manifest = decode_manifest(payload)
            verify_manifest(manifest, self.trusted, self.fleet_id)
        except FleetMismatch as exc:
            return self._refuse("fleet", str(exc))
        except SignatureError as exc:
            return self._refuse("signature", str(exc))
        except ContractError as exc:
            return self._refuse("invalid", str(exc))
        if manifest.version < self.highest:
            return self._refuse("older", f"v{manifest.version} < v{self.highest} installed here")
        if manifest.version == self.detector.bundle_version:
            return None  # the retained copy of what already runs
        if manifest.expired(self.clock()):
            return self._refuse("expired", f"v{manifest.version} expired")
        self._pending = manifest
        return self._try_assemble()

    def _try_assemble(self) -> int | None:
        m = self._pending
        if m is None:
            return None
        parts: list[bytes] = []
        for i, digest in enumerate(m.parts):
            got = self._parts.get(i)
            if got is None or got[0] != digest:
                return None  # still the previous bundle's part, or not here yet
            parts.append(got[1])
        self._pending = None
        self._parts.clear()
        return self._install(m, parts, persist=True)

    def _install(self, m: BundleManifest, parts: list[bytes], persist: bool) -> int | None:
        if m.expired(self.clock()):
            return self._refuse("expired", f"v{m.version} expired")
        try:
            verified = open_bundle(m, parts, self.trusted, self.fleet_id)
            matcher = IocMatcher.build(m.version, verified.indicators())  # streamed, checked
        except FleetMismatch as exc:
            return self._refuse("fleet", str(exc))
        except SignatureError as exc:
            return self._refuse("signature", str(exc))
        except IndicatorError as exc:
            return self._refuse("invalid", str(exc))
        self.detector.install(matcher)
        self.installed += 1
        if persist:
            self.highest = max(self.highest, m.version)
            try:
                _atomic_write(self.root / BLOB_FILE, b"".join(parts))
                _atomic_write(self.root / MANIFEST_FILE, encode_manifest(m))
                state = {"version": self.highest, "part_sizes": [len(p) for p in parts]}
                _atomic_write(self.root / STATE_FILE, json.dumps(state).encode())
            except OSError as exc:  # matching runs; only the floor across restarts is at risk
                log.error("ioc: cannot record v%s in %s: %s", m.version, self.root, exc)
        log.info("ioc: bundle v%s installed (%d indicators)", m.version, m.count)
        if self.on_installed:
            self.on_installed(m.version)
        return m.version

    def _refuse(self, why: str, detail: str) -> int | None:
        """Count and log a refusal; None (nothing installed), for ``return self._refuse(...)``."""
        self.refused[why] += 1
        log.warning("ioc: bundle refused (%s): %s; the installed bundle stays", why, detail)
        return None

    def drops(self) -> dict[str, int]:
        return {f"ioc_refused_{k}": v for k, v in self.refused.items()}

    def run(self, subscriber: Subscriber, stop: threading.Event) -> None:
        consume(
            subscriber,
            stop,
            lambda msg: self.handle(msg.topic, msg.value),
            log,
            "ioc",
            max_messages=MAX_PARTS + 1,
        )


def _read_state(path: Path) -> dict[str, Any]:
    try:
        raw = json.loads(path.read_text())
        return raw if isinstance(raw, dict) else {}
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        log.error("ioc: %s unreadable (%s); the kept bundle's version is the floor", path, exc)
        return {}


def _read_highest(path: Path) -> int:
    try:
        return max(0, int(_read_state(path).get("version", 0)))
    except (ValueError, TypeError):
        return 0


def _atomic_write(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    with tmp.open("wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
