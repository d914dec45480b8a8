// Hand-made SVG charts (no chart library): stacked bars per minute and a line.
import { binByMinute, familyColor, FAMILIES, fmtTime, type MinuteCount } from "../format";

export function StackedBars({ rows, height = 160 }: { rows: MinuteCount[]; height?: number }) {
  const bins = binByMinute(rows, FAMILIES);
  if (!bins.length) return <p className="empty">No attacks in the last hour.</p>;
  const W = 1000;
  const SLOTS = 60; // one bar per minute of the last hour, ending at the newest minute
  const max = Math.max(...bins.map((b) => b.total), 1);
  const bw = W / SLOTS;
  const last = Date.parse(bins[bins.length - 1]?.minute ?? "");
  const slot = (m: string) => SLOTS - 1 - Math.round((last - Date.parse(m)) / 60000);
  const present = [...new Set(rows.map((r) => r.family))];
  return (
    <figure className="chart">
      <svg viewBox={`0 0 ${W} ${height + 18}`} role="img" aria-label="attacks per minute by family">
        {bins.filter((b) => slot(b.minute) >= 0).map((b) => {
          let y = height;
          return (
            <g key={b.minute} transform={`translate(${slot(b.minute) * bw},0)`}>
              <title>{`${fmtTime(b.minute)}: ${b.parts.map((p) => `${p.family} ${p.count}`).join(", ")}`}</title>
              {b.parts.map((p) => {
                const h = (p.count / max) * (height - 4);
                y -= h;
                return <rect key={p.family} x={1} y={y} width={Math.max(bw - 2, 1)} height={h} fill={familyColor(p.family)} />;
              })}
            </g>
          );
        })}
        <text x={0} y={height + 14} className="axis">{fmtTime(new Date(last - (SLOTS - 1) * 60000).toISOString())}</text>
        <text x={W} y={height + 14} textAnchor="end" className="axis">{fmtTime(bins[bins.length - 1]?.minute)}</text>
        <text x={0} y={12} className="axis">max {max}/min</text>
      </svg>
      <figcaption className="legend">
        {present.map((f) => (
          <span key={f}>
            <i style={{ background: familyColor(f) }} /> {f}
          </span>
        ))}
      </figcaption>
    </figure>
  );
}

export function LineChart({ points, label, height = 180 }: { points: { x: number; y: number }[]; label: string; height?: number }) {
  if (points.length === 0) return <p className="empty">No data yet.</p>;
  const W = 1000;
  const xs = points.map((p) => p.x);
  const ys = points.map((p) => p.y);
  const [x0, x1] = [Math.min(...xs), Math.max(...xs)];
  const [y0, y1] = [Math.min(...ys), Math.max(...ys)];
  const sx = (x: number) => (x1 === x0 ? W / 2 : ((x - x0) / (x1 - x0)) * (W - 70) + 50);
  const sy = (y: number) => (y1 === y0 ? height / 2 : height - 24 - ((y - y0) / (y1 - y0)) * (height - 36));
  const d = points.map((p, i) => `${i ? "L" : "M"}${sx(p.x).toFixed(1)},${sy(p.y).toFixed(1)}`).join(" ");
  return (
    <svg className="chart" viewBox={`0 0 ${W} ${height}`} role="img" aria-label={label}>
      <path d={d} fill="none" stroke="#2e86ab" strokeWidth={2} />
      {points.map((p) => (
        <circle key={p.x} cx={sx(p.x)} cy={sy(p.y)} r={3} fill="#2e86ab">
          <title>{`${p.x}: ${p.y.toFixed(4)}`}</title>
        </circle>
      ))}
      <text x={4} y={sy(y1) + 4} className="axis">{y1.toFixed(3)}</text>
      <text x={4} y={sy(y0) + 4} className="axis">{y0.toFixed(3)}</text>
      <text x={sx(x0)} y={height - 4} textAnchor="middle" className="axis">round {x0}</text>
      {x1 !== x0 ? <text x={sx(x1)} y={height - 4} textAnchor="middle" className="axis">round {x1}</text> : null}
    </svg>
  );
}

export function Meter({ value, max, label }: { value: number; max: number; label: string }) {
  const frac = max > 0 ? Math.min(1, Math.max(0, value / max)) : 0;
  return (
    <div className="meter" role="meter" aria-valuenow={value} aria-valuemax={max} aria-label={label}>
      <div className={`meter-fill ${frac > 0.9 ? "bad" : frac > 0.7 ? "warn" : ""}`} style={{ width: `${frac * 100}%` }} />
    </div>
  );
}
