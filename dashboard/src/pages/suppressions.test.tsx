import { describe, expect, it } from "vitest";
import type { AlertItem, FlowMeta, IncidentContext, Suppression } from "../api/types";
import { flowSummary, IncidentView } from "../components/IncidentView";
import { renderWith } from "../test/render";
import { matchText, SuppressionsPage } from "./Suppressions";

const sup = (id: string, state: Suppression["state"]): Suppression => ({
  id,
  match: { attacker: "10.0.0.0/24", target: null, rule_id: null, family: "scan", node_id: null, detector: null },
  reason: "lab scanner",
  author: "alice (operator)",
  created_at: "2026-01-01T00:00:00+00:00",
  expires_at: "2026-02-01T00:00:00+00:00",
  deleted_at: null,
  source_incident: "scan:attacker:10.0.0.66",
  hits: 42,
  last_hit: null,
  state,
});

const flow = (over: Partial<FlowMeta>): FlowMeta => ({
  event_id: "f1",
  node_id: "sensor-1",
  ts: 1,
  src_ip: "10.0.0.21",
  dst_ip: "203.0.113.7",
  src_port: 5000,
  dst_port: 443,
  proto: 6,
  community_id: "1:AAAAAAAAAAAAAAAAAAAAAAAAAAA=",
  dns: null,
  tls: null,
  http: null,
  ssh: null,
  ...over,
});

describe("Suppressions page", () => {
  it("lists what each suppression matches, its hits, and offers expire and delete", () => {
    const html = renderWith(<SuppressionsPage />, [["suppressions", "/suppressions", { state: "active" }, { items: [sup("s1", "active")] }]]);
    expect(html).toContain("attacker=10.0.0.0/24 family=scan");
    expect(html).toContain("alice (operator)");
    expect(html).toContain(">42<");
    expect(html).toContain('data-testid="suppression-expire"');
    expect(html).toContain('data-testid="suppression-delete"');
  });
  it("shows an empty state", () => {
    const html = renderWith(<SuppressionsPage />, [["suppressions", "/suppressions", { state: "active" }, { items: [] }]]);
    expect(html).toContain("No active suppressions.");
  });
  it("names only the fields a match sets", () => {
    expect(matchText(sup("s", "expired"))).toBe("attacker=10.0.0.0/24 family=scan");
  });
});

describe("Incident view", () => {
  it("summarises DNS, SNI, JA4 and HTTP metadata of a flow", () => {
    const f = flow({
      dns: { rrname: "c2.example", rrtype: "A", rcode: null, answers: [] },
      tls: { sni: "c2.example", version: "TLS 1.3", alpn: [], ja4: "t13d1516h2_8daaf6152771_b0da82dd1658" },
      http: { http_method: "GET", url: "/x", protocol: "HTTP/1.1", hostname: "c2.example", http_user_agent: null },
    });
    expect(flowSummary(f)).toEqual([
      "DNS c2.example A",
      "TLS SNI c2.example JA4 t13d1516h2_8daaf6152771_b0da82dd1658",
      "HTTP GET c2.example/x",
    ]);
    expect(flowSummary(flow({}))).toEqual([]);
  });
  it("links each ATT&CK technique and offers both actions", () => {
    const a = { alert_id: "botnet:attacker:203.0.113.7", suppressed_by: null, resolution: null } as unknown as AlertItem;
    const ctx: IncidentContext = {
      alert_id: a.alert_id,
      techniques: [{ id: "T1071", name: "Application Layer Protocol", tactic: "Command and Control", url: "https://attack.mitre.org/techniques/T1071/" }],
      flows: [flow({ tls: { sni: "c2.example", version: "TLS 1.3", alpn: [], ja4: "t13d1516h2_8daaf6152771_b0da82dd1658" } })],
      ioc_hits: [],
    };
    const html = renderWith(<IncidentView a={a} />, [["alerts", `/alerts/${encodeURIComponent(a.alert_id)}/context`, {}, ctx]]);
    expect(html).toContain('href="https://attack.mitre.org/techniques/T1071/"');
    expect(html).toContain("T1071 Application Layer Protocol");
    expect(html).toContain("SNI c2.example");
    expect(html).toContain("Mark false positive");
    expect(html).toContain("Suppress like this");
  });
});
