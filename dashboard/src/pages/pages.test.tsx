import { describe, expect, it } from "vitest";
import type { AlertItem, FLSummary, NodeItem } from "../api/types";
import { renderWith } from "../test/render";
import { AlertsPage } from "./Alerts";
import { FederatedPage } from "./Federated";
import { FleetPage } from "./Fleet";

const node = (id: string, online: boolean, reason: NodeItem["reason"]): NodeItem => ({
  node_id: id,
  online,
  last_seen: "2026-01-01T00:00:00Z",
  packets_per_s: 12.5,
  flows_total: 10,
  anomalies_total: 2,
  outbox_depth: 0,
  model_version: "lstm-ae-1",
  drops: { evicted_flows: 3 },
  agent_version: "0.1.0",
  reason,
  baseline: null,
  baseline_progress: null,
});

describe("Federated learning page", () => {
  it("shows an empty state until there are rounds", () => {
    const html = renderWith(<FederatedPage />, [["fl", "/fl/summary", {}, { rounds: [], nodes: [] } satisfies FLSummary]]);
    expect(html).toContain("No federated rounds yet");
    expect(html).not.toContain("Loss per round");
  });
  it("shows rounds, the loss curve and the budget per node", () => {
    const summary: FLSummary = {
      rounds: [
        { round: 1, loss: 0.5, participants: 3, samples: 900, duration_s: 2 },
        { round: 2, loss: 0.25, participants: 3, samples: 900, duration_s: 2 },
      ],
      nodes: [{ node_id: "sensor-1", epsilon: 2.8, delta: 1e-5, budget_epsilon: 3, budget_left: 0.2, model_version: "lstm-ae-2" }],
    };
    const html = renderWith(<FederatedPage />, [["fl", "/fl/summary", {}, summary]]);
    expect(html).toContain('aria-label="federated loss per round"');
    expect((html.match(/<circle/g) ?? []).length).toBe(2);
    expect(html).toContain("ε 2.80 / 3.00");
    expect(html).toContain("meter-fill bad"); // 93 % of the budget spent
  });
});

describe("Alerts page", () => {
  const alert = (id: string, status: AlertItem["status"]): AlertItem => ({
    schema_version: 1,
    event_id: "00000000-0000-0000-0000-000000000001",
    node_id: "hub",
    ts: "2026-01-01T00:00:00Z",
    kind: "alert",
    incident_key: id,
    alert_id: id,
    severity: "high",
    title: `Scanning — ${id}`,
    description: "",
    family: "scan",
    status,
    count: 14,
    first_seen: "2026-01-01T00:00:00Z",
    last_seen: "2026-01-01T00:00:00Z",
    hosts: ["10.0.0.1", "10.0.0.2", "10.0.0.3", "10.0.0.4", "10.0.0.5"],
    escalated: false,
    related_ids: [],
    event_first_ts: null,
    event_last_ts: null,
    acknowledged_by: status === "open" ? null : "operator",
    acknowledged_at: null,
    resolved_at: null,
  });
  it("offers acknowledge on open alerts and resolve until resolved", () => {
    const page = { items: [alert("scan:a", "open")], next_cursor: "c1" };
    const html = renderWith(<AlertsPage />, [["alerts", "/alerts", { status: "open", cursor: null, limit: 25 }, page]]);
    expect(html).toContain('data-alert-id="scan:a"');
    expect(html).toContain("Acknowledge");
    expect(html).toContain("Resolve");
    expect(html).toContain("+1"); // five hosts, four shown
  });
  it("shows who attacked whom, the detectors that agreed, the evidence and the event-time window", () => {
    const flood: AlertItem = {
      ...alert("other:to:10.10.10.10", "open"),
      family: "dos",
      severity: "critical",
      title: "SYN flood against 10.10.10.10 from 4,837 sources",
      description: "10,005 detection(s) by lstm, iforest, rules",
      attackers: [],
      targets: ["10.10.10.10"],
      hosts: ["10.10.10.10"],
      detectors: ["lstm", "iforest", "rules"],
      rule_ids: ["syn_flood"],
      nodes: ["sensor-1"],
      evidence: { sources: 4837, detections: 10005, peak_dst_fanin_hosts: 150 },
      event_first_ts: 1_400_000_000,
      event_last_ts: 1_400_000_099,
    };
    const page = { items: [flood], next_cursor: null };
    const html = renderWith(<AlertsPage />, [["alerts", "/alerts", { status: "open", cursor: null, limit: 25 }, page]]);
    expect(html).toContain("SYN flood against 10.10.10.10 from 4,837 sources");
    expect(html).toContain('data-testid="alert-parties" title="4,837 sources → 10.10.10.10">4,837 sources → 10.10.10.10</td>');
    expect(html).toContain('<span class="badge badge-detector">iforest</span>');
    expect(html).toContain("syn_flood");
    expect(html).toContain("2014-05-13 16:53:20Z – 16:54:59Z (1.7 min)");
    expect(html).toContain("<dt>peak dst fanin hosts</dt>");
    expect(html).toContain("sensors: sensor-1");
  });
});

describe("Fleet page", () => {
  it("marks offline nodes with the reason and lists drops", () => {
    const html = renderWith(<FleetPage />, [
      ["nodes", "/nodes", {}, { items: [node("sensor-1", true, "heartbeat"), node("sensor-3", false, "last_will")] }],
      ["models", "/models", {}, { items: [] }],
    ]);
    expect(html).toContain("1 online, 1 offline");
    expect(html).toContain('data-testid="node-sensor-3" data-online="false"');
    expect(html).toContain("offline (last will)");
    expect(html).toContain("evicted_flows: 3");
  });
});

describe("Attack graph page", () => {
  it("draws attacked edges in the family colour and rings predicted targets with their probability", async () => {
    const { GraphPage } = await import("./AttackGraph");
    const host = (id: string, extra: object = {}) => ({ id, type: "host", attacked: false, compromised: false, predicted_probability: null, ...extra });
    const graph = {
      nodes: [host("10.0.0.1", { compromised: true }), host("10.0.0.2", { attacked: true }), host("10.0.0.3", { predicted_probability: 0.83 }), { ...host("sensor-1"), type: "sensor" }],
      edges: [
        { source: "10.0.0.1", target: "10.0.0.2", flows: 9, attack_family: "botnet" },
        { source: "10.0.0.2", target: "10.0.0.3", flows: 1, attack_family: null },
      ],
      predictions: [{ target_host: "10.0.0.3", probability: 0.83, severity: "high", path: ["10.0.0.1", "10.0.0.2", "10.0.0.3"] }],
      sensor_links: [{ sensor: "sensor-1", host: "10.0.0.1", flows: 4 }],
    };
    const html = renderWith(<GraphPage />, [["graph", "/graph", { minutes: 30 }, graph]]);
    expect(html).toContain("sensor-1 sees 10.0.0.1: 4 flows"); // the sensor is tied to what it sees
    expect(html).toContain('stroke="#2e86ab"'); // botnet edge colour
    expect(html).toContain("10.0.0.3 (83%)");
    expect(html).toContain('stroke="#f3a712"'); // the prediction ring
    expect(html).toContain("10.0.0.1 → 10.0.0.2 → 10.0.0.3");
  });
});
