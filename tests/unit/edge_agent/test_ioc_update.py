"""The agent's bundle updater: install, hot swap, and every refusal (tamper, older, expired,
fleet), with the floor kept across restarts."""

from __future__ import annotations

from contracts.indicator_wire import encode_manifest, sign_bundle
from contracts.topics import MQTT_INTEL_TOPIC, mqtt_intel_part
from edge_agent.detectors.ioc import IocDetector
from edge_agent.ioc_update import IocUpdater
from tests.unit.contracts.samples import flow
from tests.unit.contracts.test_indicators import NOW, bundle_of, keypair


def _updater(tmp_path, trusted, fleet_id=None, now=NOW):
    det = IocDetector(clock=lambda: now)
    return det, IocUpdater(tmp_path / "intel", trusted, det, fleet_id=fleet_id, clock=lambda: now)


def _deliver(up, manifest, parts, parts_first=False):
    msgs = [(mqtt_intel_part(i), p) for i, p in enumerate(parts)]
    man = [(MQTT_INTEL_TOPIC, encode_manifest(manifest))]
    got = [up.handle(t, p) for t, p in (msgs + man if parts_first else man + msgs)]
    return next((g for g in got if g is not None), None)


def _hits(det, ip):
    return len(det.on_flow(flow(dst_ip=ip, start_ts=NOW, end_ts=NOW + 1)))


def test_a_signed_bundle_in_several_parts_is_installed_in_either_order(tmp_path):
    key, trusted = keypair()
    b = bundle_of(*[f"198.51.{i // 256}.{i % 256}" for i in range(3000)], version=5)
    m, parts = sign_bundle(b, key, part_bytes=2048)
    for parts_first in (False, True):
        det, up = _updater(tmp_path / str(parts_first), trusted)
        assert _deliver(up, m, parts, parts_first) == 5
        assert det.bundle_version == 5 and _hits(det, "198.51.3.7") == 1
    assert len(parts) > 2


def test_a_tampered_bundle_is_refused_and_the_old_one_keeps_matching(tmp_path):
    key, trusted = keypair()
    det, up = _updater(tmp_path, trusted)
    m1, p1 = sign_bundle(bundle_of("198.51.100.7", version=1), key)
    assert _deliver(up, m1, p1) == 1
    m2, p2 = sign_bundle(bundle_of("192.0.2.1", version=2), key)
    # a manifest changed after signing
    forged = m2.model_copy(update={"version": 3})
    assert _deliver(up, forged, p2) is None
    assert up.drops() == {"ioc_refused_signature": 1}
    # a part changed after signing: never assembled
    m3, p3 = sign_bundle(bundle_of("192.0.2.2", version=4), key)
    assert _deliver(up, m3, [p3[0][:-1] + bytes([p3[0][-1] ^ 1])]) is None
    # signed by a key this node does not trust
    other, _ = keypair()
    m4, p4 = sign_bundle(bundle_of("192.0.2.3", version=5), other)
    assert _deliver(up, m4, p4) is None
    assert up.refused["signature"] == 2
    assert det.bundle_version == 1 and _hits(det, "198.51.100.7") == 1
    assert _hits(det, "192.0.2.1") == _hits(det, "192.0.2.2") == _hits(det, "192.0.2.3") == 0


def test_older_versions_are_refused_even_after_a_restart(tmp_path):
    key, trusted = keypair()
    _det, up = _updater(tmp_path, trusted)
    m5, p5 = sign_bundle(bundle_of("198.51.100.7", version=5), key)
    m4, p4 = sign_bundle(bundle_of("192.0.2.1", version=4), key)
    assert _deliver(up, m5, p5) == 5
    assert _deliver(up, m4, p4) is None and up.refused["older"] == 1
    # restart: a new updater on the same directory
    det2, up2 = _updater(tmp_path, trusted)
    assert up2.load_installed() == 5 and _hits(det2, "198.51.100.7") == 1
    assert _deliver(up2, m4, p4) is None and up2.refused["older"] == 1
    assert _deliver(up2, m5, p5) is None and not up2.refused.get("signature")  # the retained copy


def test_the_floor_holds_even_when_the_kept_bundle_is_gone(tmp_path):
    key, trusted = keypair()
    _, up = _updater(tmp_path, trusted)
    m5, p5 = sign_bundle(bundle_of("198.51.100.7", version=5), key)
    _deliver(up, m5, p5)
    (tmp_path / "intel" / "bundle.bin").unlink()
    _det2, up2 = _updater(tmp_path, trusted)
    assert up2.load_installed() is None
    m4, p4 = sign_bundle(bundle_of("192.0.2.1", version=4), key)
    assert _deliver(up2, m4, p4) is None and up2.refused["older"] == 1


def test_expired_and_other_fleet_bundles_are_refused(tmp_path):
    key, trusted = keypair()
    _det, up = _updater(tmp_path, trusted, fleet_id="fleet-a")
    old = bundle_of(
        "198.51.100.7", version=2, created_at=NOW - 100, expires_at=NOW - 1, fleet_id="fleet-a"
    )
    assert _deliver(up, *sign_bundle(old, key)) is None and up.refused["expired"] == 1
    other = bundle_of("198.51.100.7", version=3, fleet_id="fleet-b")
    assert _deliver(up, *sign_bundle(other, key)) is None and up.refused["fleet"] == 1
    none = bundle_of("198.51.100.7", version=4)
    assert _deliver(up, *sign_bundle(none, key)) is None and up.refused["fleet"] == 2
    ok = bundle_of("198.51.100.7", version=5, fleet_id="fleet-a")
    assert _deliver(up, *sign_bundle(ok, key)) == 5


def test_garbage_on_the_topics_is_counted_not_fatal(tmp_path):
    _, trusted = keypair()
    det, up = _updater(tmp_path, trusted)
    assert up.handle(MQTT_INTEL_TOPIC, b"{not json") is None
    assert up.handle(MQTT_INTEL_TOPIC, b"") is None  # a cleared retained topic
    assert up.handle(mqtt_intel_part(999), b"x") is None
    assert up.handle("fednids/v1/intel/part/x", b"x") is None
    assert up.drops() == {"ioc_refused_invalid": 1} and det.bundle_version == 0
