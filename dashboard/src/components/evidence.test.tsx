import { afterEach, describe, expect, it, vi } from "vitest";
import { fetchBlob, isApiPath } from "../api/download";
import type { EvidenceStatus } from "../api/types";
import { renderWith, TOKEN } from "../test/render";
import { EvidencePanel, evidenceFlags, EvidenceRow } from "./Evidence";

const ev = (over: Partial<EvidenceStatus> = {}): EvidenceStatus => ({
  evidence_id: "0b6c1a52-0000-4000-8000-000000000001",
  node_id: "sensor-1",
  status: "ready",
  hosts: ["10.0.0.21"],
  t0: "2026-12-01T10:00:00Z",
  t1: "2026-12-01T10:05:00Z",
  incident_key: "scan:attacker:10.0.0.66",
  created_at: "2026-12-01T10:06:00Z",
  updated_at: "2026-12-01T10:06:01Z",
  frames: 120,
  size: 20480,
  sha256: null,
  oldest_ts: "2026-12-01T09:59:00Z",
  newest_ts: "2026-12-01T10:06:00Z",
  partial: false,
  truncated: false,
  reason: "",
  pcap_url: "/api/evidence/0b6c1a52-0000-4000-8000-000000000001/pcap",
  ...over,
});

afterEach(() => vi.unstubAllGlobals());

describe("Packet evidence", () => {
  it("offers the fetch button", () => {
    const html = renderWith(<EvidencePanel alertId="scan:attacker:10.0.0.66" />, []);
    expect(html).toContain('data-testid="fetch-packets"');
    expect(html).toContain("Fetch packets");
  });
  it("offers the pcap of a ready request with its size, and no download otherwise", () => {
    const ready = renderWith(<EvidenceRow first={ev()} />, []);
    expect(ready).toContain('data-status="ready"');
    expect(ready).toContain("120 frames, 20.0 KiB");
    expect(ready).toContain('data-testid="evidence-download"');
    const expired = renderWith(<EvidenceRow first={ev({ status: "expired", pcap_url: null, frames: 0 })} />, []);
    expect(expired).not.toContain('data-testid="evidence-download"');
    expect(expired).toContain("expired: oldest frame still held 2026-12-01 09:59:00");
  });
  it("shows the latest polled status of a pending request", () => {
    const first = ev({ status: "pending", pcap_url: null });
    const html = renderWith(<EvidenceRow first={first} />, [["evidence", `/evidence/${first.evidence_id}`, {}, ev({ truncated: true })]]);
    expect(html).toContain('data-status="ready"');
    expect(html).toContain("truncated: more frames matched");
  });
  it("names partial, truncated and failed requests", () => {
    expect(evidenceFlags(ev({ partial: true, truncated: true }))).toHaveLength(2);
    expect(evidenceFlags(ev({ status: "failed", reason: "node offline" }))).toEqual(["failed: node offline"]);
    expect(evidenceFlags(ev())).toEqual([]);
  });
  it("downloads with the bearer token and keeps the API's refusal", async () => {
    const calls: [string, RequestInit | undefined][] = [];
    vi.stubGlobal("fetch", async (url: string, init?: RequestInit) => {
      calls.push([url, init]);
      return url.endsWith("/pcap")
        ? new Response(new Uint8Array([0xd4, 0xc3, 0xb2, 0xa1]), { status: 200 })
        : new Response(JSON.stringify({ detail: "this needs an operator token" }), { status: 403 });
    });
    const blob = await fetchBlob(TOKEN, ev().pcap_url ?? "");
    expect(blob.size).toBe(4);
    expect((calls[0]?.[1]?.headers as Record<string, string> | undefined)?.Authorization).toBe(`Bearer ${TOKEN}`);
    await expect(fetchBlob(TOKEN, "/api/evidence/x")).rejects.toThrow("403 this needs an operator token");
  });
  it("fetches only same-origin API paths with the token", () => {
    expect(isApiPath("/api/evidence/abc/pcap")).toBe(true);
    expect(isApiPath("https://evil.example/api/x")).toBe(false);
    expect(isApiPath("//evil.example/api/x")).toBe(false);
    expect(isApiPath("/api/../x")).toBe(false);
  });
});
