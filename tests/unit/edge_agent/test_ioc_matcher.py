"""The sensor's IOC matcher: exact addresses, CIDRs, domain suffixes, JA4, expiry, events."""

from __future__ import annotations

import random
import time

from contracts.flowmeta import DnsAnswer, DnsMeta, HttpMeta, TlsMeta
from contracts.indicators import IndicatorBundle
from edge_agent.detectors.ioc import IocDetector, IocMatcher, severity_of
from tests.unit.contracts.samples import flow
from tests.unit.contracts.test_indicators import FAR, NOW, bundle_of, ind

JA4 = "t13d1516h2_8daaf6152771_02713d6af862"


def matcher(*values: str) -> IocMatcher:
    return IocMatcher(bundle_of(*values))


def test_exact_addresses_v4_and_v6():
    m = matcher("198.51.100.7", "2001:db8::1")
    assert m.match_ip("198.51.100.7", NOW) is not None
    assert m.match_ip("2001:db8::1", NOW) is not None
    assert m.match_ip("198.51.100.8", NOW) is None
    assert m.match_ip("2001:db8::2", NOW) is None


def test_cidrs_match_inside_only_and_most_specific_first():
    m = IocMatcher(
        IndicatorBundle(
            version=1,
            created_at=NOW,
            expires_at=FAR,
            indicators=[
                ind("10.0.0.0/8", tag="wide"),
                ind("10.1.2.0/24", tag="narrow"),
                ind("2001:db8:aa::/48"),
            ],
        )
    )
    assert m.match_ip("10.1.2.200", NOW).tag == "narrow"  # type: ignore[union-attr]
    assert m.match_ip("10.9.9.9", NOW).tag == "wide"  # type: ignore[union-attr]
    assert m.match_ip("11.0.0.1", NOW) is None
    assert m.match_ip("2001:db8:aa:1::5", NOW) is not None
    assert m.match_ip("2001:db8:ab::5", NOW) is None
    assert m.match_ip("not-an-ip", NOW) is None


def test_domains_match_by_label_suffix_only():
    m = matcher("evil.com")
    assert m.match_domain("evil.com", NOW) is not None
    assert m.match_domain("a.b.EVIL.com.", NOW) is not None
    assert m.match_domain("notevil.com", NOW) is None
    assert m.match_domain("evil.com.au", NOW) is None
    assert m.match_domain("com", NOW) is None


def test_expired_indicators_never_match_and_a_wider_live_one_still_does():
    # prepare: an expired /24 inside a live /16, an expired exact address and domain
    m = IocMatcher(
        IndicatorBundle(
            version=1,
            created_at=NOW,
            expires_at=FAR,
            indicators=[
                ind("192.0.2.0/24", expires_at=NOW + 10, tag="expired"),
                ind("192.0.0.0/16", tag="live"),
                ind("198.51.100.7", expires_at=NOW + 10),
                ind("evil.example", expires_at=NOW + 10),
                ind(JA4, expires_at=NOW + 10),
            ],
        )
    )
    later = NOW + 11
    # execute + assert: before and after expiry
    assert m.match_ip("192.0.2.1", NOW).tag == "expired"  # type: ignore[union-attr]
    assert m.match_ip("192.0.2.1", later).tag == "live"  # type: ignore[union-attr]
    assert m.match_ip("198.51.100.7", later) is None
    assert m.match_domain("x.evil.example", later) is None
    assert m.match_ja4(JA4, NOW) is not None and m.match_ja4(JA4, later) is None


def test_a_flow_matches_on_addresses_dns_sni_ja4_and_http_host():
    m = matcher(
        "198.51.100.7",
        "dns.example",
        "answer.example",
        "192.0.2.77",
        "sni.example",
        JA4,
        "web.example",
    )
    cases = {
        "dst_ip": flow(dst_ip="198.51.100.7"),
        "src_ip": flow(src_ip="198.51.100.7"),
        "dns_query": flow(dns=DnsMeta(rrname="www.dns.example", rrtype="A")),
        "dns_answer": flow(
            dns=DnsMeta(
                rrname="innocent.test",
                rrtype="A",
                answers=[DnsAnswer(rrtype="CNAME", rdata="cdn.answer.example")],
            )
        ),
        "tls_sni": flow(tls=TlsMeta(sni="api.sni.example", version="TLS 1.3", ja4=JA4[:-1] + "0")),
        "tls_ja4": flow(tls=TlsMeta(version="TLS 1.3", ja4=JA4)),
        "http_host": flow(
            http=HttpMeta(
                http_method="GET", url="/", protocol="HTTP/1.1", hostname="web.example:8080"
            )
        ),
    }
    for field, f in cases.items():
        hits = m.match_flow(f, NOW)
        assert [h.field for h in hits] == [field], field
    a_answer = flow(
        dns=DnsMeta(
            rrname="x.test", rrtype="A", answers=[DnsAnswer(rrtype="A", rdata="192.0.2.77")]
        )
    )
    assert [h.field for h in m.match_flow(a_answer, NOW)] == ["dns_answer"]
    assert m.match_flow(flow(), NOW) == []


def test_the_detector_emits_one_ioc_event_with_the_indicator_and_suppresses_repeats():
    # prepare
    b = IndicatorBundle(
        version=7,
        created_at=NOW,
        expires_at=FAR,
        indicators=[
            ind("198.51.100.7", sources=["feodo", "misp"], confidence=90, family="botnet", tag="C2")
        ],
    )
    det = IocDetector(IocMatcher(b), clock=lambda: NOW)
    # execute
    first = det.on_flow(flow(dst_ip="198.51.100.7"))
    again = det.on_flow(
        flow(dst_ip="198.51.100.7", start_ts=1_700_000_010.0, end_ts=1_700_000_011.0)
    )
    later = det.on_flow(
        flow(dst_ip="198.51.100.7", start_ts=1_700_000_100.0, end_ts=1_700_000_101.0)
    )
    # assert
    assert len(first) == 1 and again == [] and len(later) == 1 and det.suppressed == 1
    ev = first[0]
    assert ev.detector == "ioc" and ev.severity == "high" and ev.family == "botnet"
    assert ev.evidence["indicator"] == "198.51.100.7"
    assert ev.evidence["sources"] == "feodo,misp"
    assert ev.evidence["matched"] == "dst_ip" and ev.evidence["bundle_version"] == 7
    assert ev.techniques == ["T1071"]  # the botnet family's (contracts.attack)


def test_install_swaps_the_matcher_and_an_empty_detector_is_silent():
    det = IocDetector(clock=lambda: NOW)
    assert det.on_flow(flow(dst_ip="198.51.100.7")) == []
    det.install(matcher("198.51.100.7"))
    assert det.bundle_version == 1 and len(det.on_flow(flow(dst_ip="198.51.100.7"))) == 1


def test_severity_follows_confidence():
    assert [severity_of(c) for c in (0, 29, 30, 69, 70, 100)] == [
        "low",
        "low",
        "medium",
        "medium",
        "high",
        "high",
    ]


def test_a_100k_bundle_builds_and_matches_correctly():
    # prepare: 100k mixed indicators (addresses, CIDRs, domains)
    rng = random.Random(7)
    ips = {
        f"{rng.randrange(1, 224)}.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(256)}"
        for _ in range(80_000)
    }
    nets = {
        f"{rng.randrange(1, 224)}.{rng.randrange(256)}.{rng.randrange(256)}.0/24"
        for _ in range(10_000)
    }
    doms = {f"d{i}.example{i % 97}.net" for i in range(10_000)}
    values = sorted(ips) + sorted(nets) + sorted(doms)
    b = IndicatorBundle(
        version=1, created_at=NOW, expires_at=FAR, indicators=[ind(v) for v in values]
    )
    # execute
    t0 = time.perf_counter()
    m = IocMatcher(b)
    built_s = time.perf_counter() - t0
    # assert: every indicator found, a few misses not
    assert m.size == len(values)
    some_ip, some_net, some_dom = sorted(ips)[123], sorted(nets)[45], sorted(doms)[67]
    assert m.match_ip(some_ip, NOW) is not None
    assert m.match_ip(some_net.replace(".0/24", ".77"), NOW) is not None
    assert m.match_domain("www." + some_dom, NOW) is not None
    assert m.match_domain("nothere.example", NOW) is None
    print(f"100k matcher built in {built_s:.2f}s")


def test_a_flood_to_a_listed_address_gives_a_bounded_number_of_events():
    # prepare: 50 spoofed sources to one listed address within a minute
    det = IocDetector(matcher("198.51.100.7"), clock=lambda: NOW, max_per_indicator=20)
    flows = [flow(src_ip=f"10.0.{i}.1", dst_ip="198.51.100.7") for i in range(50)]
    # execute
    events = [ev for f in flows for ev in det.on_flow(f)]
    later = det.on_flow(
        flow(
            src_ip="10.9.9.9",
            dst_ip="198.51.100.7",
            start_ts=1_700_000_100.0,
            end_ts=1_700_000_101.0,
        )
    )
    # assert
    assert len(events) == 20 and det.suppressed == 30 and len(later) == 1
