import { describe, expect, it } from "vitest";
import type { AnomalyEvent, IntelStatus } from "../api/types";
import { renderWith } from "../test/render";
import { HIT_LIMIT, hitsBySource, IntelPage } from "./Intel";

const status: IntelStatus = {
  configured: true,
  error: null,
  version: 7,
  created_at: 1_700_000_000,
  expires_at: 1_702_592_000,
  count: 3,
  by_type: [
    { key: "ipv4", count: 2 },
    { key: "domain", count: 1 },
  ],
  sources: [
    { name: "feodo", imported_at: "2026-12-01T10:00:00+00:00", formats: ["plain"], parsed: 2, indicators: 2 },
    { name: "misp-circl", imported_at: "2026-12-01T11:00:00+00:00", formats: ["misp"], parsed: 1, indicators: 1 },
  ],
  dropped: [],
  published: { version: 7, at: "2026-12-01T11:05:00+00:00", parts: 1, size_bytes: 2048, key_id: "hub-key-1" },
};
const hit = (id: string, source: string) =>
  ({ event_id: id, node_id: "sensor-1", ts: "2026-12-01T11:10:00+00:00", detector: "ioc", rule_id: "ioc-ip", src_ip: "10.0.0.2", dst_ip: "198.51.100.7", evidence: { indicator: "198.51.100.7", source } }) as unknown as AnomalyEvent;

const data = (s: IntelStatus, hits: AnomalyEvent[]): [string, string, Record<string, unknown>, unknown][] => [
  ["intel", "/intel", {}, s],
  ["anomalies", "/anomalies", { detector: "ioc", limit: HIT_LIMIT }, { items: hits, next_cursor: null }],
];

describe("Threat-intel page", () => {
  it("lists sources with their counts, imports and hits, the types and the publication", () => {
    const html = renderWith(<IntelPage />, data(status, [hit("a", "feodo"), hit("b", "feodo")]));
    expect(html).toContain('data-source="feodo"');
    expect(html).toContain("2026-12-01 10:00:00+00:00");
    expect(html).toMatch(/data-testid="intel-source-hits">2</);
    expect(html).toMatch(/data-source="misp-circl".*?data-testid="intel-source-hits">0</);
    expect(html).toContain("ipv4");
    expect(html).toContain("Published to the fleet: v7");
    expect(html).toContain("indicator=198.51.100.7");
  });
  it("says when the hub has no intel status", () => {
    const empty = { ...status, configured: false, count: 0, by_type: [], sources: [], published: null, version: null };
    const html = renderWith(<IntelPage />, data(empty, []));
    expect(html).toContain("FEDNIDS_HUB_INTEL_STATUS");
    expect(html).toContain("No source imported yet.");
    expect(html).toContain("Not published to the fleet yet.");
  });
  it("counts hits per source, unnamed ones apart", () => {
    expect(hitsBySource([{ evidence: { source: "x" } }, { evidence: {} }, { evidence: { source: "x" } }] as AnomalyEvent[])).toEqual({ x: 2, "(unnamed)": 1 });
  });
});
