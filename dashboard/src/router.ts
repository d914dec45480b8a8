// A tiny pathname router (the API serves index.html for every non-API path).
import { useEffect, useState } from "react";

export const PAGES = [
  { path: "/", title: "Overview" },
  { path: "/graph", title: "Attack graph" },
  { path: "/detections", title: "Anomalies & classifications" },
  { path: "/alerts", title: "Alerts" },
  { path: "/fl", title: "Federated learning" },
  { path: "/fleet", title: "Fleet" },
  { path: "/suppressions", title: "Suppressions" },
  { path: "/inventory", title: "Inventory" },
  { path: "/intel", title: "Threat intel" },
  { path: "/outputs", title: "Outputs" },
] as const;
export type PagePath = (typeof PAGES)[number]["path"];

export function matchPage(pathname: string): PagePath {
  const clean = pathname.replace(/\/+$/, "") || "/";
  return PAGES.find((p) => p.path === clean)?.path ?? "/";
}

export function navigate(path: string): void {
  if (window.location.pathname === path) return;
  window.history.pushState(null, "", path);
  window.dispatchEvent(new PopStateEvent("popstate"));
}

export function usePath(): PagePath {
  const [path, setPath] = useState(() => matchPage(window.location.pathname));
  useEffect(() => {
    const on = () => setPath(matchPage(window.location.pathname));
    window.addEventListener("popstate", on);
    return () => window.removeEventListener("popstate", on);
  }, []);
  return path;
}
