"""Incidents with ATT&CK techniques, flow metadata and an IOC hit, and an inventory asset,
written into a running demo's store, and a threat-intel status file: the dashboard's incident
view, its actions, the Suppressions, Inventory and Threat-intel pages have them to show (the
simulated scenario has no TLS, DNS, DHCP, SSDP or threat-intel hits)."""

from __future__ import annotations

import time
from pathlib import Path

from contracts.events import AlertEvent, AnomalyEvent, AssetRecord, AssetService, EventBase
from contracts.flowmeta import DnsMeta, TlsMeta
from tests.unit.contracts.samples import flow

IOC_KEY = "botnet:attacker:203.0.113.7"
FP_KEY = "bruteforce:attacker:198.51.100.9"
READ_KEY = "scan:attacker:198.51.100.77"
CID = "1:" + "A" * 27 + "="
JA4 = "t13d1516h2_8daaf6152771_b0da82dd1658"
ASSET_MAC = "b8:27:eb:12:34:56"
INTEL_SOURCE = "feed-1"
"""The source the IOC hit's evidence names (its hit count shows on the Threat-intel page)."""


def soc_events() -> list[EventBase]:
    tls = flow(
        "sensor-1", flow_id="soc-tls", src_ip="10.0.0.21", dst_ip="203.0.113.7", dst_port=443,
        community_id=CID, tls=TlsMeta(sni="c2.bad.example", version="TLS 1.3", ja4=JA4),
        dns=DnsMeta(rrname="c2.bad.example", rrtype="A"),
    )  # fmt: skip
    hit = AnomalyEvent(
        node_id="sensor-1", detector="ioc", rule_id="ioc-sni", score=1.0, threshold=1.0,
        severity="high", src_ip="10.0.0.21", dst_ip="203.0.113.7", dst_port=443,
        community_id=CID, family="botnet", evidence={"indicator": "c2.bad.example", "source": "feed-1"},
    )  # fmt: skip
    ioc = AlertEvent(
        node_id="hub", incident_key=IOC_KEY, severity="high", title="C2 traffic to 203.0.113.7",
        family="botnet", count=4, attackers=["203.0.113.7"], targets=["10.0.0.21"],
        hosts=["203.0.113.7", "10.0.0.21"], detectors=["ioc"], rule_ids=["ioc-sni"],
        nodes=["sensor-1"], techniques=["T1071", "T1583.005"], related_ids=[hit.event_id],
    )  # fmt: skip
    brute = AlertEvent(
        node_id="hub", incident_key=FP_KEY, severity="medium", title="SSH brute force",
        family="bruteforce", count=12, attackers=["198.51.100.9"], targets=["10.0.0.22"],
        hosts=["198.51.100.9", "10.0.0.22"], detectors=["rules"], rule_ids=["ssh_bruteforce"],
        nodes=["sensor-2"], techniques=["T1110"],
    )  # fmt: skip
    scan = AlertEvent(
        node_id="hub", incident_key=READ_KEY, severity="medium", title="Port scan",
        family="scan", count=3, attackers=["198.51.100.77"], targets=["10.0.0.23"],
        detectors=["rules"], rule_ids=["port_scan_horizontal"], nodes=["sensor-3"],
        techniques=["T1046"],
    )  # fmt: skip
    printer = AssetRecord(
        node_id="sensor-1", mac=ASSET_MAC, vendor="Raspberry Pi Trading Ltd", ips=["10.0.0.31"],
        hostname="printer-2", vendor_class="android-dhcp-14", dhcp_prl=[1, 3, 6, 15, 26, 28],
        mdns_names=["printer-2.local"], ssdp_server="Linux/5.4 UPnP/1.0 MiniUPnPd/2.2",
        ssdp_usn=["uuid:0a1b::upnp:rootdevice"], first_seen=time.time() - 600, last_seen=time.time(),
        services=[AssetService(proto="tcp", port=631), AssetService(proto="udp", port=5353)],
    )  # fmt: skip
    return [tls, hit, ioc, brute, scan, printer]


def write_intel(root: Path) -> Path:
    """A threat-intel status file as ``hub.intel`` writes it (3 indicators, 1 source)."""
    from hub.intel.common import FeedDefaults
    from hub.intel.feeds import import_feeds
    from hub.intel.store import status_path

    root.mkdir(parents=True, exist_ok=True)
    (root / "feed.txt").write_text("203.0.113.7\n198.51.100.99\nc2.bad.example\n")
    bundle = root / "bundle.json"
    import_feeds([root / "feed.txt"], FeedDefaults(source=INTEL_SOURCE, now=time.time()), bundle)
    return status_path(bundle)


def seed_soc(db_url: str) -> None:
    from hub.storage import EventStore

    store = EventStore(db_url)
    try:
        store.insert_events(soc_events())
    finally:
        store.engine.dispose()
