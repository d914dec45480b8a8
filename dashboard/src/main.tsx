import { StrictMode } from "react";
import { createRoot } from "react-dom/client";
import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { App } from "./App";
import { initialToken, tokenFromHash } from "./auth";
import { AppState } from "./state";
import "./styles.css";

const token = initialToken(sessionStorage, window.location);
const { token: fromHash, rest } = tokenFromHash(window.location.hash);
if (fromHash) window.history.replaceState(null, "", window.location.pathname + window.location.search + rest);

const client = new QueryClient({
  defaultOptions: { queries: { retry: (n, err) => n < 2 && !(err instanceof Error && /^40[13]/.test(err.message)), staleTime: 2000 } },
});

const root = document.getElementById("root");
if (root) {
  createRoot(root).render(
    <StrictMode>
      <QueryClientProvider client={client}>
        <AppState initial={token}>
          <App />
        </AppState>
      </QueryClientProvider>
    </StrictMode>,
  );
}
