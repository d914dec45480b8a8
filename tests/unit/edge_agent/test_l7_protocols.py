"""DNS, HTTP/1.x and SSH metadata on flows, from payloads the test builds by hand."""

from __future__ import annotations

import struct

from contracts import decode, encode
from tests.unit.edge_agent.l7_frames import (
    HTTP_REQUEST,
    dns_query,
    dns_response,
    records,
    tcp_session,
    udp_exchange,
)


def test_a_dns_lookup_gives_name_type_rcode_and_answers(tmp_path):
    # execute
    (rec,), pipe = records(tmp_path, udp_exchange(dns_query(), dns_response()))
    # assert
    assert rec.dns is not None
    assert (rec.dns.rrname, rec.dns.rrtype, rec.dns.rcode) == ("www.example.com", "A", "NOERROR")
    assert [(a.rrtype, a.rdata) for a in rec.dns.answers] == [
        ("CNAME", "example.com"),
        ("A", "93.184.216.34"),
    ]
    assert pipe.counters()["l7_dns"] == 1
    assert decode(encode(rec)) == rec


def test_a_query_without_response_keeps_the_question(tmp_path):
    (rec,), _ = records(tmp_path, udp_exchange(dns_query("nope.example", qtype=28), None))
    assert rec.dns is not None and rec.dns.rrtype == "AAAA" and rec.dns.rcode is None


def test_nxdomain(tmp_path):
    (rec,), _ = records(tmp_path, udp_exchange(dns_query(), dns_response(rcode=3)))
    assert rec.dns is not None and rec.dns.rcode == "NXDOMAIN" and rec.dns.answers == []


def test_dns_over_tcp_split_over_segments(tmp_path):
    q, r = dns_query(), dns_response()
    q2, r2 = struct.pack("!H", len(q)) + q, struct.pack("!H", len(r)) + r
    (rec,), _ = records(tmp_path, tcp_session([q2[:7], q2[7:]], [r2], dport=53))
    assert rec.dns is not None and rec.dns.rcode == "NOERROR" and len(rec.dns.answers) == 2


def test_a_dns_pointer_loop_is_counted_not_followed(tmp_path):
    looped = struct.pack("!HHHHHH", 1, 0x0100, 1, 0, 0, 0) + b"\xc0\x0c" + bytes(4)
    (rec,), pipe = records(tmp_path, udp_exchange(looped, None))
    assert rec.dns is None and pipe.counters()["l7_skipped_dns_pointer_loop"] == 1


def test_an_http_request_gives_method_host_path_and_agent(tmp_path):
    (rec,), pipe = records(tmp_path, tcp_session([HTTP_REQUEST], [b"HTTP/1.1 200 OK\r\n\r\n"], 80))
    assert rec.http is not None
    assert (rec.http.http_method, rec.http.url, rec.http.protocol) == (
        "GET",
        "/index.html?q=1",
        "HTTP/1.1",
    )
    assert (rec.http.hostname, rec.http.http_user_agent) == ("example.com", "curl/8.5.0")
    assert pipe.counters()["l7_http"] == 1


def test_http_fields_are_truncated_and_control_characters_replaced(tmp_path):
    req = b"POST /" + b"a" * 3000 + b" HTTP/1.0\r\nUser-Agent: x\x1by\x7f\r\n\r\n"
    (rec,), _ = records(tmp_path, tcp_session([req[:1400], req[1400:2800], req[2800:]], [], 8080))
    assert rec.http is not None
    assert len(rec.http.url) == 256 and rec.http.http_user_agent == "x?y?"
    assert decode(encode(rec)) == rec


def test_ssh_banners_of_both_sides(tmp_path):
    frames = tcp_session([b"SSH-2.0-OpenSSH_9.6p1 Ubuntu-3\r\n"], [b"SSH-2.0-OpenSSH_8.9\r\n"], 22)
    (rec,), pipe = records(tmp_path, frames)
    assert rec.ssh is not None
    assert (rec.ssh.client, rec.ssh.server) == (
        "SSH-2.0-OpenSSH_9.6p1 Ubuntu-3",
        "SSH-2.0-OpenSSH_8.9",
    )
    assert pipe.counters()["l7_ssh"] == 1


def test_other_payloads_get_no_metadata_and_no_count(tmp_path):
    (rec,), pipe = records(tmp_path, tcp_session([b"\x00\x01binary stuff"], [b"more"], 9999))
    assert (rec.dns, rec.tls, rec.http, rec.ssh) == (None, None, None, None)
    assert not any(k.startswith("l7_") for k in pipe.counters())


def test_a_headers_only_capture_is_counted_once_per_flow_and_costs_no_tap(tmp_path):
    # prepare: frames that say they carry 300 payload bytes but captured none (snaplen)
    frames = [
        (*f[:1], f[1][:54], *f[2:]) for f in tcp_session([HTTP_REQUEST, HTTP_REQUEST], [], 80)
    ]
    # execute
    (rec,), pipe = records(tmp_path, frames)
    # assert
    assert rec.http is None
    assert pipe.counters()["l7_skipped_payload_not_captured"] == 1
