"""Sign a model directory (``model.tflite`` + ``metadata.json``), archive it under a new
version and announce it: retained on MQTT (``fednids/v1/model/current``: an agent that was
offline gets it on reconnect) and on Kafka ``models`` (the ingestor records it in the store).

When the directory ships the model's float weights (``weights.npz``, listed in its metadata),
they are archived with it and inlined in the signed announcement's metadata
(:mod:`contracts.local_model`) so nodes can fine-tune the global model; weights too large for
the announcement are left out (logged): the model itself always ships.

Versions only go up: the next version is one more than the highest ever published from this
state directory (``registry.json``), so an agent can refuse anything older than what it runs.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from contracts.codec import MAX_MESSAGE_BYTES, encode
from contracts.errors import ContractError
from contracts.events import ModelAnnouncement
from contracts.local_model import MAX_WEIGHTS_BYTES, WEIGHTS_FILE, inline_weights
from contracts.model_dir import ModelDirError, expected_files, read_model_dir, write_model_dir
from contracts.signing import FLEET_KEY, SignatureError, check_fleet_id, load_private_key, sign
from contracts.topics import MQTT_MODEL_TOPIC, KafkaTopic
from contracts.transports import TransportOptions, open_publisher
from hub.errors import HubError

log = logging.getLogger(__name__)
MODEL_FILE, STATE_FILE = "model.tflite", "registry.json"
MAX_INLINE_BYTES = 140_000  # base64 of it stays under the announcement's payload limit


class RegistryError(HubError):
    """A model cannot be signed, archived or announced."""


@dataclass(frozen=True)
class RegistryConfig:
    state_dir: Path
    signing_key: Path
    mqtt_url: str | None = None
    mqtt_options: TransportOptions = field(default_factory=TransportOptions)
    events_url: str | None = None
    """Where the announcement is also published for the record (``kafka://...`` -> ``models``)."""
    node_id: str = "hub"
    model_name: str = "lstm-ae"
    fleet_id: str | None = None
    """The fleet the models are signed for (in the signed metadata); nodes provisioned with a
    fleet id refuse models signed for another fleet or for none."""
    publish_timeout_s: float = 30.0


class ModelRegistry:
    def __init__(self, config: RegistryConfig) -> None:
        self.config = config
        self.key = load_private_key(config.signing_key)
        if config.fleet_id is not None:
            try:
                check_fleet_id(config.fleet_id)
            except SignatureError as exc:
                raise RegistryError(str(exc)) from exc
        config.state_dir.mkdir(parents=True, exist_ok=True)
        self._state_path = config.state_dir / STATE_FILE

    # -- state -------------------------------------------------------------------------------
    def _state(self) -> dict[str, Any]:
        try:
            return dict(json.loads(self._state_path.read_text()))
        except FileNotFoundError:
            return {"last_version": 0, "versions": []}
        except (OSError, ValueError) as exc:
            raise RegistryError(f"{self._state_path}: unreadable registry state: {exc}") from exc

    def _save_state(self, state: dict[str, Any]) -> None:
        fd, tmp = tempfile.mkstemp(dir=self.config.state_dir, prefix=".registry.")
        with os.fdopen(fd, "w") as f:
            json.dump(state, f, indent=2)
        os.replace(tmp, self._state_path)

    @property
    def last_version(self) -> int:
        return int(self._state()["last_version"])

    def version_dir(self, version: int) -> Path:
        return self.config.state_dir / "versions" / str(version)

    # -- publish -----------------------------------------------------------------------------
    def build(
        self, model_dir: Path, version: int | None = None, floor: int = 0
    ) -> ModelAnnouncement:
        """Archive ``model_dir`` as the next version (above ``floor``, e.g. the version the
        fleet already runs) and return its signed announcement."""
        try:
            loaded = read_model_dir(
                model_dir, [MODEL_FILE], primary=MODEL_FILE, max_bytes=MAX_INLINE_BYTES
            )
        except ModelDirError as exc:
            raise RegistryError(f"cannot publish the model: {exc}") from exc
        blob, meta = loaded.blob(MODEL_FILE), loaded.metadata
        files = {MODEL_FILE: blob} | self._weights(model_dir, meta)
        digest = hashlib.sha256(blob).hexdigest()
        state = self._state()
        version = version or max(int(state["last_version"]), floor) + 1
        if version <= int(state["last_version"]):
            raise RegistryError(
                f"version {version} is not newer than the last published ({state['last_version']})"
            )
        meta = meta | {"version": version, "model_name": self.config.model_name}
        if self.config.fleet_id is not None:
            meta[FLEET_KEY] = self.config.fleet_id
        else:
            meta.pop(FLEET_KEY, None)  # never re-sign a fleet id copied from the input dir
        out = self.version_dir(version)
        try:
            meta = write_model_dir(
                out,
                files,
                meta,
                primary=MODEL_FILE,
                training_data=meta.get("training_data"),
            )
        except ModelDirError as exc:
            raise RegistryError(f"cannot archive version {version}: {exc}") from exc
        ann = self._signed(version, blob, meta, files.get(WEIGHTS_FILE))
        (out / "announcement.json").write_bytes(encode(ann))  # what was announced, signed
        state["last_version"] = version
        state["versions"] = [*state.get("versions", []), {"version": version, "sha256": digest}]
        self._save_state(state)
        return ann

    @staticmethod
    def _weights(model_dir: Path, meta: dict[str, Any]) -> dict[str, bytes]:
        """``{weights.npz: bytes}`` when the directory ships float weights small enough to
        inline; else empty (the model ships without them; nodes then cannot fine-tune)."""
        try:
            listed = WEIGHTS_FILE in expected_files(meta, MODEL_FILE)
        except ModelDirError:
            listed = False
        if not listed:
            return {}
        try:
            got = read_model_dir(
                model_dir, [WEIGHTS_FILE], primary=MODEL_FILE, max_bytes=MAX_WEIGHTS_BYTES
            )
        except ModelDirError as exc:
            log.warning("registry: %s; the model ships without its float weights", exc)
            return {}
        return {WEIGHTS_FILE: got.blob(WEIGHTS_FILE)}

    def _signed(
        self, version: int, blob: bytes, meta: dict[str, Any], weights: bytes | None
    ) -> ModelAnnouncement:
        """The signed announcement, the float weights inlined when they fit."""
        plain = self._sign(version, blob, meta)
        if weights is None:
            return plain
        ann = self._sign(version, blob, inline_weights(meta, weights))
        if len(ann.model_dump_json()) > MAX_MESSAGE_BYTES:
            log.warning("registry: v%s with its float weights is too large; sent without", version)
            return plain
        return ann

    def _sign(self, version: int, blob: bytes, meta: dict[str, Any]) -> ModelAnnouncement:
        unsigned = ModelAnnouncement(
            node_id=self.config.node_id,
            model_name=self.config.model_name,
            version=version,
            sha256=hashlib.sha256(blob).hexdigest(),
            size_bytes=len(blob),
            payload_b64=base64.b64encode(blob).decode(),
            metadata=meta,
            key_id="",
            signature_b64="",
        )
        return sign(unsigned, self.key)

    def announce(self, ann: ModelAnnouncement) -> None:
        """Publish retained on MQTT and on the events URL; waits for the brokers' acks."""
        payload = encode(ann)
        targets = []
        if self.config.mqtt_url:
            targets.append((self.config.mqtt_url, MQTT_MODEL_TOPIC, True))
        if self.config.events_url:
            targets.append((self.config.events_url, KafkaTopic.MODELS.value, False))
        for url, topic, retain in targets:
            errors: list[str] = []
            try:
                pub = open_publisher(url, self.config.mqtt_options if retain else None)
                try:
                    pub.publish(
                        topic,
                        payload,
                        key=self.config.model_name.encode(),
                        on_delivery=lambda err, errors=errors: (
                            errors.append(str(err))  # type: ignore[misc]
                            if err
                            else None
                        ),
                        retain=retain,
                    )
                    pending = pub.flush(self.config.publish_timeout_s)
                finally:
                    pub.close()
            except ContractError as exc:
                raise RegistryError(f"announcing v{ann.version} on {url} failed: {exc}") from exc
            if pending or errors:
                raise RegistryError(
                    f"announcing v{ann.version} on {url}: not confirmed ({pending} pending, "
                    f"errors {errors})"
                )
            log.info("registry: %s v%s announced on %s %s", ann.model_name, ann.version, url, topic)

    def publish(self, model_dir: Path, floor: int = 0) -> ModelAnnouncement:
        ann = self.build(model_dir, floor=floor)
        self.announce(ann)
        return ann
