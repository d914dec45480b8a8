// Threat intel: the hub's indicator bundle (sources, counts by type, each source's last
// import, the last publication to the fleet) and the sensors' IOC hits (detector=ioc).
import { useAnomalies, useIntel } from "../api/queries";
import type { AnomalyEvent } from "../api/types";
import { Card, Empty, ErrorBox, Stat } from "../components/ui";
import { fmtNumber, fmtTime } from "../format";

export const HIT_LIMIT = 200;
const epoch = (s: number | null): string => (s === null ? "—" : new Date(s * 1000).toISOString().slice(0, 16).replace("T", " "));

/** IOC hits per intel source (the `source` an IOC anomaly's evidence names). */
export function hitsBySource(hits: Pick<AnomalyEvent, "evidence">[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const h of hits) {
    const src = (h.evidence as Record<string, unknown> | null | undefined)?.source;
    const key = typeof src === "string" && src ? src : "(unnamed)";
    out[key] = (out[key] ?? 0) + 1;
  }
  return out;
}

export function IntelPage() {
  const intel = useIntel();
  const hits = useAnomalies({ detector: "ioc", limit: HIT_LIMIT });
  const s = intel.data;
  const items = hits.data?.items ?? [];
  const bySource = hitsBySource(items);
  const more = !!hits.data?.next_cursor;
  return (
    <div className="grid">
      <ErrorBox error={intel.error} />
      <Card title="Indicator bundle" testId="intel-bundle">
        {s && !s.configured ? <Empty>No threat-intel status on this hub (set FEDNIDS_HUB_INTEL_STATUS to the bundle's status file).</Empty> : null}
        {s?.error ? <p className="muted" data-testid="intel-error">{s.error}</p> : null}
        <div className="stats">
          <Stat label="indicators" value={fmtNumber(s?.count ?? 0)} testId="intel-count" />
          <Stat label="IOC hits" value={`${fmtNumber(items.length)}${more ? "+" : ""}`} testId="intel-hits" />
        </div>
        <p className="small">
          Version <span className="mono">{s?.version ?? "—"}</span>, made {epoch(s?.created_at ?? null)}, expires {epoch(s?.expires_at ?? null)}
        </p>
        <p className="small" data-testid="intel-published">
          {s?.published
            ? `Published to the fleet: v${s.published.version} at ${s.published.at.replace("T", " ")} (${s.published.parts} parts, ${fmtNumber(s.published.size_bytes / 1024, 1)} KiB, key ${s.published.key_id ?? "—"})`
            : "Not published to the fleet yet."}
        </p>
        {(s?.by_type ?? []).length ? (
          <table className="small" data-testid="intel-types">
            <tbody>
              {(s?.by_type ?? []).map((c) => (
                <tr key={c.key}>
                  <td>{c.key}</td>
                  <td className="num">{fmtNumber(c.count)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        ) : null}
      </Card>
      <Card title="Sources" wide testId="intel-sources">
        {(s?.sources ?? []).length ? (
          <table>
            <thead>
              <tr>
                <th>Source</th>
                <th>Formats</th>
                <th className="num">Parsed</th>
                <th className="num">In bundle</th>
                <th className="num">Hits</th>
                <th>Last import</th>
              </tr>
            </thead>
            <tbody>
              {(s?.sources ?? []).map((src) => (
                <tr key={src.name} data-testid="intel-source" data-source={src.name}>
                  <td className="mono">{src.name}</td>
                  <td>{src.formats.join(", ")}</td>
                  <td className="num">{fmtNumber(src.parsed)}</td>
                  <td className="num">{fmtNumber(src.indicators)}</td>
                  <td className="num" data-testid="intel-source-hits">
                    {fmtNumber(bySource[src.name] ?? 0)}
                  </td>
                  <td className="small">{src.imported_at ? src.imported_at.replace("T", " ") : "—"}</td>
                </tr>
              ))}
            </tbody>
          </table>
        ) : (
          <Empty>No source imported yet.</Empty>
        )}
      </Card>
      <Card title="Latest IOC hits" wide testId="intel-latest-hits">
        <ErrorBox error={hits.error} />
        {items.length ? (
          <table className="small">
            <tbody>
              {items.slice(0, 20).map((h) => (
                <tr key={h.event_id} data-testid="intel-hit">
                  <td>{fmtTime(h.ts)}</td>
                  <td className="mono">{h.node_id}</td>
                  <td className="mono">{h.rule_id ?? "ioc"}</td>
                  <td className="mono">
                    {h.src_ip ?? ""} → {h.dst_ip ?? ""}
                  </td>
                  <td className="mono">
                    {Object.entries(h.evidence ?? {})
                      .map(([k, v]) => `${k}=${String(v)}`)
                      .join(" ")}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        ) : (
          <Empty>No IOC hit yet.</Empty>
        )}
      </Card>
    </div>
  );
}
