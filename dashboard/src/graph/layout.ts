// A small deterministic force layout (Fruchterman–Reingold with cooling) and the choice of
// which nodes to draw when the graph is large.
import type { Graph, GraphEdge, GraphNode, SensorLink } from "../api/types";

export interface Placed {
  id: string;
  x: number;
  y: number;
}

export function layout(
  ids: string[],
  edges: { source: string; target: string }[],
  width: number,
  height: number,
  iterations = 200,
): Map<string, Placed> {
  const n = ids.length;
  const pos = new Map<string, Placed>();
  ids.forEach((id, i) => {
    const a = (2 * Math.PI * i) / Math.max(n, 1);
    pos.set(id, { id, x: width / 2 + (width / 3) * Math.cos(a), y: height / 2 + (height / 3) * Math.sin(a) });
  });
  if (n <= 1) {
    for (const p of pos.values()) Object.assign(p, { x: width / 2, y: height / 2 });
    return pos;
  }
  const k = Math.sqrt((width * height) / n) * 0.5;
  const links = edges.filter((e) => e.source !== e.target && pos.has(e.source) && pos.has(e.target));
  const nodes = [...pos.values()];
  let temp = width / 8;
  for (let it = 0; it < iterations; it++) {
    const disp = new Map<string, { dx: number; dy: number }>(nodes.map((p) => [p.id, { dx: 0, dy: 0 }]));
    for (let i = 0; i < n; i++) {
      const a = nodes[i]!;
      for (let j = i + 1; j < n; j++) {
        const b = nodes[j]!;
        let dx = a.x - b.x;
        let dy = a.y - b.y;
        let d = Math.hypot(dx, dy);
        if (d < 0.01) {
          dx = 0.01 * (i - j);
          dy = 0.01;
          d = Math.hypot(dx, dy);
        }
        const f = (k * k) / d;
        const da = disp.get(a.id)!;
        const db = disp.get(b.id)!;
        da.dx += (dx / d) * f;
        da.dy += (dy / d) * f;
        db.dx -= (dx / d) * f;
        db.dy -= (dy / d) * f;
      }
    }
    for (const e of links) {
      const a = pos.get(e.source)!;
      const b = pos.get(e.target)!;
      const dx = a.x - b.x;
      const dy = a.y - b.y;
      const d = Math.max(Math.hypot(dx, dy), 0.01);
      const f = (d * d) / k;
      const da = disp.get(a.id)!;
      const db = disp.get(b.id)!;
      da.dx -= (dx / d) * f;
      da.dy -= (dy / d) * f;
      db.dx += (dx / d) * f;
      db.dy += (dy / d) * f;
    }
    for (const p of nodes) {
      const d = disp.get(p.id)!;
      // gravity keeps unlinked nodes and components together
      d.dx += (width / 2 - p.x) * 0.08 * (k / 10);
      d.dy += (height / 2 - p.y) * 0.08 * (k / 10);
      const len = Math.max(Math.hypot(d.dx, d.dy), 0.01);
      p.x += (d.dx / len) * Math.min(len, temp);
      p.y += (d.dy / len) * Math.min(len, temp);
    }
    temp = Math.max(0.5, temp * 0.97);
  }
  fit(nodes, width, height);
  return pos;
}

/** Scale the drawing into the box, leaving room for labels. */
function fit(nodes: Placed[], width: number, height: number, mx = 60, my = 24): void {
  const xs = nodes.map((p) => p.x);
  const ys = nodes.map((p) => p.y);
  const [x0, x1, y0, y1] = [Math.min(...xs), Math.max(...xs), Math.min(...ys), Math.max(...ys)];
  for (const p of nodes) {
    p.x = x1 > x0 ? mx + ((p.x - x0) / (x1 - x0)) * (width - 2 * mx) : width / 2;
    p.y = y1 > y0 ? my + ((p.y - y0) / (y1 - y0)) * (height - 2 * my) : height / 2;
  }
}

/** Keep the graph readable: sensors, predicted and compromised hosts, then hosts that have
 * edges to draw (attacked ones first, then the busiest), then isolated attacked hosts, up to
 * `max` nodes; edges between kept nodes only. */
export function selectSubgraph(
  g: Graph,
  max = 90,
): { nodes: GraphNode[]; edges: GraphEdge[]; links: SensorLink[] } {
  const weight = new Map<string, number>();
  for (const e of g.edges) {
    weight.set(e.source, (weight.get(e.source) ?? 0) + e.flows);
    weight.set(e.target, (weight.get(e.target) ?? 0) + e.flows);
  }
  const score = (n: GraphNode) =>
    (n.type === "sensor" ? 1e9 : 0) +
    (n.predicted_probability != null ? 1e8 : 0) +
    (n.compromised ? 1e7 : 0) +
    ((weight.get(n.id) ?? 0) > 0 ? 1e5 : 0) +
    (n.attacked ? 1e4 : 0) +
    Math.min(weight.get(n.id) ?? 0, 9999);
  const kept = [...g.nodes].sort((a, b) => score(b) - score(a) || a.id.localeCompare(b.id)).slice(0, max);
  const ids = new Set(kept.map((n) => n.id));
  return {
    nodes: kept,
    edges: g.edges.filter((e) => ids.has(e.source) && ids.has(e.target)),
    links: (g.sensor_links ?? []).filter((l) => ids.has(l.sensor) && ids.has(l.host)),
  };
}
