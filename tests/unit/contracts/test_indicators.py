"""The indicator bundle contract: bounds, canonical values, signing and every refusal."""

from __future__ import annotations

import zlib
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from pydantic import ValidationError

from contracts.indicator_wire import (
    VerifiedBundle,
    decode_manifest,
    encode_manifest,
    open_bundle,
    pack,
    sign_bundle,
    verify_bundle,
)
from contracts.indicators import (
    MAX_INDICATORS,
    BundleHeader,
    Indicator,
    IndicatorBundle,
    IndicatorError,
    classify,
    normalize,
)
from contracts.signing import FleetMismatch, SignatureError, key_id

FAR = 4_000_000_000.0
NOW = 1_800_000_000.0


def ind(value: str, kind: str | None = None, **kw: Any) -> Indicator:
    t, v = classify(value) if kind is None else (kind, value)
    base: dict[str, Any] = {"type": t, "value": v, "sources": ["test"], "expires_at": FAR}
    return Indicator(**(base | kw))


def bundle_of(*values: str, version: int = 1, **kw: Any) -> IndicatorBundle:
    base: dict[str, Any] = {"version": version, "created_at": NOW, "expires_at": FAR}
    return IndicatorBundle(indicators=[ind(v) for v in values], **(base | kw))


def keypair() -> tuple[Ed25519PrivateKey, dict[str, Any]]:
    key = Ed25519PrivateKey.generate()
    return key, {key_id(key.public_key()): key.public_key()}


@pytest.mark.parametrize(
    ("value", "kind", "canonical"),
    [
        ("198.51.100.7", "ipv4", "198.51.100.7"),
        ("2001:DB8:0::1", "ipv6", "2001:db8::1"),
        ("203.0.113.9/24", "cidr", "203.0.113.0/24"),
        ("192.0.2.9/32", "ipv4", "192.0.2.9"),
        ("Evil.Example.COM.", "domain", "evil.example.com"),
        ("*.evil.example", "domain", "evil.example"),
        ("t13d1516h2_8daaf6152771_02713d6af862", "ja4", "t13d1516h2_8daaf6152771_02713d6af862"),
    ],
)
def test_values_are_classified_and_normalised(value, kind, canonical):
    # execute
    got = classify(value)
    # assert
    assert got == (kind, canonical)


@pytest.mark.parametrize(
    ("kind", "value"),
    [
        ("ipv4", "01.2.3.4"),
        ("ipv4", "2001:db8::1"),
        ("cidr", "0.0.0.0/0"),
        ("cidr", "10.0.0.0/7"),
        ("domain", "com"),
        ("domain", "a..b"),
        ("domain", "1.2.3.4"),
        ("domain", "x" * 300 + ".com"),
        ("ja4", "t13d1516h2_8daaf6152771"),
        ("url", "http://x"),
    ],
)
def test_invalid_or_too_broad_values_are_refused(kind, value):
    with pytest.raises(IndicatorError):
        normalize(kind, value)


def test_an_indicator_must_be_canonical_and_bounded():
    # a non-canonical value, an over-long tag, too many sources, a confidence over 100
    bad = [
        {"value": "EVIL.example"},
        {"tag": "x" * 101},
        {"sources": [f"s{i}" for i in range(9)]},
        {"confidence": 101},
        {"sources": []},
        {"tag": "line\nbreak"},
    ]
    for extra in bad:
        with pytest.raises(ValidationError):
            Indicator(
                **(
                    {"type": "domain", "value": "evil.example", "sources": ["a"], "expires_at": FAR}
                    | extra
                )
            )


def test_a_bundle_is_bounded_and_has_no_duplicates():
    one = ind("198.51.100.7")
    with pytest.raises(ValidationError, match="appears twice"):
        IndicatorBundle(version=1, created_at=NOW, expires_at=FAR, indicators=[one, one])
    with pytest.raises(ValidationError):
        IndicatorBundle(
            version=1, created_at=NOW, expires_at=FAR, indicators=[one] * (MAX_INDICATORS + 1)
        )
    with pytest.raises(ValidationError, match="expires before"):
        IndicatorBundle(version=1, created_at=NOW, expires_at=NOW - 1, indicators=[])


def test_a_signed_bundle_verifies_and_round_trips_in_parts():
    # prepare: enough indicators for several small parts
    key, trusted = keypair()
    b = IndicatorBundle(
        version=3,
        created_at=NOW,
        expires_at=FAR,
        indicators=[ind(f"198.51.{i // 256}.{i % 256}") for i in range(3000)],
    )
    # execute
    manifest, parts = sign_bundle(b, key, part_bytes=4096)
    got = verify_bundle(decode_manifest(encode_manifest(manifest)), parts, trusted)
    # assert
    assert len(parts) > 1 and manifest.count == 3000
    assert got == b


def test_tampering_anywhere_is_refused():
    key, trusted = keypair()
    manifest, parts = sign_bundle(bundle_of("198.51.100.7", "evil.example"), key)
    other, other_trusted = keypair()
    # a changed manifest field (the signature covers it)
    with pytest.raises(SignatureError):
        verify_bundle(manifest.model_copy(update={"version": 99}), parts, trusted)
    # a changed part (its digest is signed)
    forged = zlib.compress(bundle_of("192.0.2.1").model_dump_json().encode())
    with pytest.raises(IndicatorError, match="parts do not match"):
        verify_bundle(manifest, [forged], trusted)
    # re-signed by a key the node does not trust
    m2, p2 = sign_bundle(bundle_of("192.0.2.1"), other)
    with pytest.raises(SignatureError, match="unknown key"):
        verify_bundle(m2, p2, trusted)
    # a garbage signature
    with pytest.raises(SignatureError):
        verify_bundle(manifest.model_copy(update={"signature_b64": "AAAA"}), parts, trusted)
    assert verify_bundle(m2, p2, other_trusted).version == 1


def test_the_fleet_is_signed_and_checked():
    key, trusted = keypair()
    m, parts = sign_bundle(bundle_of("198.51.100.7", fleet_id="fleet-a"), key)
    assert verify_bundle(m, parts, trusted, fleet_id="fleet-a").fleet_id == "fleet-a"
    with pytest.raises(FleetMismatch):
        verify_bundle(m, parts, trusted, fleet_id="fleet-b")
    m0, p0 = sign_bundle(bundle_of("198.51.100.7"), key)
    with pytest.raises(FleetMismatch):
        verify_bundle(m0, p0, trusted, fleet_id="fleet-a")


def _drain(vb: VerifiedBundle) -> int:
    return sum(1 for _ in vb.indicators())


def test_a_zlib_bomb_garbage_truncation_or_a_wrong_count_is_refused():
    header = BundleHeader(version=1, created_at=NOW, expires_at=FAR, count=1)
    line = header.model_dump_json().encode() + b"\n"
    with pytest.raises(IndicatorError, match="zlib"):
        _drain(VerifiedBundle(header, b"not zlib at all"))
    with pytest.raises(IndicatorError, match="over"):
        _drain(VerifiedBundle(header, zlib.compress(line + b"\n" * (100 * 1024 * 1024))))
    with pytest.raises(IndicatorError, match="over"):
        _drain(VerifiedBundle(header, zlib.compress(line + b"x" * (200 * 1024))))  # one huge line
    good = pack(bundle_of("198.51.100.7"))
    assert _drain(VerifiedBundle(header, good)) == 1
    with pytest.raises(IndicatorError, match="truncated"):
        _drain(VerifiedBundle(header, good[:-6]))
    with pytest.raises(IndicatorError, match="signed count"):
        _drain(VerifiedBundle(header.model_copy(update={"count": 2}), good))
    with pytest.raises(IndicatorError):
        decode_manifest(b"{}")
    with pytest.raises(IndicatorError):
        decode_manifest(b"x" * 70_000)


def test_the_sensor_streams_a_verified_bundle_without_building_it():
    key, trusted = keypair()
    b = bundle_of("198.51.100.7", "evil.example", "203.0.113.0/24")
    m, parts = sign_bundle(b, key)
    vb = open_bundle(m, parts, trusted)
    assert vb.header.count == 3 and list(vb.indicators()) == b.indicators
