"""One device as the sensor knows it: bounded lists, and what changed since it was published."""

from __future__ import annotations

from contracts.events import (
    MAX_ASSET_IPS,
    MAX_ASSET_NAMES,
    MAX_ASSET_SERVICES,
    AssetChange,
    AssetRecord,
    AssetService,
)

NEVER = -1.0


class Asset:
    """Keyed by ``mac`` (6 bytes) or, with no MAC, by ``ip``; capture times in epoch seconds."""

    __slots__ = (
        "changes",
        "first_seen",
        "hostname",
        "ip",
        "ips",
        "last_pub",
        "last_seen",
        "mac",
        "names",
        "prl",
        "services",
        "ssdp_server",
        "usn",
        "vendor",
        "vendor_class",
    )

    def __init__(self, mac: bytes | None, ip: str | None, vendor: str | None, ts: float) -> None:
        self.mac = mac
        self.ip = ip
        self.vendor = vendor
        self.ips: dict[str, None] = {}
        self.hostname: str | None = None
        self.vendor_class: str | None = None
        self.prl: tuple[int, ...] = ()
        self.names: list[str] = []
        self.ssdp_server: str | None = None
        self.usn: list[str] = []
        self.services: dict[tuple[str, int], None] = {}
        self.first_seen = self.last_seen = ts
        self.last_pub = NEVER
        self.changes: set[AssetChange] = {"new"}
        if ip is not None:
            self.ips[ip] = None

    def seen(self, ts: float) -> None:
        if ts > self.last_seen:
            self.last_seen = ts
        elif ts < self.first_seen:
            self.first_seen = ts

    def add_ip(self, ip: str) -> bool:
        if ip in self.ips:
            return False
        if len(self.ips) >= MAX_ASSET_IPS:  # the newest addresses are kept
            del self.ips[next(iter(self.ips))]
        self.ips[ip] = None
        self.changes.add("ip")
        return True

    def add_name(self, name: str) -> None:
        if name not in self.names and len(self.names) < MAX_ASSET_NAMES:
            self.names.append(name)
            self.changes.add("name")

    def add_usn(self, usn: str) -> None:
        if usn not in self.usn and len(self.usn) < MAX_ASSET_NAMES:
            self.usn.append(usn)
            self.changes.add("name")

    def add_service(self, proto: str, port: int) -> bool:
        """False when the list is full (the first services found are kept)."""
        key = (proto, port)
        if key in self.services:
            return True
        if len(self.services) >= MAX_ASSET_SERVICES:
            return False
        self.services[key] = None
        self.changes.add("service")
        return True

    def set(self, field: str, value: object, change: AssetChange) -> None:
        if value is not None and value != () and getattr(self, field) != value:
            setattr(self, field, value)
            self.changes.add(change)

    def merge(self, other: Asset) -> None:
        """Fold an IP-keyed asset into this MAC's (the IP turned out to belong to it)."""
        self.seen(other.first_seen)
        self.seen(other.last_seen)
        for ip in other.ips:
            self.add_ip(ip)
        for name in other.names:
            self.add_name(name)
        for usn in other.usn:
            self.add_usn(usn)
        for proto, port in other.services:
            self.add_service(proto, port)
        self.set("ssdp_server", other.ssdp_server, "name")

    def record(self, node_id: str) -> AssetRecord:
        changes = sorted(self.changes)
        return AssetRecord(
            node_id=node_id,
            mac=self.mac.hex(":") if self.mac is not None else None,
            ip=self.ip if self.mac is None else None,
            vendor=self.vendor,
            ips=list(self.ips),
            hostname=self.hostname,
            vendor_class=self.vendor_class,
            dhcp_prl=list(self.prl),
            mdns_names=list(self.names),
            ssdp_server=self.ssdp_server,
            ssdp_usn=list(self.usn),
            services=[AssetService(proto=p, port=n) for p, n in self.services],  # type: ignore[arg-type]
            first_seen=self.first_seen,
            last_seen=self.last_seen,
            changes=changes,
        )
