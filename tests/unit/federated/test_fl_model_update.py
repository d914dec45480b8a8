"""Signed model announcements: the agent installs a good one and refuses the rest."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from contracts import encode
from contracts.signing import generate_keypair, load_public_keys
from edge_agent.detectors.lstm import LstmDetector
from edge_agent.model_update import ModelUpdater
from hub.registry import ModelRegistry, RegistryConfig, RegistryError

SHIPPED = Path(__file__).resolve().parents[3] / "models" / "artifacts" / "lstm-ae"


@pytest.fixture
def setup(tmp_path):
    priv, pub = generate_keypair(tmp_path / "keys")
    registry = ModelRegistry(RegistryConfig(state_dir=tmp_path / "registry", signing_key=priv))
    detector = LstmDetector.load(SHIPPED)
    updater = ModelUpdater(tmp_path / "models", load_public_keys([pub]), detector)
    return registry, updater, detector, tmp_path


def test_a_signed_newer_model_is_installed_and_swapped(setup):
    registry, updater, detector, _ = setup
    ann = registry.build(SHIPPED, floor=1)
    version = updater.handle(encode(ann))
    assert version == "lstm-ae-2" == detector.version
    assert (updater.models_root / "lstm-ae-2" / "model.tflite").is_file()
    assert not updater.refused


def test_tampered_payload_is_refused_and_the_old_model_keeps_running(setup):
    registry, updater, detector, _ = setup
    ann = registry.build(SHIPPED, floor=1)
    blob = bytearray(base64.b64decode(ann.payload_b64 or ""))
    blob[100] ^= 0x01
    forged = ann.model_copy(update={"payload_b64": base64.b64encode(bytes(blob)).decode()})
    assert updater.handle(encode(forged)) is None
    assert updater.refused["signature"] == 1 and detector.version == "lstm-ae-1"


def test_tampered_threshold_in_metadata_is_refused(setup):
    registry, updater, detector, _ = setup
    ann = registry.build(SHIPPED, floor=1)
    forged = ann.model_copy(update={"metadata": ann.metadata | {"threshold": 1e9}})
    assert updater.handle(encode(forged)) is None
    assert updater.refused["signature"] == 1 and detector.version == "lstm-ae-1"


def test_unsigned_or_foreign_key_is_refused(setup, tmp_path):
    registry, updater, detector, _ = setup
    ann = registry.build(SHIPPED, floor=1)
    assert (
        updater.handle(encode(ann.model_copy(update={"key_id": "", "signature_b64": ""}))) is None
    )
    other_priv, _ = generate_keypair(tmp_path / "other")
    foreign = ModelRegistry(RegistryConfig(state_dir=tmp_path / "r2", signing_key=other_priv))
    assert updater.handle(encode(foreign.build(SHIPPED, floor=1))) is None
    assert updater.refused["signature"] == 2 and detector.version == "lstm-ae-1"


def test_older_versions_are_refused_and_the_running_one_is_a_no_op(setup):
    registry, updater, detector, _ = setup
    v2, v3 = registry.build(SHIPPED, floor=1), registry.build(SHIPPED)
    assert updater.handle(encode(v3)) == "lstm-ae-3"
    assert updater.handle(encode(v3)) is None  # the retained copy again: nothing to do
    assert updater.handle(encode(v2)) is None
    assert updater.refused == {"older": 1} and detector.version == "lstm-ae-3"


def test_garbage_on_the_model_topic_is_refused(setup):
    _, updater, detector, _ = setup
    for junk in (b"", b"\x00\xff", b"{}", json.dumps({"kind": "model"}).encode()):
        assert updater.handle(junk) is None
    assert updater.refused["invalid"] == 4 and detector.version == "lstm-ae-1"


def test_the_registry_only_goes_up_and_refuses_a_mismatched_dir(setup, tmp_path):
    registry, *_ = setup
    assert registry.build(SHIPPED, floor=1).version == 2
    with pytest.raises(RegistryError, match="not newer"):
        registry.build(SHIPPED, version=2)
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "model.tflite").write_bytes(b"x")
    (bad / "metadata.json").write_text(json.dumps({"sha256": "0" * 64}))
    with pytest.raises(RegistryError, match="sha256"):
        registry.build(bad)


def test_keygen_never_overwrites_and_keys_are_private(tmp_path):
    from contracts.signing import SignatureError

    priv, _ = generate_keypair(tmp_path)
    assert priv.stat().st_mode & 0o077 == 0
    with pytest.raises(SignatureError, match="overwrite"):
        generate_keypair(tmp_path)
