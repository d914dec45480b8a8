// Packet evidence of an incident: ask its nodes for the frames ("Fetch packets", operator
// tokens only: a read token gets the API's 403 shown), follow each request until the node
// answered, then download the pcap with the token; 409 (evidence off on this hub) shows why.
import { useState } from "react";
import { fetchBlob, isApiPath, saveBlob } from "../api/download";
import { useEvidence, useRequestEvidence } from "../api/queries";
import type { EvidenceStatus } from "../api/types";
import { useAuth } from "../state";
import { fmtNumber } from "../format";
import { Badge } from "./ui";

const errText = (e: unknown): string => (e instanceof Error ? e.message : String(e));

export function evidenceFlags(s: Pick<EvidenceStatus, "status" | "partial" | "truncated" | "oldest_ts" | "reason">): string[] {
  const out: string[] = [];
  if (s.partial) out.push("partial: the window starts before the oldest frame held");
  if (s.truncated) out.push("truncated: more frames matched than the size limit");
  if (s.status === "expired") out.push(`expired: oldest frame still held ${s.oldest_ts ? s.oldest_ts.slice(0, 19).replace("T", " ") : "—"}`);
  if (s.status === "failed") out.push(`failed: ${s.reason || "no reason given"}`);
  return out;
}

export function EvidencePanel({ alertId }: { alertId: string }) {
  const ask = useRequestEvidence();
  const items = ask.data?.items ?? [];
  return (
    <div className="small evidence" data-testid="evidence">
      <button type="button" data-testid="fetch-packets" disabled={ask.isPending} onClick={() => ask.mutate(alertId)}>
        {ask.isPending ? "Asking…" : items.length ? "Fetch packets again" : "Fetch packets"}
      </button>
      {ask.error ? (
        <p className="error" role="alert" data-testid="evidence-error">
          {errText(ask.error)}
        </p>
      ) : null}
      {items.map((e) => (
        <EvidenceRow key={e.evidence_id} first={e} />
      ))}
    </div>
  );
}

export function EvidenceRow({ first }: { first: EvidenceStatus }) {
  const { token } = useAuth();
  const polled = useEvidence(first.status === "pending" ? first.evidence_id : null);
  const s = polled.data ?? first;
  const [err, setErr] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const download = async () => {
    if (!s.pcap_url || !isApiPath(s.pcap_url)) return;
    setBusy(true);
    setErr(null);
    try {
      saveBlob(await fetchBlob(token, s.pcap_url), `evidence-${s.node_id}-${s.evidence_id}.pcap`);
    } catch (e) {
      setErr(errText(e));
    } finally {
      setBusy(false);
    }
  };
  return (
    <div data-testid="evidence-item" data-status={s.status} data-node={s.node_id}>
      <span className="mono">{s.node_id}</span> <Badge kind={s.status === "ready" ? "online" : s.status === "pending" ? "learning" : "offline"}>{s.status}</Badge>{" "}
      {s.status === "ready" ? (
        <>
          {fmtNumber(s.frames)} frames, {fmtNumber(s.size / 1024, 1)} KiB{" "}
          <button type="button" className="linkish" disabled={busy} onClick={() => void download()} data-testid="evidence-download">
            Download pcap
          </button>
        </>
      ) : null}
      {evidenceFlags(s).map((f) => (
        <div key={f} className="muted" data-testid="evidence-flag">
          {f}
        </div>
      ))}
      {polled.error ? <div className="error">{errText(polled.error)}</div> : null}
      {err ? (
        <div className="error" role="alert" data-testid="evidence-download-error">
          {err}
        </div>
      ) : null}
    </div>
  );
}
