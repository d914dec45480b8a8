import { describe, expect, it } from "vitest";
import type { OutputList, OutputStatus } from "../api/types";
import { renderWith } from "../test/render";
import { fmtCursor, fmtLag, OutputsPage } from "./Outputs";

const out = (name: string, over: Partial<OutputStatus> = {}): OutputStatus => ({
  name,
  kind: "webhook",
  filter: "severity >= high; all families; all nodes; suppressed skipped",
  health: "healthy",
  up: true,
  lag_records: 0,
  lag_seconds: 0,
  cursor: [{ topic: "alerts", partition: 0, offset: 12 }],
  last_success: "2026-12-01T11:00:00+00:00",
  last_error: null,
  last_error_at: null,
  consecutive_failures: 0,
  delivered: 12,
  suppressed: 2,
  rate_limited: 1,
  filtered: 0,
  rejected: 0,
  undecodable: 0,
  failures: 0,
  started: "2026-12-01T10:00:00+00:00",
  updated: "2026-12-01T11:00:05+00:00",
  age_s: 1,
  ...over,
});
const data = (list: OutputList): [string, string, Record<string, unknown>, unknown][] => [["outputs", "/outputs", {}, list]];

describe("Outputs page", () => {
  it("shows each output's health, lag, last error and counts; a down one as unhealthy", () => {
    const down = out("ticketing", { health: "unhealthy", up: false, lag_records: 25, lag_seconds: 185, last_error: "HTTP 503 from the receiver", consecutive_failures: 7, delivered: 0 });
    const html = renderWith(<OutputsPage />, data({ items: [out("siem"), down], stale_after_s: 30 }));
    expect(html).toMatch(/data-output="ticketing" data-health="unhealthy"/);
    expect(html).toMatch(/data-output="siem" data-health="healthy"/);
    expect(html).toContain("HTTP 503 from the receiver");
    expect(html).toMatch(/data-testid="output-lag-records">25</);
    expect(html).toContain("3 m 05 s");
    expect(html).toMatch(/data-testid="output-failures">7</);
    expect(html).toMatch(/data-testid="outputs-unhealthy"><div class="stat-value">1</);
    expect(html).toContain("alerts:0@12");
    expect(html).toMatch(/data-testid="output-suppressed">2</);
  });
  it("says when no outputs process has reported, and marks a stale one", () => {
    expect(renderWith(<OutputsPage />, data({ items: [], stale_after_s: 30 }))).toContain("No outputs process has reported yet");
    const html = renderWith(<OutputsPage />, data({ items: [out("siem", { health: "stale", lag_records: null })], stale_after_s: 30 }));
    expect(html).toContain("last write");
    expect(html).toMatch(/data-testid="output-lag-records">unknown</);
  });
  it("formats lags and cursors", () => {
    expect([fmtLag(0), fmtLag(42.4), fmtLag(185), fmtLag(7800), fmtLag(null)]).toEqual(["0 s", "42 s", "3 m 05 s", "2 h 10 m", "—"]);
    expect(fmtCursor({ cursor: [] })).toBe("—");
    expect(fmtCursor({ cursor: [{ topic: "alerts", partition: 0, offset: 1 }, { topic: "alerts", partition: 1, offset: 4 }] })).toBe("alerts:0@1 alerts:1@4");
  });
});
