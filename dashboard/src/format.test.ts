import { describe, expect, it } from "vitest";
import { binByMinute, FAMILIES, fmtAgo, fmtNumber } from "./format";
import { buildUrl } from "./api/client";
import { matchPage } from "./router";

describe("binByMinute", () => {
  it("groups by minute in time order with families in a stable order", () => {
    const bins = binByMinute(
      [
        { minute: "2026-01-01T00:02:00+00:00", family: "scan", count: 2 },
        { minute: "2026-01-01T00:01:00+00:00", family: "scan", count: 1 },
        { minute: "2026-01-01T00:01:00+00:00", family: "dos", count: 4 },
        { minute: "2026-01-01T00:01:00+00:00", family: "dos", count: 1 },
      ],
      FAMILIES,
    );
    expect(bins.map((b) => b.total)).toEqual([6, 2]);
    expect(bins[0]!.parts).toEqual([
      { family: "dos", count: 5 },
      { family: "scan", count: 1 },
    ]);
  });
  it("is empty for no rows", () => {
    expect(binByMinute([], FAMILIES)).toEqual([]);
  });
});

describe("formatting", () => {
  it("formats numbers and missing values", () => {
    expect(fmtNumber(1234.5, 1)).toBe("1,234.5");
    expect(fmtNumber(null)).toBe("—");
  });
  it("formats ages", () => {
    const now = Date.parse("2026-01-01T01:00:00Z");
    expect(fmtAgo("2026-01-01T00:59:30Z", now)).toBe("30s ago");
    expect(fmtAgo("2026-01-01T00:00:00Z", now)).toBe("1h ago");
    expect(fmtAgo("garbage", now)).toBe("—");
  });
});

describe("urls and routes", () => {
  it("drops empty query parameters", () => {
    expect(buildUrl("/alerts", { status: "open", severity: "", cursor: null, limit: 25 })).toBe(
      "/api/alerts?status=open&limit=25",
    );
  });
  it("matches known pages and falls back to the overview", () => {
    expect(matchPage("/fleet/")).toBe("/fleet");
    expect(matchPage("/nope")).toBe("/");
  });
});
