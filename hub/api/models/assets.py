"""The device inventory's answers: one merged asset per (node, MAC or IP)."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from contracts.events import (
    MAX_ASSET_IPS,
    MAX_ASSET_NAMES,
    MAX_ASSET_SERVICES,
    MAX_DHCP_PRL,
    AssetName,
    AssetService,
    EpochS,
    HostAddr,
    MacAddr,
    NodeId,
    ShortText,
)
from hub.api.models.base import ApiModel
from hub.api.models.events import NextCursor


class AssetItem(ApiModel):
    """What every report of one sensor about one device added up to (``hub.storage.assets``)."""

    node_id: NodeId
    mac: MacAddr | None
    ip: HostAddr | None
    """The key of an asset seen without a MAC (routed / L3-only captures)."""
    vendor: ShortText | None
    ips: Annotated[list[HostAddr], Field(max_length=MAX_ASSET_IPS)]
    hostname: AssetName | None
    vendor_class: ShortText | None
    dhcp_prl: Annotated[list[int], Field(max_length=MAX_DHCP_PRL)]
    mdns_names: Annotated[list[AssetName], Field(max_length=MAX_ASSET_NAMES)]
    ssdp_server: ShortText | None
    ssdp_usn: Annotated[list[ShortText], Field(max_length=MAX_ASSET_NAMES)]
    services: Annotated[list[AssetService], Field(max_length=MAX_ASSET_SERVICES)]
    first_seen: EpochS
    last_seen: EpochS
    """Capture time (epoch seconds) of the first and the latest sighting."""


class AssetPage(ApiModel):
    items: list[AssetItem]
    next_cursor: NextCursor
