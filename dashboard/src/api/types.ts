// Event types are GENERATED (src/api/schema.d.ts from src/api/openapi.json, itself dumped from
// the hub's app.openapi() + the contracts' models by scripts/dump_dashboard_openapi.py).
// The hub's aggregate endpoints (overview, nodes, graph, fl/summary, models) return untyped
// dicts in its OpenAPI, so their shapes below are built from the generated event fields where
// they can be; keep them in step with hub/storage/queries.py.
import type { components, paths } from "./schema";

type S = components["schemas"];
export type AnomalyEvent = S["AnomalyEvent"];
export type Classification = S["AttackClassification"];
export type Prediction = S["AttackPrediction"];
export type AlertEvent = S["AlertEvent"];
export type FLEvent = S["FLEvent"];
export type NodeStatus = S["NodeStatus"];
export type ModelAnnouncement = S["ModelAnnouncement"];
export type Severity = AlertEvent["severity"];
export type Family = Classification["family"];
export type Detector = AnomalyEvent["detector"];
export type LiveEvent =
  | AnomalyEvent
  | Classification
  | Prediction
  | AlertEvent
  | FLEvent
  | NodeStatus
  | ModelAnnouncement
  | S["FlowRecord"];

/** Query parameters of a GET endpoint, from the generated OpenAPI paths. */
export type QueryOf<P extends keyof paths> = paths[P] extends { get: { parameters: { query?: infer Q } } }
  ? NonNullable<Q>
  : never;
export type AnomalyQuery = QueryOf<"/api/anomalies">;
export type ClassificationQuery = QueryOf<"/api/classifications">;
export type AlertQuery = QueryOf<"/api/alerts">;

export interface Page<T> {
  items: T[];
  next_cursor: string | null;
}

export type AlertItem = AlertEvent & {
  alert_id: string;
  acknowledged_by: string | null;
  acknowledged_at: string | null;
  resolved_at: string | null;
};

export interface Overview {
  flows_total: number;
  anomalies_total: number;
  classifications_total: number;
  alerts_open: number;
  nodes_online: number;
  nodes_total: number;
  attacks_per_minute: { minute: string; family: Family; count: number }[];
  top_attacked_hosts: { host: string; count: number }[];
  events_per_second: number;
}

export type NodeItem = Pick<
  NodeStatus,
  | "node_id"
  | "packets_per_s"
  | "flows_total"
  | "anomalies_total"
  | "outbox_depth"
  | "model_version"
  | "drops"
  | "agent_version"
  | "reason"
> & {
  online: boolean;
  last_seen: string;
  /** The node's own benign baseline: learning (no novelty verdicts yet), ready or off. */
  baseline?: "learning" | "ready" | "off" | null;
  baseline_progress?: number | null;
};

export type FLRound = Pick<FLEvent, "round" | "loss" | "participants" | "samples" | "duration_s">;
export type FLNode = Pick<
  FLEvent,
  "node_id" | "epsilon" | "delta" | "budget_epsilon" | "budget_left" | "model_version"
>;
export interface FLSummary {
  rounds: FLRound[];
  nodes: FLNode[];
}

export type ModelItem = Pick<
  ModelAnnouncement,
  "model_name" | "version" | "sha256" | "size_bytes" | "key_id" | "ts"
> & { nodes: string[] };

export interface GraphNode {
  id: string;
  type: "host" | "sensor";
  attacked: boolean;
  compromised: boolean;
  predicted_probability: number | null;
}
export interface GraphEdge {
  source: string;
  target: string;
  flows: number;
  attack_family: Family | null;
}
/** A sensor and a host it saw as the source of flows (where the sensor sits in the graph). */
export interface SensorLink {
  sensor: string;
  host: string;
  flows: number;
}
export interface Graph {
  nodes: GraphNode[];
  edges: GraphEdge[];
  sensor_links?: SensorLink[];
  predictions: Pick<Prediction, "target_host" | "probability" | "severity" | "path">[];
}

/** One frame of /ws/events. */
export interface LiveFrame {
  topic: string;
  event: LiveEvent;
}
