"""``fednids hub intel publish``: sign the bundle file with the hub's model-signing key and
publish it retained on MQTT, like a model: its parts first (``fednids/v1/intel/part/<i>``),
then the signed manifest (``fednids/v1/intel/manifest/current``), each confirmed by the broker. Parts
of a previous, longer bundle are cleared. Versions only go up (the status file records the
last one published)."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from contracts.errors import ContractError
from contracts.indicator_wire import BundleManifest, encode_manifest, sign_bundle
from contracts.indicators import IndicatorError
from contracts.signing import SignatureError, check_fleet_id, load_private_key
from contracts.topics import MQTT_INTEL_TOPIC, mqtt_intel_part
from contracts.transports import TransportOptions, open_publisher
from hub.intel.common import IntelError
from hub.intel.store import read_bundle, read_status, write_status

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PublishConfig:
    signing_key: Path
    mqtt_url: str
    mqtt_options: TransportOptions = field(default_factory=TransportOptions)
    fleet_id: str | None = None
    """Sign for this fleet: nodes provisioned with it refuse bundles for another (or none)."""
    timeout_s: float = 30.0


def publish_bundle(path: Path, cfg: PublishConfig, now: float | None = None) -> BundleManifest:
    t = time.time() if now is None else now
    bundle = read_bundle(path)
    if bundle is None:
        raise IntelError(f"{path}: no bundle (run `fednids hub intel import` first)")
    if bundle.expires_at <= t:
        raise IntelError(f"{path}: bundle v{bundle.version} has expired; import fresh feeds")
    status = read_status(path)
    published = status.get("published") or {}
    last = int(published.get("version", 0))
    if bundle.version < last:
        raise IntelError(f"bundle v{bundle.version} is older than v{last}, published before")
    try:
        key = load_private_key(cfg.signing_key)
        if cfg.fleet_id is not None:
            bundle = bundle.model_copy(update={"fleet_id": check_fleet_id(cfg.fleet_id)})
        manifest, parts = sign_bundle(bundle, key)
    except (SignatureError, IndicatorError) as exc:
        raise IntelError(f"cannot sign {path}: {exc}") from exc
    stale = range(len(parts), int(published.get("parts", 0)))
    messages = [(mqtt_intel_part(i), p) for i, p in enumerate(parts)]
    messages += [(mqtt_intel_part(i), b"") for i in stale]
    messages.append((MQTT_INTEL_TOPIC, encode_manifest(manifest)))
    _send(cfg, messages)
    status["published"] = {
        "version": manifest.version,
        "at": datetime.fromtimestamp(t, UTC).isoformat(timespec="seconds"),
        "fleet_id": manifest.fleet_id,
        "parts": len(parts),
        "size_bytes": manifest.size_bytes,
        "sha256": manifest.sha256,
        "key_id": manifest.key_id,
    }
    write_status(path, status)
    log.info("intel: bundle v%s (%d indicators) published", manifest.version, manifest.count)
    return manifest


def _send(cfg: PublishConfig, messages: list[tuple[str, bytes]]) -> None:
    errors: list[str] = []

    def delivered(err: object, errors: list[str] = errors) -> None:
        if err:
            errors.append(str(err))

    try:
        pub = open_publisher(cfg.mqtt_url, cfg.mqtt_options)
        try:
            for topic, payload in messages:
                pub.publish(topic, payload, on_delivery=delivered, retain=True)
            pending = pub.flush(cfg.timeout_s)
        finally:
            pub.close()
    except ContractError as exc:
        raise IntelError(f"publishing the bundle on {cfg.mqtt_url} failed: {exc}") from exc
    if pending or errors:
        raise IntelError(
            f"publishing on {cfg.mqtt_url}: not confirmed ({pending} pending, errors {errors[:3]})"
        )
