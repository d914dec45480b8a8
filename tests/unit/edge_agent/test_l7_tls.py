"""TLS ClientHello metadata and JA4, on hellos the test builds from FoxIO's worked example."""

from __future__ import annotations

import pytest

from contracts import decode, encode
from edge_agent.capture.l7 import tls
from edge_agent.capture.l7.ja4 import alpn_code, ja4
from tests.unit.edge_agent.l7_frames import EXAMPLE_JA4, client_hello, records, tcp_session


def test_the_example_hello_gives_foxios_example_fingerprint(tmp_path):
    # prepare: FoxIO's example fields with GREASE in ciphers, extensions and versions
    frames = tcp_session([client_hello(sni="www.example.com")], [b"\x16\x03\x03\x00\x02\x02\x00"])
    # execute
    recs, pipe = records(tmp_path, frames)
    # assert
    (rec,) = recs
    assert rec.tls is not None
    assert rec.tls.ja4 == EXAMPLE_JA4
    assert rec.tls.sni == "www.example.com"
    assert rec.tls.alpn == ["h2", "http/1.1"]
    assert rec.tls.version == "TLS 1.3"
    assert pipe.counters()["l7_tls"] == 1
    assert decode(encode(rec)) == rec  # the fast path's record passes full validation


def test_a_hello_split_over_segments_is_reassembled(tmp_path):
    hello = client_hello()
    recs, _ = records(tmp_path, tcp_session([hello[:100], hello[100:250], hello[250:]], []))
    assert recs[0].tls is not None and recs[0].tls.ja4 == EXAMPLE_JA4


def test_without_sni_and_alpn_the_fingerprint_says_so():
    h = tls.parse_hello(tls.hello_bytes(client_hello(exts=[0x000D, 0x002B, 0x000A])) or b"")
    fp = ja4(h)
    # no SNI: "i"; no ALPN: "00"; 3 extensions; extension hash over 000a,000d,002b + sig algs
    assert fp.startswith("t13i1503" + "00_8daaf6152771_")


def test_no_signature_algorithms_hash_the_extensions_alone():
    # prepare: FoxIO's documented value for the example's extensions with no signature
    # algorithms: 0005,...,ff01 -> 6d807ffa2a79
    h = tls.parse_hello(tls.hello_bytes(client_hello()) or b"")
    h.sig_algs = []
    # execute / assert
    assert ja4(h).endswith("_8daaf6152771_6d807ffa2a79")


def test_no_ciphers_and_no_extensions_give_zeros():
    h = tls.ClientHello()
    h.version = 0x0303
    assert ja4(h) == "t12i000000_000000000000_000000000000"


@pytest.mark.parametrize(
    ("first", "code"),
    [
        (b"h2", "h2"),
        (b"http/1.1", "h1"),
        (b"h", "hh"),  # one character is both first and last
        (b"", "00"),
        (None, "00"),
        # the specification's examples for ASCII bytes that are not alphanumeric
        (b"\x20", "20"),
        (b"\x20\x61", "21"),
        (b"\x61\x20", "60"),
        # non-ASCII: "9", as FoxIO's implementations and test data have it
        # (tls-non-ascii-alpn.pcapng: ALPN ba ad -> t13d151699_...)
        (b"\xba\xad", "99"),
    ],
)
def test_alpn_characters(first, code):
    assert alpn_code(first) == code


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (b"\x16\x03\x01\x00\x05\x02\x00\x00\x01\x00", "tls_not_client_hello"),
        (b"\x16\x03\x01\x00\x00" + bytes(5), "tls_bad_record_length"),
        (b"\x16\x03\x01\x00\x01\x01\x17\x03" + bytes(5), "tls_not_handshake"),
        (client_hello()[:5] + b"\x01\x00\x00\x10" + bytes(16), "tls_truncated"),
    ],
)
def test_a_malformed_hello_is_counted_by_reason_and_skipped(tmp_path, payload, reason):
    recs, pipe = records(tmp_path, tcp_session([payload], []))
    assert recs[0].tls is None
    assert pipe.counters()[f"l7_skipped_{reason}"] == 1


def test_extraction_off_reads_nothing(tmp_path):
    recs, pipe = records(tmp_path, tcp_session([client_hello()], []), l7=False)
    assert recs[0].tls is None and not any(k.startswith("l7_") for k in pipe.counters())


@pytest.mark.parametrize(
    ("legacy", "name"),
    [
        (0x0303, "TLS 1.2"),
        (0x0302, "TLS 1.1"),
        (0x0301, "TLSv1"),
        (0x0300, "SSLv3"),
        (0x7F1C, "0x7f1c"),
    ],
)
def test_the_version_is_named_as_suricata_names_it(tmp_path, legacy, name):
    # prepare: no supported_versions extension, so the hello's own version counts
    hello = bytearray(client_hello(exts=[0x0000, 0x000D]))
    hello[9:11] = legacy.to_bytes(2, "big")
    # execute
    recs, _ = records(tmp_path, tcp_session([bytes(hello)], []))
    # assert
    tls_meta = recs[0].tls
    assert tls_meta is not None and tls_meta.version == name
    assert decode(encode(recs[0])) == recs[0]
