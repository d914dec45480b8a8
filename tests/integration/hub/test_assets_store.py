"""The device inventory in the store: one suite for SQLite and the real PostgreSQL."""

from __future__ import annotations

from contracts.events import MAX_ASSET_IPS, AssetRecord, AssetService

MAC = "b8:27:eb:c7:e9:c9"


def asset(**kw) -> AssetRecord:
    base = {"node_id": "pi-1", "mac": MAC, "first_seen": 100.0, "last_seen": 100.0}
    return AssetRecord(**(base | kw))


def test_reports_of_one_device_merge_into_one_row(store):
    first = asset(
        vendor="Raspberry Pi Foundation",
        ips=["192.168.2.16"],
        hostname="black-pearl",
        services=[AssetService(proto="tcp", port=22)],
        changes=["new"],
    )
    later = asset(
        first_seen=150.0,
        last_seen=200.0,
        ips=["fe80::1"],
        mdns_names=["black-pearl.local"],
        services=[AssetService(proto="udp", port=5353), AssetService(proto="tcp", port=22)],
        changes=["ip", "name"],
    )

    store.insert_events([first])
    store.insert_events([later])
    items, nxt = store.list_assets()

    assert nxt is None
    assert len(items) == 1
    item = items[0]
    assert item["first_seen"] == 100.0  # kept
    assert item["last_seen"] == 200.0  # moved on
    assert item["ips"] == ["192.168.2.16", "fe80::1"]
    assert item["hostname"] == "black-pearl"  # the later report had none: kept
    assert item["mdns_names"] == ["black-pearl.local"]
    assert [(s["proto"], s["port"]) for s in item["services"]] == [("tcp", 22), ("udp", 5353)]


def test_a_replayed_report_changes_nothing_and_merged_lists_stay_bounded(store):
    ev = asset(ips=[f"10.0.0.{i}" for i in range(MAX_ASSET_IPS)])
    more = asset(last_seen=300.0, ips=[f"10.0.1.{i}" for i in range(MAX_ASSET_IPS)])

    store.insert_events([ev])
    store.insert_events([ev])  # at-least-once upstream: the same event_id again
    once = store.list_assets()[0][0]
    store.insert_events([more])
    merged = store.list_assets()[0][0]

    assert once["ips"] == ev.ips
    assert merged["ips"] == more.ips  # the newest kept, within the contract's bound


def test_filters_and_pagination(store):
    evs = [
        asset(mac=f"00:1c:7f:00:00:{i:02x}", vendor="Check Point", last_seen=100.0 + i)
        for i in range(7)
    ]
    evs += [
        asset(
            node_id="pi-2",
            mac=None,
            ip="192.168.1.80",
            hostname="nas_1",
            first_seen=50.0,
            last_seen=50.0,
        ),
        asset(mac="f4:cf:a2:eb:59:c4", vendor="Espressif Inc.", hostname="ESP-EB59C4"),
    ]
    store.insert_events(evs)

    walked, cursor = [], None
    while True:
        items, cursor = store.list_assets(vendor="check", limit=3, cursor=cursor)
        walked += items
        if cursor is None:
            break
    by_node = store.list_assets(node_id="pi-2")[0]
    by_q = store.list_assets(q="esp-eb")[0]
    wildcard = store.list_assets(q="nas%")[0]

    assert [i["mac"] for i in walked] == [e.mac for e in reversed(evs[:7])]
    assert [i["ip"] for i in by_node] == ["192.168.1.80"]
    assert [i["mac"] for i in by_q] == ["f4:cf:a2:eb:59:c4"]
    assert wildcard == []  # % is a character here, not a wildcard
    assert store.list_assets(q="nas_")[0][0]["hostname"] == "nas_1"
