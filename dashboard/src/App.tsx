import { useState, type FormEvent, type MouseEvent } from "react";
import { navigate, PAGES, usePath } from "./router";
import { useAuth, useLive } from "./state";
import { OverviewPage } from "./pages/Overview";
import { GraphPage } from "./pages/AttackGraph";
import { DetectionsPage } from "./pages/Detections";
import { AlertsPage } from "./pages/Alerts";
import { FederatedPage } from "./pages/Federated";
import { FleetPage } from "./pages/Fleet";
import { SuppressionsPage } from "./pages/Suppressions";
import { InventoryPage } from "./pages/Inventory";
import { IntelPage } from "./pages/Intel";
import { OutputsPage } from "./pages/Outputs";

const VIEWS = {
  "/": OverviewPage,
  "/graph": GraphPage,
  "/detections": DetectionsPage,
  "/alerts": AlertsPage,
  "/fl": FederatedPage,
  "/fleet": FleetPage,
  "/suppressions": SuppressionsPage,
  "/inventory": InventoryPage,
  "/intel": IntelPage,
  "/outputs": OutputsPage,
} as const;

export function App() {
  const path = usePath();
  const { token } = useAuth();
  const View = VIEWS[path];
  const title = PAGES.find((p) => p.path === path)?.title ?? "";
  const go = (e: MouseEvent<HTMLAnchorElement>, to: string) => {
    if (e.metaKey || e.ctrlKey || e.shiftKey) return;
    e.preventDefault();
    navigate(to);
  };
  return (
    <div className="shell">
      <header className="top">
        <span className="brand">fednids</span>
        <nav>
          {PAGES.map((p) => (
            <a key={p.path} href={p.path} onClick={(e) => go(e, p.path)} aria-current={p.path === path ? "page" : undefined}>
              {p.title}
            </a>
          ))}
        </nav>
        <LiveBadge />
        <TokenBox />
      </header>
      <main data-testid={`page-${path === "/" ? "overview" : path.slice(1)}`}>
        <h1>{title}</h1>
        {token ? <View /> : <p className="empty">Enter an API token (printed by <code>fednids demo</code>) to see the fleet.</p>}
      </main>
    </div>
  );
}

function LiveBadge() {
  const live = useLive();
  return (
    <span className={`live live-${live.state}`} data-testid="live-state" title={live.detail ?? ""}>
      ● {live.state === "open" ? "live" : live.state}
    </span>
  );
}

function TokenBox() {
  const { token, setToken } = useAuth();
  const [draft, setDraft] = useState("");
  if (token) {
    return (
      <button type="button" className="linkish" onClick={() => setToken(null)} data-testid="sign-out">
        Sign out
      </button>
    );
  }
  const submit = (e: FormEvent) => {
    e.preventDefault();
    if (draft.trim()) setToken(draft.trim());
  };
  return (
    <form className="token" onSubmit={submit}>
      <input
        type="password"
        aria-label="API token"
        placeholder="API token"
        value={draft}
        onChange={(e) => setDraft(e.target.value)}
        autoComplete="off"
        data-testid="token-input"
      />
      <button type="submit">Sign in</button>
    </form>
  );
}
