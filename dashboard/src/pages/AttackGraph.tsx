import { useMemo, useState } from "react";
import { useGraph } from "../api/queries";
import { Badge, Card, Empty, ErrorBox } from "../components/ui";
import { familyColor, fmtNumber } from "../format";
import { layout, selectSubgraph } from "../graph/layout";

const W = 900;
const H = 560;

export function GraphPage() {
  const [minutes, setMinutes] = useState(30);
  const q = useGraph(minutes);
  const sub = useMemo(() => (q.data ? selectSubgraph(q.data) : null), [q.data]);
  const pos = useMemo(
    () =>
      sub
        ? layout(
            sub.nodes.map((n) => n.id).sort(),
            [...sub.edges, ...sub.links.map((l) => ({ source: l.sensor, target: l.host }))],
            W,
            H,
          )
        : new Map(),
    [sub],
  );
  const [hover, setHover] = useState<string | null>(null);
  const preds = [...(q.data?.predictions ?? [])].sort((a, b) => b.probability - a.probability).slice(0, 10);
  const maxFlows = Math.max(1, ...(sub?.edges ?? []).map((e) => e.flows));
  return (
    <div className="grid">
      <ErrorBox error={q.error} />
      <Card title={`Hosts and sensors (last ${minutes} min)`} wide testId="attack-graph">
        <div className="filters">
          <label>
            Window{" "}
            <select value={minutes} onChange={(e) => setMinutes(Number(e.target.value))}>
              {[5, 15, 30, 60, 240].map((m) => (
                <option key={m} value={m}>
                  {m} min
                </option>
              ))}
            </select>
          </label>
          <span className="legend">
            <span><i style={{ background: "#d1495b" }} /> attacked</span>
            <span><i style={{ background: "#6f1d1b" }} /> compromised</span>
            <span><i className="ring" /> predicted next target</span>
            <span><i style={{ background: "#3d5a80" }} /> sensor</span>
            <span><i className="dashed" /> sensor sees host</span>
          </span>
          {q.data && sub && q.data.nodes.length > sub.nodes.length ? (
            <span className="muted">showing {sub.nodes.length} of {q.data.nodes.length} nodes</span>
          ) : null}
        </div>
        {sub && sub.nodes.length ? (
          <svg viewBox={`0 0 ${W} ${H}`} className="graph" role="img" aria-label="attack graph">
            {sub.links.map((l) => {
              const a = pos.get(l.sensor);
              const b = pos.get(l.host);
              if (!a || !b) return null;
              return (
                <line
                  key={`${l.sensor}~${l.host}`}
                  data-testid="sensor-link"
                  x1={a.x}
                  y1={a.y}
                  x2={b.x}
                  y2={b.y}
                  stroke="#3d5a80"
                  strokeOpacity={hover === l.sensor || hover === l.host ? 0.9 : 0.25}
                  strokeDasharray="4 3"
                >
                  <title>{`${l.sensor} sees ${l.host}: ${l.flows} flows`}</title>
                </line>
              );
            })}
            {sub.edges.map((e) => {
              const a = pos.get(e.source);
              const b = pos.get(e.target);
              if (!a || !b) return null;
              const hot = hover === e.source || hover === e.target;
              return (
                <line
                  key={`${e.source}>${e.target}`}
                  x1={a.x}
                  y1={a.y}
                  x2={b.x}
                  y2={b.y}
                  stroke={e.attack_family ? familyColor(e.attack_family) : "#9aa5b1"}
                  strokeOpacity={hot ? 1 : e.attack_family ? 0.8 : 0.35}
                  strokeWidth={1 + 3 * (e.flows / maxFlows)}
                >
                  <title>{`${e.source} → ${e.target}: ${e.flows} flows${e.attack_family ? `, ${e.attack_family}` : ""}`}</title>
                </line>
              );
            })}
            {sub.nodes.map((n) => {
              const p = pos.get(n.id);
              if (!p) return null;
              const fill = n.type === "sensor" ? "#3d5a80" : n.compromised ? "#6f1d1b" : n.attacked ? "#d1495b" : "#8fa3b8";
              return (
                <g key={n.id} transform={`translate(${p.x},${p.y})`} onMouseEnter={() => setHover(n.id)} onMouseLeave={() => setHover(null)}>
                  {n.predicted_probability != null ? (
                    <circle r={9 + 10 * n.predicted_probability} fill="none" stroke="#f3a712" strokeWidth={3} />
                  ) : null}
                  {n.type === "sensor" ? <rect x={-8} y={-8} width={16} height={16} fill={fill} /> : <circle r={6} fill={fill} />}
                  {n.type === "sensor" || n.predicted_probability != null || hover === n.id ? (
                    <text y={-12} textAnchor="middle" className="node-label">
                      {n.id}
                      {n.predicted_probability != null ? ` (${(n.predicted_probability * 100).toFixed(0)}%)` : ""}
                    </text>
                  ) : null}
                  <title>{`${n.id}${n.attacked ? " · attacked" : ""}${n.compromised ? " · compromised" : ""}${n.predicted_probability != null ? ` · predicted ${(n.predicted_probability * 100).toFixed(0)}%` : ""}`}</title>
                </g>
              );
            })}
          </svg>
        ) : (
          <Empty>{q.isLoading ? "Loading…" : "No traffic in this window."}</Empty>
        )}
      </Card>
      <Card title="Predicted next targets (GNN)" wide>
        {preds.length ? (
          <table>
            <thead>
              <tr>
                <th>Target</th>
                <th className="num">Probability</th>
                <th>Severity</th>
                <th>Path</th>
              </tr>
            </thead>
            <tbody>
              {preds.map((p, i) => (
                <tr key={`${p.target_host}-${i}`}>
                  <td className="mono">{p.target_host}</td>
                  <td className="num">{fmtNumber(p.probability * 100, 0)}%</td>
                  <td>
                    <Badge kind={p.severity}>{p.severity}</Badge>
                  </td>
                  <td className="mono small">{(p.path ?? []).join(" → ") || "—"}</td>
                </tr>
              ))}
            </tbody>
          </table>
        ) : (
          <Empty>No predictions in this window yet.</Empty>
        )}
      </Card>
    </div>
  );
}
