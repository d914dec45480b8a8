import { describe, expect, it } from "vitest";
import type { Graph } from "../api/types";
import { layout, selectSubgraph } from "./layout";

describe("layout", () => {
  it("is deterministic, stays in bounds and pulls linked nodes closer", () => {
    const ids = ["a", "b", "c", "d", "e", "f"];
    const edges = [{ source: "a", target: "b" }];
    const p1 = layout(ids, edges, 400, 300);
    const p2 = layout(ids, edges, 400, 300);
    expect([...p1.values()]).toEqual([...p2.values()]);
    for (const p of p1.values()) {
      expect(p.x).toBeGreaterThanOrEqual(0);
      expect(p.x).toBeLessThanOrEqual(400);
      expect(p.y).toBeGreaterThanOrEqual(0);
      expect(p.y).toBeLessThanOrEqual(300);
    }
    const d = (u: string, v: string) => Math.hypot(p1.get(u)!.x - p1.get(v)!.x, p1.get(u)!.y - p1.get(v)!.y);
    const others = ["c", "d", "e", "f"].map((o) => d("a", o));
    expect(d("a", "b")).toBeLessThan(Math.min(...others));
  });
  it("handles one node and empty graphs", () => {
    expect(layout(["x"], [], 100, 100).get("x")).toEqual({ id: "x", x: 50, y: 50 });
    expect(layout([], [], 100, 100).size).toBe(0);
  });
});

describe("selectSubgraph", () => {
  it("keeps sensors, predicted hosts and hosts with edges first, and edges between kept nodes", () => {
    const host = (id: string, extra: Partial<Graph["nodes"][number]> = {}) => ({
      id,
      type: "host" as const,
      attacked: false,
      compromised: false,
      predicted_probability: null,
      ...extra,
    });
    const g: Graph = {
      nodes: [
        host("quiet"),
        host("lonely", { attacked: true }),
        host("busy"),
        host("hit", { attacked: true }),
        host("next", { predicted_probability: 0.7 }),
        { ...host("sensor-1"), type: "sensor" },
      ],
      edges: [
        { source: "busy", target: "quiet", flows: 50, attack_family: null },
        { source: "hit", target: "next", flows: 1, attack_family: "scan" },
      ],
      predictions: [],
      sensor_links: [
        { sensor: "sensor-1", host: "hit", flows: 3 },
        { sensor: "sensor-1", host: "lonely", flows: 1 },
      ],
    };
    const sub = selectSubgraph(g, 4);
    // sensor links between kept nodes only ("lonely" is not kept at 4)
    expect(sub.links).toEqual([g.sensor_links![0]]);
    expect(sub.nodes.map((n) => n.id)).toEqual(["sensor-1", "next", "hit", "busy"]);
    // an attacked host with no edge comes after every host with edges
    expect(selectSubgraph(g, 6).nodes.map((n) => n.id).slice(4)).toEqual(["quiet", "lonely"]);
    expect(sub.edges).toEqual([g.edges[1]]);
  });
});
