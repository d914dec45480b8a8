import { useAlerts, useNodes, useOverview } from "../api/queries";
import type { LiveEvent } from "../api/types";
import { StackedBars } from "../components/charts";
import { Badge, Card, Empty, ErrorBox, Stat } from "../components/ui";
import { fmtNumber, fmtTime } from "../format";
import { useLive } from "../state";

export function OverviewPage() {
  const ov = useOverview();
  const open = useAlerts({ status: "open", limit: 6 });
  const nodes = useNodes();
  const o = ov.data;
  return (
    <div className="grid">
      <ErrorBox error={ov.error} />
      <div className="stats wide" data-testid="counters">
        <Stat label="flows" value={fmtNumber(o?.flows_total)} testId="stat-flows" />
        <Stat label="anomalies" value={fmtNumber(o?.anomalies_total)} />
        <Stat label="classifications" value={fmtNumber(o?.classifications_total)} />
        <Stat label="open alerts" value={fmtNumber(o?.alerts_open)} tone={o && o.alerts_open > 0 ? "bad" : "good"} />
        <Stat label="open, suppressed" value={fmtNumber(o?.alerts_suppressed)} testId="stat-suppressed" />
        <Stat
          label="sensors online"
          value={o ? `${o.nodes_online} / ${o.nodes_total}` : "—"}
          tone={o && o.nodes_online < o.nodes_total ? "bad" : "good"}
        />
        <Stat label="flows / s (last min)" value={fmtNumber(o?.events_per_second, 1)} />
      </div>
      <Card title="Attacks per minute by family (last hour)" wide>
        <StackedBars rows={o?.attacks_per_minute ?? []} />
      </Card>
      <Card title="Top attacked hosts">
        {o && o.top_attacked_hosts.length ? (
          <ol className="bars">
            {o.top_attacked_hosts.map((h) => (
              <li key={h.host}>
                <span className="mono">{h.host}</span>
                <span className="bar" style={{ width: `${(h.count / (o.top_attacked_hosts[0]?.count ?? 1)) * 100}%` }} />
                <span>{h.count}</span>
              </li>
            ))}
          </ol>
        ) : (
          <Empty>No attacked hosts in the last hour.</Empty>
        )}
      </Card>
      <Card title="Open alerts">
        {open.data && open.data.items.length ? (
          <ul className="plain">
            {open.data.items.map((a) => (
              <li key={a.alert_id}>
                <Badge kind={a.severity}>{a.severity}</Badge> {a.title} <span className="muted">×{a.count}</span>
              </li>
            ))}
          </ul>
        ) : (
          <Empty>No open alerts.</Empty>
        )}
      </Card>
      <Card title="Fleet health">
        <ul className="dots">
          {(nodes.data?.items ?? []).map((n) => (
            <li key={n.node_id} className={n.online ? "up" : "down"} title={n.online ? "online" : "offline"}>
              {n.node_id}
            </li>
          ))}
        </ul>
      </Card>
      <LiveFeed />
    </div>
  );
}

function describe(e: LiveEvent): string {
  switch (e.kind) {
    case "anomaly":
      return `${e.detector}${e.rule_id ? `/${e.rule_id}` : ""} ${e.src_ip ?? ""} → ${e.dst_ip ?? ""}`;
    case "classification":
      return `${e.family} ${(e.confidence * 100).toFixed(0)}% ${e.src_ip ?? ""} → ${e.dst_ip ?? ""}`;
    case "prediction":
      return `next target ${e.target_host} p=${e.probability.toFixed(2)}`;
    case "alert":
      return `${e.severity}: ${e.title}`;
    case "fl":
      return `round ${e.round} ${e.role} ${e.phase}`;
    case "status":
      return `${e.online ? "online" : "OFFLINE"} (${e.reason})`;
    case "model":
      return `${e.model_name} v${e.version}`;
    default:
      return e.kind;
  }
}

function LiveFeed() {
  const live = useLive();
  return (
    <Card title={`Live events (${fmtNumber(live.received)} received)`} wide testId="live-feed">
      {live.feed.length ? (
        <ul className="feed">
          {live.feed.slice(0, 15).map((f) => (
            <li key={f.seq} data-testid="live-event">
              <span className="muted">{fmtTime(f.event.ts)}</span> <Badge kind="topic">{f.topic}</Badge>{" "}
              <span className="mono">{f.event.node_id}</span> {describe(f.event)}
            </li>
          ))}
        </ul>
      ) : (
        <Empty>Waiting for live events…</Empty>
      )}
    </Card>
  );
}
