import { useState } from "react";
import { useAnomalies, useClassifications, useNodes } from "../api/queries";
import type { AnomalyEvent, Classification, Detector, Family, Severity } from "../api/types";
import { Badge, Card, Empty, ErrorBox, Pager } from "../components/ui";
import { usePager } from "../components/usePager";
import { FAMILIES, familyColor, fmtNumber, fmtTime } from "../format";

// The option lists are checked against the GENERATED types: a detector or severity added to
// (or removed from) contracts/events.py is a type error here after `make schemas`.
const DETECTORS = ["", "lstm", "rules", "iforest", "novelty", "ioc"] as const satisfies readonly ("" | Detector)[];
const SEVERITIES = ["", "critical", "high", "medium", "low", "info"] as const satisfies readonly ("" | Severity)[];
type Exhaustive<All, Listed> = [All] extends [Listed] ? true : never;
const _allDetectors: Exhaustive<Detector, (typeof DETECTORS)[number]> = true;
const _allSeverities: Exhaustive<Severity, (typeof SEVERITIES)[number]> = true;
void _allDetectors;
void _allSeverities;

export function DetectionsPage() {
  const [tab, setTab] = useState<"anomalies" | "classifications">("anomalies");
  const nodes = useNodes();
  const [node, setNode] = useState("");
  return (
    <div className="grid">
      <div className="tabs wide" role="tablist">
        {(["anomalies", "classifications"] as const).map((t) => (
          <button key={t} type="button" role="tab" aria-selected={tab === t} onClick={() => setTab(t)} data-testid={`tab-${t}`}>
            {t === "anomalies" ? "Anomalies" : "Classifications"}
          </button>
        ))}
        <label>
          Sensor{" "}
          <select value={node} onChange={(e) => setNode(e.target.value)}>
            <option value="">all</option>
            {(nodes.data?.items ?? []).map((n) => (
              <option key={n.node_id}>{n.node_id}</option>
            ))}
          </select>
        </label>
      </div>
      {tab === "anomalies" ? <Anomalies node={node} key={`a${node}`} /> : <Classifications node={node} key={`c${node}`} />}
    </div>
  );
}

function Anomalies({ node }: { node: string }) {
  const [detector, setDetector] = useState<"" | Detector>("");
  const [severity, setSeverity] = useState<"" | Severity>("");
  const pager = usePager();
  const q = useAnomalies({
    detector: detector || undefined,
    severity: severity || undefined,
    node_id: node,
    cursor: pager.cursor,
    limit: 25,
  });
  const items = q.data?.items ?? [];
  return (
    <Card title="Anomalies" wide>
      <div className="filters">
        <Select label="Detector" value={detector} options={DETECTORS} onChange={(v) => (setDetector(v), pager.reset())} />
        <Select label="Severity" value={severity} options={SEVERITIES} onChange={(v) => (setSeverity(v), pager.reset())} />
      </div>
      <ErrorBox error={q.error} />
      {items.length ? (
        <div className="scroll">
          <table data-testid="anomalies-table">
            <thead>
              <tr>
                <th>Time</th>
                <th>Sensor</th>
                <th>Detector</th>
                <th>Severity</th>
                <th>Flow</th>
                <th className="num">Score / threshold</th>
                <th>Evidence</th>
              </tr>
            </thead>
            <tbody>
              {items.map((a) => (
                <AnomalyRow key={a.event_id} a={a} />
              ))}
            </tbody>
          </table>
        </div>
      ) : (
        <Empty>{q.isLoading ? "Loading…" : "No anomalies match."}</Empty>
      )}
      <Pager canBack={pager.canBack} next={q.data?.next_cursor} onBack={pager.back} onNext={() => pager.next(q.data?.next_cursor)} />
    </Card>
  );
}

function AnomalyRow({ a }: { a: AnomalyEvent }) {
  const ev = Object.entries(a.evidence ?? {}).slice(0, 4);
  return (
    <tr>
      <td>{fmtTime(a.ts)}</td>
      <td className="mono">{a.node_id}</td>
      <td>
        {a.detector}
        {a.rule_id ? <div className="mono small">{a.rule_id}</div> : null}
      </td>
      <td>
        <Badge kind={a.severity ?? "medium"}>{a.severity}</Badge>
      </td>
      <td className="mono small">
        {a.src_ip ?? "?"} → {a.dst_ip ?? "?"}
        {a.dst_port != null ? `:${a.dst_port}` : ""}
      </td>
      <td className="num">
        {fmtNumber(a.score, 3)} / {fmtNumber(a.threshold, 3)}
      </td>
      <td className="small">{ev.map(([k, v]) => `${k}=${typeof v === "number" ? fmtNumber(v, 3) : String(v)}`).join(", ") || "—"}</td>
    </tr>
  );
}

function Classifications({ node }: { node: string }) {
  const [family, setFamily] = useState<"" | Family>("");
  const pager = usePager();
  const q = useClassifications({ family: family || undefined, node_id: node, cursor: pager.cursor, limit: 25 });
  const items = q.data?.items ?? [];
  return (
    <Card title="Classifications" wide>
      <div className="filters">
        <Select label="Family" value={family} options={["", ...FAMILIES]} onChange={(v) => (setFamily(v), pager.reset())} />
      </div>
      <ErrorBox error={q.error} />
      {items.length ? (
        <div className="scroll">
          <table data-testid="classifications-table">
            <thead>
              <tr>
                <th>Time</th>
                <th>Sensor</th>
                <th>Family</th>
                <th className="num">Confidence</th>
                <th>Flow</th>
                <th>Detectors voting</th>
                <th>Rules</th>
                <th>Top features (why)</th>
              </tr>
            </thead>
            <tbody>
              {items.map((c) => (
                <ClassRow key={c.event_id} c={c} />
              ))}
            </tbody>
          </table>
        </div>
      ) : (
        <Empty>{q.isLoading ? "Loading…" : "No classifications match."}</Empty>
      )}
      <Pager canBack={pager.canBack} next={q.data?.next_cursor} onBack={pager.back} onNext={() => pager.next(q.data?.next_cursor)} />
    </Card>
  );
}

function ClassRow({ c }: { c: Classification }) {
  return (
    <tr>
      <td>{fmtTime(c.ts)}</td>
      <td className="mono">{c.node_id}</td>
      <td>
        <span className="swatch" style={{ background: familyColor(c.family) }} /> {c.family}
      </td>
      <td className="num">{fmtNumber(c.confidence * 100, 0)}%</td>
      <td className="mono small">
        {c.src_ip ?? "?"} → {c.dst_ip ?? "?"}
        {c.dst_port != null ? `:${c.dst_port}` : ""}
      </td>
      <td>{(c.detectors ?? []).join(", ") || "—"}</td>
      <td className="mono small">{(c.rule_ids ?? []).join(", ") || "—"}</td>
      <td className="small">
        {(c.top_features ?? [])
          .slice(0, 3)
          .map((f) => `${f.name} (${f.contribution >= 0 ? "+" : ""}${fmtNumber(f.contribution, 2)})`)
          .join(", ") || "—"}
      </td>
    </tr>
  );
}

function Select<T extends string>({
  label,
  value,
  options,
  onChange,
}: {
  label: string;
  value: T;
  options: readonly T[];
  onChange: (v: T) => void;
}) {
  return (
    <label>
      {label}{" "}
      <select value={value} onChange={(e) => onChange(e.target.value as T)}>
        {options.map((o) => (
          <option key={o} value={o}>
            {o || "any"}
          </option>
        ))}
      </select>
    </label>
  );
}
