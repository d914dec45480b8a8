import { describe, expect, it } from "vitest";
import type { AssetItem } from "../api/types";
import { keysForTopic, LIVE_TOPICS } from "../live/invalidate";
import { renderWith } from "../test/render";
import { assetId, epochIso, InventoryPage } from "./Inventory";

const asset = (over: Partial<AssetItem> = {}): AssetItem => ({
  node_id: "sensor-1",
  mac: "b8:27:eb:12:34:56",
  ip: null,
  vendor: "Raspberry Pi Foundation",
  ips: ["10.0.0.31", "fe80::1"],
  hostname: "printer-2",
  vendor_class: "android-dhcp-14",
  dhcp_prl: [1, 3, 6, 15, 26, 28, 51, 58, 59],
  mdns_names: ["printer-2.local"],
  ssdp_server: "Linux/5.4 UPnP/1.0 MiniUPnPd/2.2",
  ssdp_usn: ["uuid:1234::upnp:rootdevice"],
  services: [
    { proto: "tcp", port: 631 },
    { proto: "udp", port: 5353 },
  ],
  first_seen: 1_700_000_000,
  last_seen: 1_700_000_100,
  ...over,
});
const KEY = ["assets", "/assets", { limit: 50 }] as const;

describe("Inventory page", () => {
  it("lists each device's addresses, names, SSDP server and services as chips", () => {
    const html = renderWith(<InventoryPage />, [[...KEY, { items: [asset()], next_cursor: null }]]);
    for (const want of ["b8:27:eb:12:34:56", "Raspberry Pi Foundation", "printer-2", "10.0.0.31, fe80::1", "printer-2.local", "MiniUPnPd/2.2"]) {
      expect(html).toContain(want);
    }
    expect(html).toContain(">tcp/631<");
    expect(html).toContain(">udp/5353<");
    expect(html).toContain('data-asset="sensor-1/b8:27:eb:12:34:56"');
    expect(html).toContain('data-testid="inventory-vendor"');
    expect(html).toContain('data-testid="inventory-q"');
  });
  it("keys a device seen without a MAC by its IP and names an unknown vendor", () => {
    const a = asset({ mac: null, ip: "192.0.2.8", vendor: null, services: [] });
    const html = renderWith(<InventoryPage />, [[...KEY, { items: [a], next_cursor: "c1" }]]);
    expect(assetId(a)).toBe("sensor-1/192.0.2.8");
    expect(html).toContain(">192.0.2.8<");
    expect(html).toContain("unknown");
    expect(html).toContain('<button type="button">Older →</button>'); // a next page
  });
  it("shows an empty state", () => {
    const html = renderWith(<InventoryPage />, [[...KEY, { items: [], next_cursor: null }]]);
    expect(html).toContain("No sensor has reported a device yet.");
  });
  it("refreshes on the live assets topic and turns epoch seconds into ISO times", () => {
    expect(LIVE_TOPICS).toContain("assets");
    expect(keysForTopic("assets")).toEqual(["assets"]);
    expect(epochIso(1_700_000_000)).toBe("2023-11-14T22:13:20.000Z");
  });
});
