// Render a page to static HTML with its queries' data preloaded (no network, no effects).
import type { ReactElement } from "react";
import { renderToStaticMarkup } from "react-dom/server";
import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { AppState } from "../state";

export const TOKEN = "test-token";

/** `data` maps [key, path, params] (as the hooks in api/queries.ts build them) to a response. */
export function renderWith(ui: ReactElement, data: [string, string, Record<string, unknown>, unknown][]): string {
  const qc = new QueryClient({ defaultOptions: { queries: { staleTime: Infinity, retry: false } } });
  for (const [key, path, params, value] of data) qc.setQueryData([key, path, params, TOKEN], value);
  return renderToStaticMarkup(
    <QueryClientProvider client={qc}>
      <AppState initial={TOKEN}>{ui}</AppState>
    </QueryClientProvider>,
  );
}
