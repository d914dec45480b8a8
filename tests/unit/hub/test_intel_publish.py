"""Signing and publishing the bundle (memory:// broker), and the ``fednids hub intel`` CLI."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest

from contracts.indicator_wire import decode_manifest
from contracts.signing import generate_keypair, load_public_keys
from contracts.topics import MQTT_INTEL_TOPIC, mqtt_intel_part
from contracts.transports.memory import MemoryBroker
from edge_agent.detectors.ioc import IocDetector
from edge_agent.ioc_update import IocUpdater
from fednids.cli import main
from hub.intel.common import IntelError
from hub.intel.publish import PublishConfig, publish_bundle
from hub.intel.store import read_status

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "intel"


@pytest.fixture
def keys(tmp_path):
    priv, pub = generate_keypair(tmp_path / "keys")
    return priv, pub


def _import(tmp_path, *extra):
    out = tmp_path / "intel" / "bundle.json"
    args = ["hub", "intel", "import", str(FIXTURES / "blocklist.txt"), "--source", "feodo"]
    assert main([*args, "--out", str(out), "--family", "botnet", *extra]) == 0
    return out


def _retained(broker, topic):
    msgs = [m for m in broker.messages(topic)]
    return msgs[-1].value if msgs else None


def test_cli_import_then_publish_reaches_an_updater(tmp_path, keys, capsys):
    # prepare
    priv, pub = keys
    out = _import(tmp_path)
    name = f"intel-{uuid.uuid4().hex[:8]}"
    # execute
    rc = main(
        ["hub", "intel", "publish", str(out), "--key", str(priv), "--mqtt", f"memory://{name}"]
    )
    # assert: published, recorded, and an agent's updater installs it
    assert rc == 0
    printed = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    broker = MemoryBroker.named(name)
    manifest = decode_manifest(_retained(broker, MQTT_INTEL_TOPIC))
    assert printed["version"] == manifest.version and manifest.count == 6
    assert read_status(out)["published"]["version"] == manifest.version
    det = IocDetector()
    up = IocUpdater(tmp_path / "node", load_public_keys([pub]), det)
    for i in range(len(manifest.parts)):
        up.handle(mqtt_intel_part(i), _retained(broker, mqtt_intel_part(i)))
    assert up.handle(MQTT_INTEL_TOPIC, _retained(broker, MQTT_INTEL_TOPIC)) == manifest.version
    assert det.matcher.match_ip("198.51.100.7", manifest.created_at) is not None
    hit = det.matcher.match_ip("198.51.100.7", manifest.created_at)
    assert hit is not None and hit.family == "botnet" and hit.sources == "feodo"
    MemoryBroker.reset(name)


def test_publish_signs_for_a_fleet_and_refuses_rollbacks_and_expired_bundles(tmp_path, keys):
    priv, _ = keys
    out = _import(tmp_path)
    name = f"intel-{uuid.uuid4().hex[:8]}"
    cfg = PublishConfig(signing_key=priv, mqtt_url=f"memory://{name}", fleet_id="fleet-a")
    m = publish_bundle(out, cfg)
    assert m.fleet_id == "fleet-a"
    # a later publish of an older version is refused
    status = read_status(out)
    status["published"]["version"] = m.version + 10
    (out.with_name("bundle.status.json")).write_text(json.dumps(status))
    with pytest.raises(IntelError, match="older"):
        publish_bundle(out, cfg)
    with pytest.raises(IntelError, match="expired"):
        publish_bundle(out, cfg, now=m.expires_at + 1)
    with pytest.raises(IntelError, match="no bundle"):
        publish_bundle(tmp_path / "none.json", cfg)
    MemoryBroker.reset(name)


def _cli(*args: str) -> int:
    return main(["hub", "intel", *args])


def test_cli_errors_are_one_line_and_nonzero(tmp_path, keys):
    priv, _ = keys
    out = str(tmp_path / "b.json")
    blocklist = str(FIXTURES / "blocklist.txt")
    assert _cli("import", str(tmp_path / "missing"), "--source", "x", "--out", out) == 1
    assert _cli("import", blocklist, "--source", "x", "--out", out, "--family", "nope") == 2
    assert _cli("import", blocklist, "--source", "bad name", "--out", out) == 2
    assert _cli("publish", out, "--key", str(priv), "--mqtt", "memory://x") == 1
