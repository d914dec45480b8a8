"""The AssetRecord contract: one key, bounded fields, and its topic."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from contracts.codec import decode, encode
from contracts.events import (
    MAX_ASSET_IPS,
    MAX_ASSET_NAMES,
    MAX_ASSET_SERVICES,
    MAX_DHCP_PRL,
    AssetRecord,
    AssetService,
)
from contracts.topics import (
    KafkaTopic,
    MqttKind,
    kafka_topic_for,
    parse_mqtt_topic,
    topic_for_event_kind,
)

BASE = {"node_id": "pi-1", "mac": "b8:27:eb:c7:e9:c9", "first_seen": 10.0, "last_seen": 20.0}


def test_a_full_record_round_trips():
    rec = AssetRecord(
        **BASE,
        vendor="Raspberry Pi Foundation",
        ips=["192.168.2.16", "fe80::ba27:ebff:fec7:e9c9"],
        hostname="black-pearl",
        vendor_class="dhcpcd-9.4.1",
        dhcp_prl=[1, 121, 3, 6],
        mdns_names=["black-pearl.local"],
        ssdp_server="Linux UPnP/1.0",
        ssdp_usn=["uuid:1"],
        services=[AssetService(proto="tcp", port=22)],
        changes=["new"],
    )

    assert decode(encode(rec)) == rec


@pytest.mark.parametrize(
    "kw",
    [
        {"mac": None},  # no key
        {"ip": "192.168.2.16"},  # two keys
        {"mac": "B8:27:EB:C7:E9:C9"},  # upper case
        {"mac": "b8-27-eb-c7-e9-c9"},
        {"last_seen": 5.0},  # before first_seen
        {"first_seen": 5e9, "last_seen": 5e9},  # past 2100
        {"ips": ["10.0.0.1"] * (MAX_ASSET_IPS + 1)},
        {"mdns_names": ["a.local"] * (MAX_ASSET_NAMES + 1)},
        {"mdns_names": [""]},
        {"hostname": "evil\nname"},
        {"vendor": "x" * 201},
        {"dhcp_prl": [256]},
        {"dhcp_prl": [1] * (MAX_DHCP_PRL + 1)},
        {"services": [AssetService(proto="tcp", port=1)] * (MAX_ASSET_SERVICES + 1)},
        {"changes": ["moved"]},
    ],
)
def test_out_of_bounds_records_are_refused(kw):
    with pytest.raises(ValidationError):
        AssetRecord(**(BASE | kw))


def test_an_ip_keyed_record_is_valid():
    rec = AssetRecord(**(BASE | {"mac": None, "ip": "192.168.2.16"}))

    assert rec.ip == "192.168.2.16"


def test_assets_have_their_own_mqtt_kind_and_kafka_topic():
    node, kind = parse_mqtt_topic("fednids/v1/pi-1/assets")

    assert (node, kind) == ("pi-1", MqttKind.ASSETS)
    assert kafka_topic_for(kind) is KafkaTopic.ASSETS
    assert topic_for_event_kind("asset") is KafkaTopic.ASSETS
    assert KafkaTopic.ASSETS.value == "assets"
