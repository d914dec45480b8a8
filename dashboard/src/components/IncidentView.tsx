// One incident in detail: its ATT&CK techniques, the metadata of its flows, its IOC hits, and
// the two noise-control actions (mark false positive / suppress like this), and its packet
// evidence (Evidence.tsx).
import { useState, type FormEvent } from "react";
import { useCreateSuppression, useDraft, useFalsePositive, useIncidentContext } from "../api/queries";
import type { AlertItem, FlowMeta, SuppressionDraft, SuppressionMatch } from "../api/types";
import { EvidencePanel } from "./Evidence";
import { Badge, ErrorBox } from "./ui";

const DAY_MS = 86_400_000;
export const MATCH_FIELDS = ["attacker", "target", "rule_id", "family", "node_id", "detector"] as const;
type Field = (typeof MATCH_FIELDS)[number];

export function expiresIn(days: number): string {
  return new Date(Date.now() + days * DAY_MS).toISOString();
}

export function flowSummary(f: FlowMeta): string[] {
  const out: string[] = [];
  if (f.dns) out.push(`DNS ${f.dns.rrname} ${f.dns.rrtype}`);
  if (f.tls) out.push(`TLS${f.tls.sni ? ` SNI ${f.tls.sni}` : ""} JA4 ${f.tls.ja4}`);
  if (f.http) out.push(`HTTP ${f.http.http_method} ${f.http.hostname ?? ""}${f.http.url}`);
  if (f.ssh) out.push(`SSH ${f.ssh.client ?? ""} → ${f.ssh.server ?? ""}`);
  return out;
}

export function IncidentView({ a }: { a: AlertItem }) {
  const ctx = useIncidentContext(a.alert_id);
  const c = ctx.data;
  const withMeta = (c?.flows ?? []).filter((f) => flowSummary(f).length > 0);
  return (
    <div className="incident" data-testid="incident-view">
      <ErrorBox error={ctx.error} />
      <div className="small">
        <strong>ATT&amp;CK </strong>
        {(c?.techniques ?? []).length ? (
          (c?.techniques ?? []).map((t) => (
            <a key={t.id} href={t.url} target="_blank" rel="noreferrer" className="technique" data-testid="technique" title={t.tactic}>
              {t.id} {t.name}
            </a>
          ))
        ) : (
          <span className="muted">none</span>
        )}
      </div>
      {withMeta.length ? (
        <table className="small" data-testid="incident-flows">
          <thead>
            <tr>
              <th>Flow</th>
              <th>Community ID</th>
              <th>Metadata</th>
            </tr>
          </thead>
          <tbody>
            {withMeta.map((f) => (
              <tr key={f.event_id} data-testid="flow-meta">
                <td className="mono">
                  {f.src_ip}:{f.src_port} → {f.dst_ip}:{f.dst_port}
                </td>
                <td className="mono">{f.community_id ?? ""}</td>
                <td className="mono">{flowSummary(f).join(" · ")}</td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
      {(c?.ioc_hits ?? []).length ? (
        <div className="small" data-testid="ioc-hits">
          <strong>IOC hits </strong>
          {(c?.ioc_hits ?? []).map((h) => (
            <div key={h.event_id} data-testid="ioc-hit" className="mono">
              {h.rule_id ?? "ioc"} {h.src_ip ?? ""} → {h.dst_ip ?? ""}{" "}
              {Object.entries(h.evidence ?? {})
                .map(([k, v]) => `${k}=${String(v)}`)
                .join(" ")}
            </div>
          ))}
        </div>
      ) : null}
      <Actions a={a} />
      <EvidencePanel alertId={a.alert_id} />
    </div>
  );
}

function Actions({ a }: { a: AlertItem }) {
  const fp = useFalsePositive();
  const draft = useDraft();
  const [form, setForm] = useState<SuppressionDraft | null>(null);
  const suppressed = !!a.suppressed_by;
  return (
    <div className="actions-row">
      <button
        type="button"
        data-testid="mark-fp"
        disabled={fp.isPending || a.resolution === "false_positive"}
        onClick={() => fp.mutate({ id: a.alert_id, expires_at: expiresIn(30) })}
      >
        Mark false positive
      </button>
      <button type="button" data-testid="suppress-like" disabled={draft.isPending} onClick={() => draft.mutate(a.alert_id, { onSuccess: setForm })}>
        Suppress like this…
      </button>
      {suppressed ? <Badge kind="info">suppressed</Badge> : null}
      {fp.error ? (
        <p className="error" role="alert" data-testid="action-error">
          {fp.error instanceof Error ? fp.error.message : String(fp.error)}
        </p>
      ) : null}
      <ErrorBox error={draft.error} />
      {form ? <SuppressForm draft={form} onDone={() => setForm(null)} /> : null}
    </div>
  );
}

function SuppressForm({ draft, onDone }: { draft: SuppressionDraft; onDone: () => void }) {
  const create = useCreateSuppression();
  const [match, setMatch] = useState<Record<Field, string>>(() => {
    const m = draft.match as Record<string, string | null | undefined>;
    return Object.fromEntries(MATCH_FIELDS.map((k) => [k, m[k] ?? ""])) as Record<Field, string>;
  });
  const [reason, setReason] = useState("");
  const [days, setDays] = useState(30);
  const submit = (e: FormEvent) => {
    e.preventDefault();
    const m = Object.fromEntries(MATCH_FIELDS.filter((k) => match[k].trim()).map((k) => [k, match[k].trim()]));
    create.mutate(
      { match: m as SuppressionMatch, reason: reason.trim(), expires_at: expiresIn(days), source_incident: draft.source_incident },
      { onSuccess: onDone },
    );
  };
  return (
    <form className="suppress-form" onSubmit={submit} data-testid="suppress-form">
      {MATCH_FIELDS.map((k) => (
        <label key={k}>
          {k}{" "}
          <input value={match[k]} maxLength={64} onChange={(e) => setMatch({ ...match, [k]: e.target.value })} data-testid={`sf-${k}`} />
        </label>
      ))}
      <label>
        reason <input required maxLength={500} value={reason} onChange={(e) => setReason(e.target.value)} data-testid="sf-reason" />
      </label>
      <label>
        expires in (days){" "}
        <input type="number" min={1} max={365} value={days} onChange={(e) => setDays(Number(e.target.value))} data-testid="sf-days" />
      </label>
      <button type="submit" disabled={create.isPending} data-testid="sf-save">
        Save suppression
      </button>
      <button type="button" className="linkish" onClick={onDone}>
        Cancel
      </button>
      {create.error ? (
        <p className="error" role="alert" data-testid="sf-error">
          {create.error instanceof Error ? create.error.message : String(create.error)}
        </p>
      ) : null}
    </form>
  );
}
