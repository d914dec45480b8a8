// SOC outputs (syslog, webhook, Splunk HEC, apprise, Kafka): each output's health and lag as
// the `fednids hub outputs` process writes them to the store every few seconds. An output whose
// receiver is down is unhealthy and its lag (records past its durable cursor, and the age of
// the oldest record waiting) grows until the receiver is back; a process that stopped writing
// shows every output as stale.
import { useOutputs } from "../api/queries";
import type { OutputStatus } from "../api/types";
import { Badge, Card, Empty, ErrorBox, Stat } from "../components/ui";
import { fmtAgo, fmtNumber } from "../format";

const BADGE: Record<OutputStatus["health"], string> = { healthy: "online", unhealthy: "offline", stale: "offline" };

/** A lag in seconds as people read it: 0 s, 42 s, 3 m 05 s, 2 h 10 m. */
export function fmtLag(s: number | null | undefined): string {
  if (s === null || s === undefined || Number.isNaN(s)) return "—";
  const t = Math.max(0, Math.round(s));
  if (t < 60) return `${t} s`;
  if (t < 3600) return `${Math.floor(t / 60)} m ${String(t % 60).padStart(2, "0")} s`;
  return `${Math.floor(t / 3600)} h ${String(Math.floor((t % 3600) / 60)).padStart(2, "0")} m`;
}

/** The committed offsets, `topic:partition@offset`, one per partition. */
export const fmtCursor = (o: Pick<OutputStatus, "cursor">): string =>
  o.cursor.length ? o.cursor.map((c) => `${c.topic}:${c.partition}@${c.offset}`).join(" ") : "—";

export function OutputsPage() {
  const q = useOutputs();
  const items = q.data?.items ?? [];
  const bad = items.filter((o) => o.health !== "healthy").length;
  const lag = items.reduce((n, o) => n + (o.lag_records ?? 0), 0);
  return (
    <div className="grid">
      <ErrorBox error={q.error} />
      <Card title="Outputs" testId="outputs-summary">
        <div className="stats">
          <Stat label="outputs" value={fmtNumber(items.length)} testId="outputs-count" />
          <Stat label="unhealthy" value={fmtNumber(bad)} tone={bad ? "bad" : "good"} testId="outputs-unhealthy" />
          <Stat label="records waiting" value={fmtNumber(lag)} tone={lag ? "bad" : "good"} testId="outputs-lag" />
        </div>
        <p className="small">Written by <code>fednids hub outputs --db</code> every few seconds; stale after {fmtNumber(q.data?.stale_after_s ?? 30)} s without a write.</p>
      </Card>
      <Card title="Health and lag" wide testId="outputs">
        {items.length ? (
          <table>
            <thead>
              <tr>
                <th>Output</th>
                <th>Health</th>
                <th className="num">Lag (records)</th>
                <th className="num">Lag (oldest waiting)</th>
                <th>Last success</th>
                <th>Last error</th>
                <th className="num">Failures in a row</th>
                <th className="num">Delivered</th>
                <th className="num">Suppressed</th>
                <th className="num">Rate-limited</th>
                <th>Cursor · filter</th>
              </tr>
            </thead>
            <tbody>
              {items.map((o) => (
                <tr key={o.name} data-testid="output-row" data-output={o.name} data-health={o.health}>
                  <td>
                    <span className="mono">{o.name}</span>
                    <div className="small muted">{o.kind}</div>
                  </td>
                  <td data-testid="output-health">
                    <Badge kind={BADGE[o.health]}>{o.health}</Badge>
                    {o.health === "stale" ? <div className="small muted">last write {fmtAgo(o.updated)}</div> : null}
                  </td>
                  <td className="num" data-testid="output-lag-records">{o.lag_records === null ? "unknown" : fmtNumber(o.lag_records)}</td>
                  <td className="num" data-testid="output-lag-seconds" data-seconds={o.lag_seconds}>{fmtLag(o.lag_seconds)}</td>
                  <td className="small">{fmtAgo(o.last_success)}</td>
                  <td className="small" data-testid="output-error">
                    {o.last_error ? (
                      <>
                        <span className="mono">{o.last_error}</span>
                        <div className="muted">{fmtAgo(o.last_error_at)}</div>
                      </>
                    ) : (
                      "—"
                    )}
                  </td>
                  <td className="num" data-testid="output-failures">{fmtNumber(o.consecutive_failures)}</td>
                  <td className="num" data-testid="output-delivered">{fmtNumber(o.delivered)}</td>
                  <td className="num" data-testid="output-suppressed">{fmtNumber(o.suppressed)}</td>
                  <td className="num" data-testid="output-limited">{fmtNumber(o.rate_limited)}</td>
                  <td className="small">
                    <div className="mono">{fmtCursor(o)}</div>
                    <div className="muted">{o.filter}</div>
                    {o.rejected || o.filtered || o.undecodable ? (
                      <div className="muted">
                        {fmtNumber(o.filtered)} filtered, {fmtNumber(o.rejected)} rejected, {fmtNumber(o.undecodable)} undecodable
                      </div>
                    ) : null}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        ) : (
          <Empty>No outputs process has reported yet (run <code>fednids hub outputs --config FILE --db URL</code>).</Empty>
        )}
      </Card>
    </div>
  );
}
