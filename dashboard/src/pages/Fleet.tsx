import { useModels, useNodes } from "../api/queries";
import { Badge, Card, Empty, ErrorBox } from "../components/ui";
import { fmtAgo, fmtNumber } from "../format";

export function FleetPage() {
  const nodes = useNodes();
  const models = useModels();
  const items = nodes.data?.items ?? [];
  const online = items.filter((n) => n.online).length;
  return (
    <div className="grid">
      <ErrorBox error={nodes.error} />
      <Card title={`Sensors — ${online} online, ${items.length - online} offline`} wide>
        {items.length ? (
          <div className="scroll">
            <table data-testid="fleet-table">
              <thead>
                <tr>
                  <th>Node</th>
                  <th>State</th>
                  <th>Baseline</th>
                  <th className="num">Packets/s</th>
                  <th className="num">Flows</th>
                  <th className="num">Anomalies</th>
                  <th className="num">Outbox</th>
                  <th>Model</th>
                  <th>Last heartbeat</th>
                  <th>Drops</th>
                </tr>
              </thead>
              <tbody>
                {items.map((n) => (
                  <tr key={n.node_id} data-testid={`node-${n.node_id}`} data-online={n.online ? "true" : "false"}>
                    <td className="mono">{n.node_id}</td>
                    <td>
                      {n.online ? (
                        <Badge kind="online">online</Badge>
                      ) : (
                        <Badge kind="offline">offline{n.reason === "last_will" || n.reason === "shutdown" ? ` (${n.reason.replace("_", " ")})` : ""}</Badge>
                      )}
                    </td>
                    <td data-testid={`baseline-${n.node_id}`}>
                      {n.baseline === "learning" ? (
                        <Badge kind="learning">learning {Math.round((n.baseline_progress ?? 0) * 100)} %</Badge>
                      ) : n.baseline === "ready" ? (
                        <Badge kind="online">ready</Badge>
                      ) : (
                        <span className="muted">{n.baseline ?? "—"}</span>
                      )}
                    </td>
                    <td className="num">{fmtNumber(n.packets_per_s, 1)}</td>
                    <td className="num">{fmtNumber(n.flows_total)}</td>
                    <td className="num">{fmtNumber(n.anomalies_total)}</td>
                    <td className="num">{fmtNumber(n.outbox_depth)}</td>
                    <td>{n.model_version ?? "—"}</td>
                    <td title={n.last_seen}>{fmtAgo(n.last_seen)}</td>
                    <td className="muted">
                      {Object.entries(n.drops ?? {})
                        .filter(([, v]) => v > 0)
                        .map(([k, v]) => `${k}: ${v}`)
                        .join(", ") || "none"}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        ) : (
          <Empty>{nodes.isLoading ? "Loading…" : "No sensor has reported yet."}</Empty>
        )}
      </Card>
      <Card title="Model versions" wide>
        {models.data && models.data.items.length ? (
          <table>
            <thead>
              <tr>
                <th>Model</th>
                <th>Version</th>
                <th className="num">Size</th>
                <th>Signed by</th>
                <th>Running on</th>
              </tr>
            </thead>
            <tbody>
              {models.data.items.map((m) => (
                <tr key={`${m.model_name}-${m.version}`}>
                  <td>{m.model_name}</td>
                  <td>{m.version}</td>
                  <td className="num">{fmtNumber(m.size_bytes / 1024, 1)} KiB</td>
                  <td className="mono">{m.key_id}</td>
                  <td>{m.nodes.join(", ") || "—"}</td>
                </tr>
              ))}
            </tbody>
          </table>
        ) : (
          <Empty>No model announced yet; sensors report: {[...new Set(items.map((n) => n.model_version ?? "none"))].join(", ") || "—"}.</Empty>
        )}
      </Card>
    </div>
  );
}
