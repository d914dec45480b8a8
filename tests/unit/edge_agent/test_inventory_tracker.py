"""The asset tracker: what makes an asset, when it is published (change detection and the
rate limit), its bounds, and the pipeline carrying it."""

from __future__ import annotations

from contracts.codec import decode, encode
from contracts.events import MAX_ASSET_IPS, AssetRecord, FlowRecord
from contracts.features import FEATURE_INDEX, FLOW_FEATURES
from edge_agent.capture.frames import addr, arp_frame, mac, tcp_frame
from edge_agent.capture.packet import ACK, LT_ETHERNET, SYN, ArpPacket, Packet, ParseStats
from edge_agent.capture.packet import parse_frame as _parse
from edge_agent.inventory import AssetTracker, InventoryConfig
from edge_agent.pipeline import Pipeline
from tests.unit.contracts.samples import flow
from tests.unit.edge_agent.inventory_frames import (
    MDNS_MAC,
    PI_MAC,
    SSDP_NOTIFY,
    dhcp_request,
    mdns_announcement,
    udp_packet,
)

GW_MAC = mac("00:1c:7f:53:d0:28")


def parse(frame: tuple) -> Packet | ArpPacket:
    ts, data, wirelen, _label = frame
    pkt = _parse(data, LT_ETHERNET, ts, wirelen, ParseStats())
    assert pkt is not None
    return pkt


def dhcp_pkt(ts: float = 1000.0, **kw: object) -> Packet:
    return udp_packet(PI_MAC, "0.0.0.0", "255.255.255.255", 68, 67, dhcp_request(**kw), ts=ts)  # type: ignore[arg-type]


def arp(ts: float, sender: bytes, ip: str) -> ArpPacket:
    pkt = parse(arp_frame(ts, 1, sender, addr(ip), addr("192.168.2.1")))
    assert isinstance(pkt, ArpPacket)
    return pkt


def test_a_dhcp_request_makes_a_new_asset_published_at_once():
    inv = AssetTracker("pi-1")

    inv.on_packet(dhcp_pkt())
    out = inv.on_tick(1000.0)

    assert len(out) == 1
    rec = out[0]
    assert rec.mac == "b8:27:eb:c7:e9:c9"
    assert rec.hostname == "black-pearl"
    assert rec.vendor_class == "dhcpcd-9.4.1:Linux-6.1"
    assert rec.dhcp_prl == [1, 121, 3, 6, 15, 119, 252]
    assert rec.ips == ["192.168.2.16"]
    assert "new" in rec.changes
    assert decode(encode(rec)) == rec  # valid on the wire


def test_nothing_new_means_nothing_published():
    inv = AssetTracker("pi-1")
    inv.on_packet(dhcp_pkt(1000.0))
    inv.on_tick(1000.0)

    inv.on_packet(dhcp_pkt(1005.0))  # the same request again (a retry)
    inv.on_arp(arp(1006.0, PI_MAC, "192.168.2.16"))

    assert inv.on_tick(1010.0) == []


def test_changes_are_rate_limited_per_asset_then_published_together():
    inv = AssetTracker("pi-1", InventoryConfig(min_interval_s=60.0))
    inv.on_packet(dhcp_pkt(1000.0))
    inv.on_tick(1000.0)

    inv.on_arp(arp(1010.0, PI_MAC, "192.168.2.17"))
    held = inv.on_tick(1010.0)
    inv.on_packet(
        udp_packet(
            PI_MAC, "192.168.2.17", "224.0.0.251", 5353, 5353, mdns_announcement(), MDNS_MAC, 1020.0
        )
    )
    due = inv.on_tick(1060.0)

    assert held == []
    assert len(due) == 1
    assert due[0].changes == ["ip", "name"]
    assert due[0].ips == ["192.168.2.16", "192.168.2.17"]
    assert "black-pearl.local" in due[0].mdns_names


def test_a_new_asset_is_not_held_by_another_assets_rate_limit():
    inv = AssetTracker("pi-1")
    inv.on_packet(dhcp_pkt(1000.0))
    inv.on_tick(1000.0)

    inv.on_arp(arp(1001.0, GW_MAC, "192.168.2.1"))
    out = inv.on_tick(1001.0)

    assert [r.mac for r in out] == ["00:1c:7f:53:d0:28"]


def test_an_unchanged_asset_seen_again_is_refreshed_after_refresh_s():
    inv = AssetTracker("pi-1", InventoryConfig(refresh_s=600.0))
    inv.on_arp(arp(1000.0, GW_MAC, "192.168.2.1"))
    inv.on_tick(1000.0)

    inv.on_arp(arp(1500.0, GW_MAC, "192.168.2.1"))
    early = inv.on_tick(1500.0)
    inv.on_arp(arp(1700.0, GW_MAC, "192.168.2.1"))
    late = inv.on_tick(1700.0)

    assert early == []
    assert [(r.changes, r.last_seen) for r in late] == [([], 1700.0)]


def test_ips_per_asset_and_assets_are_bounded():
    inv = AssetTracker("pi-1", InventoryConfig(max_assets=8))
    for i in range(40):
        inv.on_arp(arp(1000.0 + i, GW_MAC, f"192.168.2.{i + 1}"))
    for i in range(20):
        inv.on_arp(arp(2000.0 + i, mac(f"02:00:00:00:01:{i:02x}"), f"10.0.0.{i + 1}"))

    gw = inv.assets.get(GW_MAC)
    assert len(inv.assets) == 8
    assert gw is None  # the least recently seen went first
    assert inv.skipped["assets_evicted"] == 13
    one = next(iter(inv.assets.values()))
    assert len(one.record("pi-1").ips) <= MAX_ASSET_IPS


def test_the_newest_ips_are_kept():
    inv = AssetTracker("pi-1")
    for i in range(40):
        inv.on_arp(arp(1000.0 + i, GW_MAC, f"192.168.2.{i + 1}"))

    rec = inv.flush(2000.0)[0]

    assert rec.ips == [f"192.168.2.{i + 1}" for i in range(40 - MAX_ASSET_IPS, 40)]


def test_mdns_and_ssdp_senders_are_bound_to_their_frames_mac():
    inv = AssetTracker("pi-1")

    inv.on_packet(
        udp_packet(PI_MAC, "192.168.2.16", "224.0.0.251", 5353, 5353, mdns_announcement(), MDNS_MAC)
    )
    inv.on_packet(udp_packet(GW_MAC, "192.168.2.1", "239.255.255.250", 1900, 1900, SSDP_NOTIFY))
    recs = {r.mac: r for r in inv.on_tick(1000.0)}

    pi, gw = recs["b8:27:eb:c7:e9:c9"], recs["00:1c:7f:53:d0:28"]
    assert pi.vendor == "Raspberry Pi Foundation" or pi.vendor is None  # with / without netaddr
    assert pi.mdns_names[-1] == "black-pearl.local"
    assert pi.ips == ["192.168.2.16"]
    assert gw.ssdp_server == "Linux/5.4 UPnP/1.1 MiniUPnPd/2.2.1"
    assert gw.ssdp_usn == ["uuid:8a1c2e5b-0000-1000-8000-001c7f53d028::upnp:rootdevice"]


def test_malformed_payloads_are_counted_and_skipped():
    inv = AssetTracker("pi-1")

    inv.on_packet(udp_packet(PI_MAC, "0.0.0.0", "255.255.255.255", 68, 67, b"\x01" * 50))
    inv.on_packet(udp_packet(PI_MAC, "192.168.2.16", "224.0.0.251", 5353, 5353, b"\x00" * 5))
    inv.on_packet(udp_packet(PI_MAC, "192.168.2.16", "239.255.255.250", 1900, 1900, b"junk"))

    assert inv.assets == {}
    assert inv.counters() == {
        "inventory_assets": 0,
        "inventory_published": 0,
        "inventory_skipped_dhcp_truncated": 1,
        "inventory_skipped_mdns_truncated": 1,
        "inventory_skipped_ssdp_not_ssdp": 1,
    }


def _handshake(pipe: Pipeline, t: float, client: str, server: str, port: int) -> None:
    c, s = addr(client), addr(server)
    for frame in (
        tcp_frame(t, c, s, 40000, port, SYN),
        tcp_frame(t + 0.001, s, c, port, 40000, SYN | ACK),
        tcp_frame(t + 0.002, c, s, 40000, port, ACK),
    ):
        pipe.feed(parse(frame))


def test_pipeline_services_from_answered_handshakes_and_ip_assets_merge_into_the_mac():
    pipe = Pipeline("pi-1", inventory=AssetTracker("pi-1"))
    _handshake(pipe, 1000.0, "192.168.2.50", "192.168.2.16", 22)
    pipe.feed(parse(tcp_frame(1001.0, addr("192.168.2.50"), addr("192.168.2.16"), 40001, 23, SYN)))
    _handshake(pipe, 1002.0, "192.168.2.50", "93.184.216.34", 443)  # a public server: no asset
    pipe.feed(parse(arp_frame(1003.0, 2, PI_MAC, addr("192.168.2.16"), addr("192.168.2.50"))))

    out = [e for e in pipe.close() if isinstance(e, AssetRecord)]
    by_key = {r.mac or r.ip: r for r in out}

    assert set(by_key) == {"b8:27:eb:c7:e9:c9", "192.168.2.50"}
    pi = by_key["b8:27:eb:c7:e9:c9"]
    assert [(s.proto, s.port) for s in pi.services] == [("tcp", 22)]  # 23 never answered
    assert pi.first_seen == 1000.002  # the IP-keyed asset's history came along
    assert pipe.counters()["inventory_assets"] == 2


def test_pipeline_without_inventory_publishes_no_assets():
    pipe = Pipeline("pi-1")
    pipe.feed(dhcp_pkt())

    assert not [e for e in pipe.close() if isinstance(e, AssetRecord)]


def _answered(**kw: object) -> FlowRecord:
    f = [0.0] * len(FLOW_FEATURES)
    f[FEATURE_INDEX["fwd_packets"]] = f[FEATURE_INDEX["bwd_packets"]] = 3
    f[FEATURE_INDEX["syn_count"]] = 2
    base = {"src_ip": "192.168.2.50", "dst_ip": "192.168.2.16", "dst_port": 8080}
    return flow(features=f, start_ts=900.0, end_ts=950.0, **(base | kw))


def test_an_ip_keyed_asset_folds_into_the_mac_that_claims_its_ip():
    inv = AssetTracker("pi-1")
    inv.on_flow(_answered())
    before = {r.ip for r in inv.on_tick(950.0)}

    inv.on_arp(arp(1000.0, PI_MAC, "192.168.2.16"))
    after = inv.on_tick(1000.0)

    assert before == {"192.168.2.16", "192.168.2.50"}
    assert "192.168.2.16" not in inv.assets
    assert len(after) == 1
    assert after[0].mac == "b8:27:eb:c7:e9:c9"
    assert [(s.proto, s.port) for s in after[0].services] == [("tcp", 8080)]
    assert after[0].first_seen == 950.0


def test_flows_to_public_or_multicast_addresses_make_no_asset_unless_asked():
    local = AssetTracker("pi-1")
    anywhere = AssetTracker("pi-1", InventoryConfig(local_only=False))
    for inv in (local, anywhere):
        inv.on_flow(_answered(src_ip="224.0.0.251", dst_ip="93.184.216.34", dst_port=443))

    assert local.assets == {}
    assert list(anywhere.assets) == ["93.184.216.34"]


def test_which_addresses_seen_in_flows_may_be_assets():
    from edge_agent.inventory.tracker import _assetable

    local = ["10.1.2.3", "172.16.0.9", "172.31.255.1", "192.168.1.7", "169.254.3.4", "fe80::1"]
    local += ["fd00::5"]
    never = ["0.0.0.0", "127.0.0.1", "224.0.0.251", "192.168.1.255", "ff02::fb", "::1", "x.y"]
    public = ["172.15.0.1", "172.32.0.1", "8.8.8.8", "2606:4700::1111"]

    assert all(_assetable(ip, True) for ip in local)
    assert not any(_assetable(ip, False) for ip in never)
    assert not any(_assetable(ip, True) for ip in public)
    assert all(_assetable(ip, False) for ip in public)


def test_a_spoofed_syn_flood_makes_no_assets():
    f = [0.0] * len(FLOW_FEATURES)
    f[FEATURE_INDEX["fwd_packets"]] = 1  # the spoofed SYN
    f[FEATURE_INDEX["bwd_packets"]] = 1  # the victim's SYN-ACK, to nobody
    f[FEATURE_INDEX["syn_count"]] = 2
    inv = AssetTracker("pi-1")

    for i in range(500):
        inv.on_flow(flow(features=f, src_ip=f"10.{i // 250}.{i % 250}.9", dst_ip="8.8.8.8"))

    assert inv.assets == {}


def test_publications_per_tick_are_capped_and_the_rest_follow():
    inv = AssetTracker("pi-1", InventoryConfig(max_per_tick=10))
    for i in range(25):
        inv.on_arp(arp(1000.0, mac(f"02:00:00:00:02:{i:02x}"), f"10.0.0.{i + 1}"))

    sizes = [len(inv.on_tick(1000.0 + t)) for t in range(4)]

    assert sizes == [10, 10, 5, 0]
    assert inv.skipped["publish_deferred"] == 2
