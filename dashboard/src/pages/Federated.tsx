import { useFlEvents, useFlSummary, useModels, useNodes } from "../api/queries";
import { LineChart, Meter } from "../components/charts";
import { Badge, Card, Empty, ErrorBox } from "../components/ui";
import { fmtNumber, fmtTime } from "../format";

export function FederatedPage() {
  const s = useFlSummary();
  const ev = useFlEvents();
  const models = useModels();
  const nodes = useNodes();
  const rounds = s.data?.rounds ?? [];
  if (!s.data) {
    return (
      <div className="grid">
        <ErrorBox error={s.error} />
        <Empty>{s.isLoading ? "Loading…" : "No data."}</Empty>
      </div>
    );
  }
  if (rounds.length === 0 && s.data.nodes.length === 0) {
    return (
      <div className="grid">
        <Card title="Federated learning" wide testId="fl-empty">
          <Empty>No federated rounds yet. Rounds, the loss curve and each node's privacy budget appear here as soon as the first round reports.</Empty>
        </Card>
      </div>
    );
  }
  const loss = rounds.filter((r) => r.loss != null).map((r) => ({ x: r.round, y: r.loss as number }));
  const running = new Map<string, string[]>();
  for (const n of nodes.data?.items ?? []) {
    const v = n.model_version ?? "none";
    running.set(v, [...(running.get(v) ?? []), n.node_id]);
  }
  return (
    <div className="grid">
      <ErrorBox error={s.error} />
      <Card title="Loss per round" wide>
        <LineChart points={loss} label="federated loss per round" />
      </Card>
      <Card title="Privacy budget per node (ε spent / budget)">
        {s.data.nodes.length ? (
          <ul className="plain">
            {s.data.nodes.map((n) => (
              <li key={n.node_id} className="budget" data-testid="fl-budget">
                <span className="mono">{n.node_id}</span>
                <Meter value={n.epsilon ?? 0} max={n.budget_epsilon ?? 0} label={`epsilon of ${n.node_id}`} />
                <span className="small">
                  ε {fmtNumber(n.epsilon, 2)} / {fmtNumber(n.budget_epsilon, 2)} (δ {n.delta ?? "—"})
                  {n.model_version ? ` · trains ${n.model_version}` : ""}
                </span>
              </li>
            ))}
          </ul>
        ) : (
          <Empty>No client has reported its privacy spend yet.</Empty>
        )}
      </Card>
      <Card title="Rounds" wide testId="fl-rounds">
        <table>
          <thead>
            <tr>
              <th className="num">Round</th>
              <th className="num">Loss</th>
              <th className="num">Participants</th>
              <th className="num">Samples</th>
              <th className="num">Duration</th>
            </tr>
          </thead>
          <tbody>
            {[...rounds].reverse().map((r) => (
              <tr key={r.round}>
                <td className="num">{r.round}</td>
                <td className="num">{fmtNumber(r.loss, 4)}</td>
                <td className="num">{fmtNumber(r.participants)}</td>
                <td className="num">{fmtNumber(r.samples)}</td>
                <td className="num">{r.duration_s != null ? `${fmtNumber(r.duration_s, 1)} s` : "—"}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </Card>
      <Card title="Model versions and the nodes running them">
        <ul className="plain">
          {(models.data?.items ?? []).map((m) => (
            <li key={`${m.model_name}-${m.version}`}>
              <Badge kind="topic">{`${m.model_name} v${m.version}`}</Badge> {m.nodes.join(", ") || "no node yet"}
            </li>
          ))}
          {[...running.entries()].map(([v, ns]) => (
            <li key={`run-${v}`} className="muted">
              running {v}: {ns.join(", ")}
            </li>
          ))}
        </ul>
      </Card>
      <Card title="Recent FL events">
        <ul className="plain small">
          {(ev.data?.items ?? []).map((e) => (
            <li key={e.event_id}>
              {fmtTime(e.ts)} round {e.round} <Badge kind="topic">{e.role}</Badge> {e.phase} <span className="mono">{e.node_id}</span>
            </li>
          ))}
        </ul>
      </Card>
    </div>
  );
}
