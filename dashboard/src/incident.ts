// How an incident (AlertEvent) reads in the incident view: who, what, when (event time).
import type { AlertEvent } from "./api/types";

type Evidence = NonNullable<AlertEvent["evidence"]>;

function iso(t: number): string {
  return new Date(t * 1000).toISOString().replace(".000Z", "Z");
}

function fmtSpan(s: number): string {
  if (s < 60) return `${Math.round(s * 10) / 10} s`;
  if (s < 3600) return `${Math.round(s / 6) / 10} min`;
  if (s < 86400) return `${Math.round(s / 360) / 10} h`;
  return `${Math.round(s / 8640) / 10} d`;
}

/** The incident's window in event (capture) time: "2014-05-13 16:53:20Z – 16:54:59Z (1.7 min)". */
export function fmtEventWindow(first: number | null | undefined, last: number | null | undefined): string {
  if (first === null || first === undefined || !Number.isFinite(first)) return "—";
  const a = iso(first).replace("T", " ");
  if (last === null || last === undefined || !Number.isFinite(last) || last <= first) return a;
  const b = iso(last).replace("T", " ");
  const sameDay = a.slice(0, 10) === b.slice(0, 10);
  return `${a} – ${sameDay ? b.slice(11) : b} (${fmtSpan(last - first)})`;
}

/** "a, b +3": up to ``max`` names and how many more. */
export function fmtHosts(hosts: readonly string[] | null | undefined, max = 3): string {
  const h = hosts ?? [];
  if (!h.length) return "";
  return h.slice(0, max).join(", ") + (h.length > max ? ` +${h.length - max}` : "");
}

/** Who attacked whom: named attackers, else the evidence's source count (a spoofed flood). */
export function fmtParties(a: Pick<AlertEvent, "attackers" | "targets" | "hosts" | "evidence">): { from: string; to: string } {
  const ev = a.evidence ?? {};
  const sources = typeof ev.sources === "number" ? ev.sources : 0;
  const targets = typeof ev.targets === "number" ? ev.targets : 0;
  const attackers = a.attackers ?? [];
  const named = a.targets ?? [];
  if (!attackers.length && !named.length) return { from: fmtHosts(a.hosts, 4), to: "" };
  const from = attackers.length ? fmtHosts(attackers) : sources ? `${sources.toLocaleString("en-US")} sources` : "—";
  let to = named.length ? fmtHosts(named) : "—";
  if (targets > named.length && named.length) {
    to = `${named.slice(0, 2).join(", ")}${named.length > 2 ? ", …" : ""} (${targets.toLocaleString("en-US")} hosts)`;
  }
  return { from, to };
}

const LABELS: Record<string, string> = {
  detections: "detections",
  hits: "hits (incl. suppressed)",
  sources: "sources",
  targets: "targets",
  ports: "ports",
  top_ports: "top ports",
  top_score_ratio: "top score (× threshold)",
  top_score_detector: "top score by",
  classified_family: "classifier says",
  classifier_confidence: "classifier confidence",
  duration_s: "duration (s)",
  counts_exact: "counts exact",
};

/** Evidence as label/value rows, in a stable order (known keys first). */
export function evidenceRows(ev: Evidence | null | undefined): [string, string][] {
  const rows: [string, string][] = [];
  const known = Object.keys(LABELS);
  const keys = Object.keys(ev ?? {}).sort((x, y) => {
    const i = known.indexOf(x), j = known.indexOf(y);
    return (i < 0 ? known.length : i) - (j < 0 ? known.length : j) || x.localeCompare(y);
  });
  for (const k of keys) {
    const v = (ev ?? {})[k];
    if (v === null || v === undefined) continue;
    const label = LABELS[k] ?? k.replace(/^peak_/, "peak ").replace(/_/g, " ");
    const text = typeof v === "number" ? v.toLocaleString("en-US", { maximumFractionDigits: 3 }) : String(v);
    rows.push([label, text]);
  }
  return rows;
}
