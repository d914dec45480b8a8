"""The inventory's payload parsers (DHCP, mDNS, SSDP) on messages built by hand."""

from __future__ import annotations

import socket

import pytest

from edge_agent.capture.l7.text import Malformed
from edge_agent.inventory import dhcp, mdns, ssdp
from tests.unit.edge_agent.inventory_frames import (
    PI_MAC,
    PRL,
    SSDP_NOTIFY,
    SSDP_SEARCH,
    dhcp_request,
    dns_name,
    mdns_announcement,
    rr,
)
from tests.unit.edge_agent.inventory_frames import dhcp as dhcp_msg
from tests.unit.edge_agent.inventory_frames import mdns as mdns_msg


def test_dhcp_request_gives_the_client_its_name_class_fingerprint_and_address():
    msg = dhcp_request(hostname=b"black-pearl\x00", requested="192.168.2.16")

    info = dhcp.parse(msg)

    assert info.op == dhcp.BOOTREQUEST
    assert info.mac == PI_MAC
    assert info.msg_type == 3
    assert info.hostname == "black-pearl"  # a trailing NUL (some clients send one) dropped
    assert info.vendor_class == "dhcpcd-9.4.1:Linux-6.1"
    assert info.prl == tuple(PRL)
    assert info.ip == socket.inet_aton("192.168.2.16")


def test_dhcp_ack_gives_the_assigned_address_but_none_of_the_servers_options():
    msg = dhcp_msg(op=2, yiaddr="192.168.2.16", options=[(53, b"\x05"), (12, b"the-server")])

    info = dhcp.parse(msg)

    assert info.ip == socket.inet_aton("192.168.2.16")
    assert info.hostname is None


def test_dhcp_control_characters_in_a_host_name_are_neutralised():
    info = dhcp.parse(dhcp_msg(options=[(12, b"evil\x1b[31m\nname")]))

    assert info.hostname is not None
    assert info.hostname.isprintable()


@pytest.mark.parametrize(
    ("msg", "reason"),
    [
        (b"\x01" * 100, "dhcp_truncated"),
        (dhcp_msg()[:236] + b"XXXX\xff", "dhcp_no_cookie"),
        (b"\x03" + dhcp_msg()[1:], "dhcp_not_ethernet"),
        (dhcp_msg()[:240] + b"\x0c\x20abc", "dhcp_truncated"),  # an option longer than the rest
    ],
)
def test_dhcp_malformed_messages_are_refused_by_reason(msg, reason):
    with pytest.raises(Malformed) as exc:
        dhcp.parse(msg)
    assert exc.value.reason == reason


def test_mdns_announcement_names_host_and_service_instance_but_not_service_types():
    names = mdns.parse(mdns_announcement())

    assert names == [
        "black-pearl [b8:27:eb:c7:e9:c9]._workstation._tcp.local",
        "black-pearl.local",
    ]


def test_mdns_query_questions_are_not_names_but_a_probes_authority_records_are():
    lookup = mdns_msg([], questions=("printer.local",), response=False)
    probe = mdns_msg(
        [],
        questions=("black-pearl.local",),
        response=False,
        authority=(rr("black-pearl.local", 1, socket.inet_aton("192.168.2.16")),),
    )

    assert mdns.parse(lookup) == []
    assert mdns.parse(probe) == ["black-pearl.local"]


def test_mdns_names_per_message_are_bounded():
    msg = mdns_msg([rr(f"h{i}.local", 1, bytes(4)) for i in range(40)])

    assert len(mdns.parse(msg)) == mdns.MAX_NAMES


def test_mdns_pointer_loop_is_refused():
    head = bytes(4) + b"\x00\x01" + bytes(6)  # one question
    msg = head + b"\xc0\x0c" + b"\x00\x01\x00\x01"  # its name points at itself

    with pytest.raises(Malformed) as exc:
        mdns.parse(msg)
    assert exc.value.reason == "dns_pointer_loop"


def test_mdns_truncated_record_is_refused():
    msg = mdns_msg([rr("a.local", 1, bytes(4))])

    with pytest.raises(Malformed):
        mdns.parse(msg[:-2])


def test_ssdp_notify_gives_server_and_usn_a_search_describes_nothing():
    notify = ssdp.parse(SSDP_NOTIFY)
    search = ssdp.parse(SSDP_SEARCH)

    assert notify.announce
    assert notify.server == "Linux/5.4 UPnP/1.1 MiniUPnPd/2.2.1"
    assert notify.usn == "uuid:8a1c2e5b-0000-1000-8000-001c7f53d028::upnp:rootdevice"
    assert not search.announce


def test_ssdp_other_payloads_are_refused():
    with pytest.raises(Malformed) as exc:
        ssdp.parse(b"GET / HTTP/1.1\r\n\r\n")
    assert exc.value.reason == "ssdp_not_ssdp"


def test_ssdp_header_values_are_bounded():
    info = ssdp.parse(b"NOTIFY * HTTP/1.1\r\nSERVER: " + b"x" * 5000 + b"\r\n")

    assert info.server is not None
    assert len(info.server) <= ssdp.MAX_TEXT


def test_dns_name_helper_round_trips():  # the fixture itself, so the tests above mean something
    assert dns_name("a.local") == b"\x01a\x05local\x00"
