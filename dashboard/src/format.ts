// Small formatting and data-shaping helpers (pure, unit-tested).
export function fmtNumber(n: number | null | undefined, digits = 0): string {
  if (n === null || n === undefined || Number.isNaN(n)) return "—";
  return n.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: digits });
}

export function fmtAgo(iso: string | null | undefined, now: number = Date.now()): string {
  if (!iso) return "—";
  const t = Date.parse(iso);
  if (Number.isNaN(t)) return "—";
  const s = Math.max(0, Math.round((now - t) / 1000));
  if (s < 60) return `${s}s ago`;
  if (s < 3600) return `${Math.floor(s / 60)}m ago`;
  if (s < 86400) return `${Math.floor(s / 3600)}h ago`;
  return `${Math.floor(s / 86400)}d ago`;
}

export function fmtTime(iso: string | null | undefined): string {
  if (!iso) return "—";
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? "—" : d.toLocaleTimeString("en-GB", { hour12: false });
}

export interface MinuteCount {
  minute: string;
  family: string;
  count: number;
}
export interface MinuteBin {
  minute: string;
  total: number;
  parts: { family: string; count: number }[];
}

/** Group per-minute counts into bins in time order, families in a stable order. */
export function binByMinute(rows: MinuteCount[], families: readonly string[]): MinuteBin[] {
  const bins = new Map<string, Map<string, number>>();
  for (const r of rows) {
    const m = bins.get(r.minute) ?? new Map<string, number>();
    m.set(r.family, (m.get(r.family) ?? 0) + r.count);
    bins.set(r.minute, m);
  }
  const rank = (f: string) => {
    const i = families.indexOf(f);
    return i < 0 ? families.length : i;
  };
  return [...bins.entries()]
    .sort(([a], [b]) => Date.parse(a) - Date.parse(b))
    .map(([minute, m]) => {
      const parts = [...m.entries()]
        .map(([family, count]) => ({ family, count }))
        .sort((a, b) => rank(a.family) - rank(b.family) || a.family.localeCompare(b.family));
      return { minute, parts, total: parts.reduce((s, p) => s + p.count, 0) };
    });
}

export const FAMILIES = ["dos", "scan", "bruteforce", "botnet", "web", "other", "benign"] as const;
export const FAMILY_COLOR: Record<string, string> = {
  dos: "#e4572e",
  scan: "#f3a712",
  bruteforce: "#a23b72",
  botnet: "#2e86ab",
  web: "#6a994e",
  other: "#8d8d8d",
  benign: "#c7c7c7",
};
export const familyColor = (f: string | null | undefined): string => FAMILY_COLOR[f ?? "other"] ?? "#8d8d8d";
