// TanStack Query hooks, one per endpoint; keys start with the names live frames invalidate.
import { keepPreviousData, useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useAuth } from "../state";
import { apiFetch, type Params } from "./client";
import type {
  AlertItem,
  AnomalyEvent,
  Classification,
  FLEvent,
  FLSummary,
  Graph,
  ModelItem,
  NodeItem,
  Overview,
  Page,
  Prediction,
  QueryOf,
} from "./types";

// Query parameters are typed by the GENERATED OpenAPI paths: a misspelt or removed parameter
// is a type error after `npm run types:gen`.

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
export const useNodes = () => useGet<{ items: NodeItem[] }>("nodes", "/nodes", {}, 5000);
export const useModels = () => useGet<{ items: ModelItem[] }>("models", "/models");
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
