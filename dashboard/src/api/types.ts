// Every API type here is GENERATED: src/api/generated.ts is openapi-typescript's output for
// src/api/openapi.json, which is the hub's own create_app().openapi() (its pydantic response
// models, plus the /ws/events frame). Regenerate both with `make schemas`
// (scripts/gen-dashboard-types.sh); a unit test fails when they are stale. This file only
// gives the generated shapes the names the dashboard uses: add no hand-kept shapes here.
import type { components, paths } from "./generated";

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

/** One frame of /ws/events. */
export type LiveFrame = S["LiveFrame"];
export type LiveEvent = LiveFrame["event"];

/** Query parameters of a GET endpoint, from the generated OpenAPI paths. */
export type QueryOf<P extends keyof paths> = paths[P] extends { get: { parameters: { query?: infer Q } } }
  ? NonNullable<Q>
  : never;
export type AnomalyQuery = QueryOf<"/api/anomalies">;
export type ClassificationQuery = QueryOf<"/api/classifications">;
export type AlertQuery = QueryOf<"/api/alerts">;

/** The 200 body of an endpoint, from the generated OpenAPI paths. */
export type ResponseOf<P extends keyof paths, M extends "get" | "post" = "get"> = paths[P] extends {
  [K in M]: { responses: { 200: { content: { "application/json": infer R } } } };
}
  ? R
  : never;

/** A cursor page of T (every list endpoint's shape: items + next_cursor). */
export type Page<T> = Omit<S["AnomalyPage"], "items"> & { items: T[] };

export type AlertItem = S["AlertItem"];
export type Overview = S["Overview"];
export type NodeItem = S["NodeItem"];
export type FLRound = S["FLRound"];
export type FLNode = S["FLNode"];
export type FLSummary = S["FLSummary"];
export type ModelItem = S["ModelItem"];
export type GraphNode = S["GraphNode"];
export type GraphEdge = S["GraphEdge"];
/** A sensor and a host it saw as the source of flows (where the sensor sits in the graph). */
export type SensorLink = S["SensorLink"];
export type Graph = S["Graph"];
export type Suppression = S["Suppression"];
export type SuppressionDetail = S["SuppressionDetail"];
export type SuppressionMatch = S["SuppressionMatch-Input"];
export type SuppressionCreate = S["SuppressionCreate"];
export type SuppressionDraft = S["SuppressionDraft"];
export type IncidentContext = S["IncidentContext"];
export type FlowMeta = S["FlowMeta"];
export type FalsePositiveResult = S["FalsePositiveResult"];
export type AssetItem = S["AssetItem"];
export type AssetPage = S["AssetPage"];
export type AssetQuery = QueryOf<"/api/assets">;
export type EvidenceStatus = S["EvidenceStatus"];
export type EvidenceList = S["EvidenceList"];
export type IntelStatus = S["IntelStatus"];
export type OutputStatus = S["OutputStatus"];
export type OutputList = S["OutputList"];
