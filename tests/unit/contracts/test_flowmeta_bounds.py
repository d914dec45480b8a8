"""The flow record's Community ID and L7 metadata: valid values pass the wire, anything
unbounded or out of form is refused (a hostile sensor sends what it likes)."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from contracts import AnomalyEvent, decode, encode
from contracts.flowmeta import DnsAnswer, DnsMeta, HttpMeta, SshMeta, TlsMeta
from tests.unit.contracts.samples import flow

CID = "1:LQU9qZlK+B5F3KDmev6m5PMibrg="
JA4 = "t13d1516h2_8daaf6152771_e5627efa2ab1"


def _tls(**kw: Any) -> dict[str, Any]:
    return {"sni": "www.example.com", "version": "TLS 1.3", "alpn": ["h2"], "ja4": JA4, **kw}


def test_a_flow_with_every_new_field_crosses_the_wire():
    # prepare
    rec = flow(
        community_id=CID,
        tls=TlsMeta(**_tls()),
        dns=DnsMeta(rrname="example.com", rrtype="A", rcode="NOERROR",
                    answers=[DnsAnswer(rrtype="A", rdata="93.184.216.34")]),
        http=HttpMeta(http_method="GET", url="/", protocol="HTTP/1.1", hostname="example.com"),
        ssh=SshMeta(client="SSH-2.0-OpenSSH_9.6", server=None),
    )  # fmt: skip
    # execute / assert
    assert decode(encode(rec)) == rec


def test_alpn_characters_keep_their_case_in_ja4():
    assert TlsMeta(**_tls(ja4="t13d1516H2_8daaf6152771_e5627efa2ab1")).ja4[8:10] == "H2"


def test_an_anomaly_carries_the_flows_community_id():
    ev = AnomalyEvent(node_id="pi-1", detector="rules", score=1, threshold=0.5, community_id=CID)
    assert decode(encode(ev)) == ev


@pytest.mark.parametrize(
    "bad",
    [
        {"community_id": "1:short"},
        {"community_id": "2:LQU9qZlK+B5F3KDmev6m5PMibrg="},
        {"tls": _tls(ja4="t13d1516h2_8daaf6152771")},
        {"tls": _tls(sni="a" * 254)},
        {"tls": _tls(sni="evil\nname")},
        {"tls": _tls(version="TLS 9")},
        {"tls": _tls(alpn=["h2"] * 9)},
        {
            "dns": {
                "rrname": "x",
                "rrtype": "A",
                "answers": [{"rrtype": "A", "rdata": "1.1.1.1"}] * 9,
            }
        },
        {"dns": {"rrname": "x", "rrtype": "A", "answers": [{"rrtype": "MX", "rdata": "m"}]}},
        {"dns": {"rrname": "x", "rrtype": "a lower"}},
        {"http": {"http_method": "GET", "url": "/" * 257, "protocol": "HTTP/1.1"}},
        {"http": {"http_method": "get", "url": "/", "protocol": "HTTP/1.1"}},
        {"http": {"http_method": "GET", "url": "/", "protocol": "HTTP/2"}},
        {"ssh": {"client": "SSH-2.0-" + "x" * 250}},
        {"ssh": {"server": "SSH-2.0-\x00"}},
        {"tls": _tls(extra="field")},
    ],
)
def test_out_of_bounds_metadata_is_refused(bad):
    with pytest.raises(ValidationError):
        flow(**bad)
