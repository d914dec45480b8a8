import { useState } from "react";
import { useAlertAction, useAlerts } from "../api/queries";
import type { AlertItem } from "../api/types";
import { Badge, Card, Empty, ErrorBox, Pager } from "../components/ui";
import { usePager } from "../components/usePager";
import { fmtAgo } from "../format";

const STATUSES = ["open", "acknowledged", "resolved", ""] as const;
const SEVERITIES = ["", "critical", "high", "medium", "low", "info"] as const;

export function AlertsPage() {
  const [status, setStatus] = useState<string>("open");
  const [severity, setSeverity] = useState<string>("");
  const pager = usePager();
  const alerts = useAlerts({ status, severity, cursor: pager.cursor, limit: 25 });
  const action = useAlertAction();
  const items = alerts.data?.items ?? [];
  return (
    <div className="grid">
      <Card title="Incidents" wide>
        <div className="filters">
          <label>
            Status{" "}
            <select value={status} onChange={(e) => (setStatus(e.target.value), pager.reset())} data-testid="alert-status">
              {STATUSES.map((s) => (
                <option key={s} value={s}>
                  {s || "all"}
                </option>
              ))}
            </select>
          </label>
          <label>
            Severity{" "}
            <select value={severity} onChange={(e) => (setSeverity(e.target.value), pager.reset())}>
              {SEVERITIES.map((s) => (
                <option key={s} value={s}>
                  {s || "any"}
                </option>
              ))}
            </select>
          </label>
        </div>
        <ErrorBox error={alerts.error} />
        {action.error ? (
          <p className="error" role="alert" data-testid="alert-error">
            Could not {action.variables?.action ?? "update"} the alert:{" "}
            {action.error instanceof Error ? action.error.message : String(action.error)}
          </p>
        ) : null}
        {items.length ? (
          <div className="scroll">
            <table data-testid="alerts-table">
              <thead>
                <tr>
                  <th>Severity</th>
                  <th>Incident</th>
                  <th>Family</th>
                  <th className="num">Events</th>
                  <th>Hosts</th>
                  <th>Last seen</th>
                  <th>Status</th>
                  <th />
                </tr>
              </thead>
              <tbody>
                {items.map((a) => (
                  <AlertRow key={a.alert_id} a={a} busy={action.isPending} act={(kind) => action.mutate({ id: a.alert_id, action: kind })} />
                ))}
              </tbody>
            </table>
          </div>
        ) : alerts.isLoading ? (
          <Empty>Loading…</Empty>
        ) : (
          <Empty>No {status || ""} alerts.</Empty>
        )}
        <Pager canBack={pager.canBack} next={alerts.data?.next_cursor} onBack={pager.back} onNext={() => pager.next(alerts.data?.next_cursor)} />
      </Card>
    </div>
  );
}

function AlertRow({ a, act, busy }: { a: AlertItem; act: (k: "acknowledge" | "resolve") => void; busy: boolean }) {
  const hosts = a.hosts ?? [];
  return (
    <tr data-testid="alert-row" data-alert-id={a.alert_id} data-status={a.status}>
      <td>
        <Badge kind={a.severity}>{a.severity}</Badge>
        {a.escalated ? <Badge kind="high">escalated</Badge> : null}
      </td>
      <td>
        <div>{a.title}</div>
        <div className="muted mono small">{a.alert_id}</div>
      </td>
      <td>{a.family}</td>
      <td className="num">{a.count}</td>
      <td className="mono small" title={hosts.join(", ")}>
        {hosts.slice(0, 4).join(", ")}
        {hosts.length > 4 ? ` +${hosts.length - 4}` : ""}
      </td>
      <td title={a.last_seen}>{fmtAgo(a.last_seen)}</td>
      <td>
        <Badge kind={a.status}>{a.status}</Badge>
        {a.acknowledged_by ? <div className="muted small">by {a.acknowledged_by}</div> : null}
      </td>
      <td className="actions">
        {a.status === "open" ? (
          <button type="button" disabled={busy} onClick={() => act("acknowledge")} data-testid="ack">
            Acknowledge
          </button>
        ) : null}
        {a.status !== "resolved" ? (
          <button type="button" disabled={busy} onClick={() => act("resolve")} data-testid="resolve">
            Resolve
          </button>
        ) : null}
      </td>
    </tr>
  );
}
