// TanStack Query hooks, one per endpoint; keys start with the names live frames invalidate.
import { keepPreviousData, useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useAuth } from "../state";
import { apiFetch, type Params } from "./client";
import type {
  AlertItem,
  AssetPage,
  AssetQuery,
  EvidenceList,
  EvidenceStatus,
  IntelStatus,
  OutputList,
  AnomalyEvent,
  Classification,
  FLEvent,
  FLSummary,
  FalsePositiveResult,
  Graph,
  IncidentContext,
  Overview,
  Page,
  Prediction,
  QueryOf,
  ResponseOf,
  SuppressionCreate,
  SuppressionDetail,
  SuppressionDraft,
} from "./types";

// Query parameters and bodies are typed by the GENERATED OpenAPI (`make schemas`): a misspelt
// or removed parameter or field is a type error.

function useGet<T>(key: string, path: string, params: Params = {}, refetchMs = 15000) {
  const { token } = useAuth();
  return useQuery({
    queryKey: [key, path, params, token],
    queryFn: () => apiFetch<T>(token, path, params),
    enabled: !!token,
    refetchInterval: refetchMs,
    placeholderData: keepPreviousData,
  });
}

export const useOverview = () => useGet<Overview>("overview", "/overview");
export const useNodes = () => useGet<ResponseOf<"/api/nodes">>("nodes", "/nodes", {}, 5000);
export const useModels = () => useGet<ResponseOf<"/api/models">>("models", "/models");
export const useGraph = (minutes: number) => {
  const p: QueryOf<"/api/graph"> = { minutes };
  return useGet<Graph>("graph", "/graph", p, 20000);
};
export const useFlSummary = () => useGet<FLSummary>("fl", "/fl/summary");
export const useFlEvents = (p: QueryOf<"/api/fl/events"> = { limit: 20 }) =>
  useGet<Page<FLEvent>>("fl", "/fl/events", p);
export const useAnomalies = (p: QueryOf<"/api/anomalies">) =>
  useGet<Page<AnomalyEvent>>("anomalies", "/anomalies", p);
export const useClassifications = (p: QueryOf<"/api/classifications">) =>
  useGet<Page<Classification>>("classifications", "/classifications", p);
export const usePredictions = (p: QueryOf<"/api/predictions">) =>
  useGet<Page<Prediction>>("predictions", "/predictions", p);
export const useAlerts = (p: QueryOf<"/api/alerts">) => useGet<Page<AlertItem>>("alerts", "/alerts", p);

export function useAlertAction() {
  const { token } = useAuth();
  const qc = useQueryClient();
  return useMutation({
    mutationFn: ({ id, action }: { id: string; action: "acknowledge" | "resolve" }) =>
      apiFetch<AlertItem>(token, `/alerts/${encodeURIComponent(id)}/${action}`, {}, { method: "POST" }),
    onSuccess: () => {
      void qc.invalidateQueries({ queryKey: ["alerts"] });
      void qc.invalidateQueries({ queryKey: ["overview"] });
    },
  });
}

export const useIncidentContext = (id: string) =>
  useGet<IncidentContext>("alerts", `/alerts/${encodeURIComponent(id)}/context`, {}, 30000);
export const useSuppressions = (p: QueryOf<"/api/suppressions">) =>
  useGet<ResponseOf<"/api/suppressions">>("suppressions", "/suppressions", p);
export const useSuppression = (id: string) =>
  useGet<SuppressionDetail>("suppressions", `/suppressions/${encodeURIComponent(id)}`);

function useInvalidating<V, R>(fn: (token: string | null, v: V) => Promise<R>) {
  const { token } = useAuth();
  const qc = useQueryClient();
  return useMutation({
    mutationFn: (v: V) => fn(token, v),
    onSuccess: () => {
      for (const k of ["alerts", "suppressions", "overview"]) void qc.invalidateQueries({ queryKey: [k] });
    },
  });
}

export function useDraft() {
  const { token } = useAuth();
  return useMutation({
    mutationFn: (id: string) => apiFetch<SuppressionDraft>(token, `/alerts/${encodeURIComponent(id)}/suppression-draft`),
  });
}

export const useCreateSuppression = () =>
  useInvalidating((token, body: SuppressionCreate) =>
    apiFetch<SuppressionDetail>(token, "/suppressions", {}, { method: "POST", body: JSON.stringify(body) }),
  );

export const useFalsePositive = () =>
  useInvalidating((token, { id, expires_at }: { id: string; expires_at: string }) =>
    apiFetch<FalsePositiveResult>(
      token,
      `/alerts/${encodeURIComponent(id)}/false-positive`,
      {},
      { method: "POST", body: JSON.stringify({ reason: "false positive", expires_at }) },
    ),
  );

export const useEndSuppression = () =>
  useInvalidating((token, { id, how }: { id: string; how: "expire" | "delete" }) =>
    apiFetch<SuppressionDetail>(
      token,
      how === "expire" ? `/suppressions/${id}/expire` : `/suppressions/${id}`,
      {},
      { method: how === "expire" ? "POST" : "DELETE" },
    ),
  );

export const useAssets = (p: AssetQuery) => useGet<AssetPage>("assets", "/assets", p, 30000);

/** One evidence request, polled every second while the node has not answered yet. */
export function useEvidence(id: string | null) {
  const { token } = useAuth();
  return useQuery({
    queryKey: ["evidence", `/evidence/${id ?? ""}`, {}, token],
    queryFn: () => apiFetch<EvidenceStatus>(token, `/evidence/${encodeURIComponent(id ?? "")}`),
    enabled: !!token && !!id,
    refetchInterval: (q) => (q.state.error || (q.state.data && q.state.data.status !== "pending") ? false : 1000),
  });
}

export function useRequestEvidence() {
  const { token } = useAuth();
  return useMutation({
    mutationFn: (alertId: string) =>
      apiFetch<EvidenceList>(token, `/alerts/${encodeURIComponent(alertId)}/evidence`, {}, { method: "POST", body: "{}" }),
  });
}

export const useIntel = () => useGet<IntelStatus>("intel", "/intel", {}, 60000);
export const useOutputs = () => useGet<OutputList>("outputs", "/outputs", {}, 5000);
