"""Threat-intel import on the hub: STIX 2.1, MISP and plain lists, merged into one bundle."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from hub.intel.common import FeedDefaults, IntelError
from hub.intel.feeds import import_feeds, parse_file, sniff
from hub.intel.merge import merge
from hub.intel.store import read_bundle, status_path
from tests.unit.contracts.test_indicators import ind

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "intel"
NOW = 1_800_000_000.0


def _feed(source="t", **kw):
    return FeedDefaults(source=source, now=NOW, **kw)


def _values(inds):
    return {(i.type, i.value) for i in inds}


def test_stix_indicators_with_simple_patterns_are_imported_and_the_rest_counted():
    feed = _feed(confidence=40)
    kind, got = parse_file(FIXTURES / "feed.stix.json", feed)
    assert kind == "stix"
    assert _values(got) == {
        ("ipv4", "198.51.100.7"),
        ("domain", "evil.example"),
        ("domain", "bad.example.org"),
        ("cidr", "203.0.113.0/24"),
        ("ipv6", "2001:db8::1"),
    }
    c2 = next(i for i in got if i.value == "198.51.100.7")
    assert c2.confidence == 85 and c2.tag == "C2 server" and c2.expires_at == 4_070_908_800.0
    assert next(i for i in got if i.value == "evil.example").confidence == 40  # feed default
    assert feed.skipped == {
        "unsupported_pattern": 2,  # the AND and the url pattern
        "expired": 1,
        "revoked": 1,
        "invalid_stix": 1,
    }


def test_misp_attributes_for_detection_are_imported():
    feed = _feed()
    kind, got = parse_file(FIXTURES / "event.misp.json", feed)
    assert kind == "misp"
    assert _values(got) == {
        ("ipv4", "198.51.100.7"),
        ("ipv4", "192.0.2.44"),
        ("ipv4", "192.0.2.45"),
        ("domain", "c2.example.net"),
        ("domain", "cdn.c2.example.net"),
        ("domain", "other.example.net"),
        ("ipv4", "192.0.2.46"),
        ("ja4", "t13d1516h2_8daaf6152771_02713d6af862"),
        ("domain", "obj.example.com"),
    }
    assert {i.confidence for i in got} == {90}  # threat level 1
    assert {i.tag for i in got} == {"Botnet C2 infrastructure"}
    assert feed.skipped == {"not_to_ids": 1, "invalid_value": 1, "unsupported_type": 1}


def test_plain_lists_skip_comments_bad_lines_and_too_wide_networks():
    feed = _feed(ttl_days=2)
    kind, got = parse_file(FIXTURES / "blocklist.txt", feed)
    assert kind == "list"
    assert _values(got) == {
        ("ipv4", "198.51.100.7"),
        ("ipv4", "198.51.100.8"),
        ("cidr", "203.0.113.0/24"),
        ("ipv4", "192.0.2.9"),
        ("ipv6", "2001:db8::dead"),
        ("domain", "malware.example.com"),
    }
    assert {i.expires_at for i in got} == {NOW + 2 * 86400}
    assert feed.skipped == {"invalid_value": 2}


def test_the_format_is_sniffed_and_bad_json_is_a_clear_error(tmp_path):
    assert sniff('{"type": "bundle", "objects": []}') == "stix"
    assert sniff('{"Event": {"Attribute": []}}') == "misp"
    assert sniff("1.2.3.4\n") == "list"
    bad = tmp_path / "bad.json"
    bad.write_text('{"type": "bundle", "objects": [')
    with pytest.raises(IntelError, match="not JSON"):
        parse_file(bad, _feed(), "stix")
    with pytest.raises(IntelError, match="not MISP"):
        parse_file(FIXTURES / "feed.stix.json", _feed(), "misp")
    with pytest.raises(IntelError, match="cannot read"):
        parse_file(tmp_path / "missing.txt", _feed())


def test_merge_dedupes_keeping_all_sources_the_latest_expiry_and_dropping_expired():
    a = [
        ind("198.51.100.7", sources=["a"], expires_at=NOW + 10, confidence=30),
        ind("192.0.2.1", sources=["a"], expires_at=NOW - 1),
    ]
    b = [ind("198.51.100.7", sources=["b"], expires_at=NOW + 99, confidence=80, family="botnet")]
    merged, dropped = merge([a, b], now=NOW)
    assert len(merged) == 1
    m = merged[0]
    assert m.sources == ["a", "b"] and m.expires_at == NOW + 99
    assert m.confidence == 80 and m.family == "botnet"
    assert dropped == {"expired": 1, "over_limit": 0}
    many = [ind(f"198.51.100.{i}", confidence=i) for i in range(10)]
    kept, dropped = merge([many], now=NOW, limit=3)
    assert [i.confidence for i in kept] == [9, 8, 7] and dropped["over_limit"] == 7


def test_import_merges_sources_into_the_bundle_and_a_reimport_replaces_its_source(tmp_path):
    out = tmp_path / "intel" / "bundle.json"
    # execute: two sources naming the same address, then feodo again with a smaller list
    s1 = import_feeds([FIXTURES / "blocklist.txt"], _feed("feodo"), out)
    s2 = import_feeds([FIXTURES / "event.misp.json"], _feed("misp-circl"), out)
    small = tmp_path / "small.txt"
    small.write_text("198.51.100.7\n")
    s3 = import_feeds([small], _feed("feodo", confidence=70), out)
    # assert
    b = read_bundle(out)
    assert b is not None
    both = next(i for i in b.indicators if i.value == "198.51.100.7")
    assert sorted(both.sources) == ["feodo", "misp-circl"]
    assert not any(i.value == "malware.example.com" for i in b.indicators)  # feodo dropped it
    assert s1["count"] == 6 and s2["count"] == 14 and s3["count"] == 9
    assert s1["version"] < s2["version"] < s3["version"]
    status = json.loads(status_path(out).read_text())
    assert status["by_source"] == {"feodo": 1, "misp-circl": 9}
    assert status["sources"]["feodo"]["parsed"] == 1
    assert set(b.sources) == {"feodo", "misp-circl"}
