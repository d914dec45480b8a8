import { describe, expect, it } from "vitest";
import { backoffDelay } from "./backoff";

describe("backoffDelay", () => {
  it("doubles from the base and stops at the cap", () => {
    const mid = () => 0.5; // no jitter
    expect([0, 1, 2, 3].map((n) => backoffDelay(n, 500, 15000, 0.2, mid))).toEqual([500, 1000, 2000, 4000]);
    expect(backoffDelay(20, 500, 15000, 0.2, mid)).toBe(15000);
  });
  it("keeps jitter within bounds and never exceeds the cap", () => {
    expect(backoffDelay(1, 500, 15000, 0.2, () => 0)).toBe(800);
    expect(backoffDelay(1, 500, 15000, 0.2, () => 1)).toBe(1200);
    expect(backoffDelay(30, 500, 15000, 0.2, () => 1)).toBe(15000);
  });
});
