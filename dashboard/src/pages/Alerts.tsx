import { Fragment, useState } from "react";
import { useAlertAction, useAlerts } from "../api/queries";
import type { AlertItem, AlertQuery } from "../api/types";
import { IncidentView } from "../components/IncidentView";
import { Badge, Card, Empty, ErrorBox, Pager } from "../components/ui";
import { usePager } from "../components/usePager";
import { fmtAgo } from "../format";
import { evidenceRows, fmtEventWindow, fmtParties } from "../incident";

type Status = "" | NonNullable<AlertQuery["status"]>;
type Sev = "" | NonNullable<AlertQuery["severity"]>;
const STATUSES = ["open", "acknowledged", "resolved", ""] as const satisfies readonly Status[];
const SEVERITIES = ["", "critical", "high", "medium", "low", "info"] as const satisfies readonly Sev[];
type Supp = NonNullable<AlertQuery["suppressed"]>;
const SUPPRESSED = [
  ["exclude", "hidden"],
  ["include", "shown"],
  ["only", "only"],
] as const satisfies readonly (readonly [Supp, string])[];

export function AlertsPage() {
  const [status, setStatus] = useState<Status>("open");
  const [severity, setSeverity] = useState<Sev>("");
  const [suppressed, setSuppressed] = useState<Supp>("exclude");
  const [opened, setOpened] = useState<string | null>(null);
  const pager = usePager();
  const alerts = useAlerts({
    status: status || undefined,
    severity: severity || undefined,
    suppressed: suppressed === "exclude" ? undefined : suppressed,
    cursor: pager.cursor,
    limit: 25,
  });
  const action = useAlertAction();
  const items = alerts.data?.items ?? [];
  return (
    <div className="grid">
      <Card title="Incidents" wide>
        <div className="filters">
          <label>
            Status{" "}
            <select value={status} onChange={(e) => (setStatus(e.target.value as Status), pager.reset())} data-testid="alert-status">
              {STATUSES.map((s) => (
                <option key={s} value={s}>
                  {s || "all"}
                </option>
              ))}
            </select>
          </label>
          <label>
            Severity{" "}
            <select value={severity} onChange={(e) => (setSeverity(e.target.value as Sev), pager.reset())}>
              {SEVERITIES.map((s) => (
                <option key={s} value={s}>
                  {s || "any"}
                </option>
              ))}
            </select>
          </label>
          <label>
            Suppressed{" "}
            <select value={suppressed} onChange={(e) => (setSuppressed(e.target.value as Supp), pager.reset())} data-testid="alert-suppressed">
              {SUPPRESSED.map(([v, label]) => (
                <option key={v} value={v}>
                  {label}
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
                  <th>Attackers → targets</th>
                  <th className="num">Events</th>
                  <th>Event time</th>
                  <th>Last seen</th>
                  <th>Status</th>
                  <th />
                </tr>
              </thead>
              <tbody>
                {items.map((a) => (
                  <Fragment key={a.alert_id}>
                    <AlertRow
                      a={a}
                      busy={action.isPending}
                      act={(kind) => action.mutate({ id: a.alert_id, action: kind })}
                      open={opened === a.alert_id}
                      toggle={() => setOpened(opened === a.alert_id ? null : a.alert_id)}
                    />
                    {opened === a.alert_id ? (
                      <tr data-testid="incident-row">
                        <td colSpan={9}>
                          <IncidentView a={a} />
                        </td>
                      </tr>
                    ) : null}
                  </Fragment>
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

function partiesTitle(a: AlertItem, from: string): string {
  const attackers = (a.attackers ?? []).length ? (a.attackers ?? []).join(", ") : from;
  const targets = (a.targets ?? []).join(", ");
  return targets ? `${attackers} → ${targets}` : (a.hosts ?? []).join(", ");
}

type RowProps = { a: AlertItem; act: (k: "acknowledge" | "resolve") => void; busy: boolean; open?: boolean; toggle?: () => void };

function AlertRow({ a, act, busy, open, toggle }: RowProps) {
  const parties = fmtParties(a);
  const detectors = a.detectors ?? [];
  const evidence = evidenceRows(a.evidence);
  return (
    <tr data-testid="alert-row" data-alert-id={a.alert_id} data-status={a.status} data-suppressed={a.suppressed_by ? "true" : "false"}>
      <td>
        <Badge kind={a.severity}>{a.severity}</Badge>
        {a.escalated ? <Badge kind="high">escalated</Badge> : null}
      </td>
      <td>
        <div data-testid="alert-title">{a.title}</div>
        <div className="muted mono small">{a.alert_id}</div>
        {detectors.length ? (
          <div className="small" data-testid="alert-detectors">
            {detectors.map((d) => (
              <Badge key={d} kind="detector">
                {d}
              </Badge>
            ))}
            {(a.rule_ids ?? []).length ? <span className="muted mono"> {(a.rule_ids ?? []).join(", ")}</span> : null}
          </div>
        ) : null}
        {evidence.length || a.description ? (
          <details className="small" data-testid="alert-evidence">
            <summary>Evidence</summary>
            {a.description ? <p className="muted">{a.description}</p> : null}
            {evidence.length ? (
              <dl className="evidence">
                {evidence.map(([k, v]) => (
                  <div key={k}>
                    <dt>{k}</dt>
                    <dd className="mono">{v}</dd>
                  </div>
                ))}
              </dl>
            ) : null}
            {(a.nodes ?? []).length ? <p className="muted">sensors: {(a.nodes ?? []).join(", ")}</p> : null}
          </details>
        ) : null}
      </td>
      <td>{a.family}</td>
      <td className="mono small" data-testid="alert-parties" title={partiesTitle(a, parties.from)}>
        {parties.from}
        {parties.to ? <> → {parties.to}</> : null}
      </td>
      <td className="num">{a.count}</td>
      <td className="small" data-testid="alert-window">
        {fmtEventWindow(a.event_first_ts, a.event_last_ts)}
      </td>
      <td title={a.last_seen}>{fmtAgo(a.last_seen)}</td>
      <td>
        <Badge kind={a.status}>{a.status}</Badge>
        {a.resolution === "false_positive" ? <Badge kind="info">false positive</Badge> : null}
        {a.suppressed_by ? (
          <span data-testid="alert-suppressed-badge">
            <Badge kind="info">suppressed</Badge>
          </span>
        ) : null}
        {a.acknowledged_by ? <div className="muted small">by {a.acknowledged_by}</div> : null}
      </td>
      <td className="actions">
        {toggle ? (
          <button type="button" className="linkish" onClick={toggle} data-testid="incident-open">
            {open ? "Hide" : "Details"}
          </button>
        ) : null}
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
