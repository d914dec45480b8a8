import type { ReactNode } from "react";

export function Card({ title, children, testId, wide }: { title: string; children: ReactNode; testId?: string; wide?: boolean }) {
  return (
    <section className={`card${wide ? " wide" : ""}`} data-testid={testId}>
      <h2>{title}</h2>
      {children}
    </section>
  );
}

export function Stat({ label, value, tone, testId }: { label: string; value: ReactNode; tone?: "bad" | "good"; testId?: string }) {
  return (
    <div className={`stat ${tone ?? ""}`} data-testid={testId}>
      <div className="stat-value">{value}</div>
      <div className="stat-label">{label}</div>
    </div>
  );
}

export function Badge({ kind, children }: { kind: string; children: ReactNode }) {
  return <span className={`badge badge-${kind}`}>{children}</span>;
}

export function Empty({ children }: { children: ReactNode }) {
  return <p className="empty">{children}</p>;
}

export function ErrorBox({ error }: { error: unknown }) {
  if (!error) return null;
  const msg = error instanceof Error ? error.message : String(error);
  const hint = /^401/.test(msg) ? " — sign out and enter a valid token" : "";
  return (
    <p className="error" role="alert">
      {msg}
      {hint}
    </p>
  );
}

export function Pager({ canBack, next, onBack, onNext }: { canBack: boolean; next: string | null | undefined; onBack: () => void; onNext: () => void }) {
  return (
    <div className="pager">
      <button type="button" onClick={onBack} disabled={!canBack}>
        ← Newer
      </button>
      <button type="button" onClick={onNext} disabled={!next}>
        Older →
      </button>
    </div>
  );
}
