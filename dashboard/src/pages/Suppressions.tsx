// Suppressions: what is quieted, by whom, until when, how many detections each one hid, and
// each one's audit trail; an operator expires or deletes one.
import { useState } from "react";
import { useEndSuppression, useSuppression, useSuppressions } from "../api/queries";
import type { QueryOf, Suppression } from "../api/types";
import { Badge, Card, Empty, ErrorBox } from "../components/ui";
import { fmtAgo } from "../format";

type State = NonNullable<QueryOf<"/api/suppressions">["state"]>;
const STATES = ["active", "expired", "deleted", "all"] as const satisfies readonly State[];

export function matchText(s: Pick<Suppression, "match">): string {
  return Object.entries(s.match)
    .filter(([, v]) => v !== null && v !== undefined && v !== "")
    .map(([k, v]) => `${k}=${String(v)}`)
    .join(" ");
}

export function SuppressionsPage() {
  const [state, setState] = useState<State>("active");
  const list = useSuppressions({ state });
  const end = useEndSuppression();
  const items = list.data?.items ?? [];
  return (
    <div className="grid">
      <Card title="Suppressions" wide testId="suppressions">
        <div className="filters">
          <label>
            State{" "}
            <select value={state} onChange={(e) => setState(e.target.value as State)} data-testid="suppression-state">
              {STATES.map((s) => (
                <option key={s} value={s}>
                  {s}
                </option>
              ))}
            </select>
          </label>
        </div>
        <ErrorBox error={list.error} />
        {end.error ? (
          <p className="error" role="alert" data-testid="suppression-error">
            {end.error instanceof Error ? end.error.message : String(end.error)}
          </p>
        ) : null}
        {items.length ? (
          <div className="scroll">
            <table data-testid="suppressions-table">
              <thead>
                <tr>
                  <th>Match</th>
                  <th>Reason</th>
                  <th>Author</th>
                  <th>Expires</th>
                  <th className="num">Hits</th>
                  <th>Last hit</th>
                  <th>State</th>
                  <th />
                </tr>
              </thead>
              <tbody>
                {items.map((s) => (
                  <Row key={s.id} s={s} busy={end.isPending} act={(how) => end.mutate({ id: s.id, how })} />
                ))}
              </tbody>
            </table>
          </div>
        ) : list.isLoading ? (
          <Empty>Loading…</Empty>
        ) : (
          <Empty>No {state === "all" ? "" : state} suppressions.</Empty>
        )}
      </Card>
    </div>
  );
}

function Row({ s, act, busy }: { s: Suppression; act: (how: "expire" | "delete") => void; busy: boolean }) {
  const [open, setOpen] = useState(false);
  return (
    <>
      <tr data-testid="suppression-row" data-suppression-id={s.id} data-state={s.state}>
        <td className="mono small">{matchText(s)}</td>
        <td>
          {s.reason}
          {s.source_incident ? <div className="muted mono small">from {s.source_incident}</div> : null}
        </td>
        <td className="small">{s.author}</td>
        <td className="small" title={s.expires_at}>
          {s.expires_at.slice(0, 16).replace("T", " ")}
        </td>
        <td className="num" data-testid="suppression-hits">
          {s.hits}
        </td>
        <td className="small">{s.last_hit ? fmtAgo(s.last_hit) : "—"}</td>
        <td>
          <Badge kind={s.state === "active" ? "open" : "resolved"}>{s.state}</Badge>
        </td>
        <td className="actions">
          <button type="button" className="linkish" onClick={() => setOpen(!open)} data-testid="suppression-audit-toggle">
            {open ? "Hide" : "Audit"}
          </button>
          {s.state === "active" ? (
            <button type="button" disabled={busy} onClick={() => act("expire")} data-testid="suppression-expire">
              Expire
            </button>
          ) : null}
          {s.state !== "deleted" ? (
            <button type="button" disabled={busy} onClick={() => act("delete")} data-testid="suppression-delete">
              Delete
            </button>
          ) : null}
        </td>
      </tr>
      {open ? (
        <tr>
          <td colSpan={8}>
            <Audit id={s.id} />
          </td>
        </tr>
      ) : null}
    </>
  );
}

function Audit({ id }: { id: string }) {
  const d = useSuppression(id);
  return (
    <div data-testid="suppression-audit">
      <ErrorBox error={d.error} />
      <ol className="small">
        {(d.data?.audit ?? []).map((e, i) => (
          <li key={i} data-testid="audit-entry" data-action={e.action}>
            <span className="mono">{e.at.slice(0, 19).replace("T", " ")}</span> {e.action} by {e.actor}
            {e.detail ? <span className="muted"> — {e.detail}</span> : null}
          </li>
        ))}
      </ol>
    </div>
  );
}
