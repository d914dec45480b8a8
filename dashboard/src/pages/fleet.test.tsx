import { describe, expect, it } from "vitest";
import type { NodeItem } from "../api/types";
import { renderWith } from "../test/render";
import { FleetPage } from "./Fleet";

const node = (id: string, baseline: NodeItem["baseline"], progress: number | null): NodeItem => ({
  node_id: id,
  online: true,
  last_seen: "2026-01-01T00:00:00Z",
  packets_per_s: 1,
  flows_total: 10,
  anomalies_total: 0,
  outbox_depth: 0,
  model_version: null,
  drops: {},
  agent_version: "0.1.0",
  reason: "heartbeat",
  baseline,
  baseline_progress: progress,
});

describe("Fleet page baseline column", () => {
  it("shows a sensor still learning its network with its progress, and a ready one", () => {
    const html = renderWith(<FleetPage />, [
      ["nodes", "/nodes", {}, { items: [node("pi-new", "learning", 0.42), node("pi-old", "ready", 1)] }],
      ["models", "/models", {}, { items: [] }],
    ]);
    expect(html).toMatch(/data-testid="baseline-pi-new"[^>]*>.*learning.*42.*%/s);
    expect(html).toMatch(/data-testid="baseline-pi-old"[^>]*>.*ready/s);
  });
});
