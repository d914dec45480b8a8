import { describe, expect, it } from "vitest";
import { Batcher, keysForTopic, LIVE_TOPICS } from "./invalidate";

describe("keysForTopic", () => {
  it("maps every subscribed topic to at least one query", () => {
    for (const t of LIVE_TOPICS) expect(keysForTopic(t).length).toBeGreaterThan(0);
    expect(keysForTopic("alerts")).toContain("alerts");
    expect(keysForTopic("nope")).toEqual([]);
  });
});

describe("Batcher", () => {
  it("flushes a burst once, deduplicated and sorted", () => {
    const timers: (() => void)[] = [];
    const flushed: string[][] = [];
    const b = new Batcher((k) => flushed.push(k), 2000, (fn) => timers.push(fn), () => undefined);
    b.add(["overview", "alerts"]);
    b.add(["alerts", "anomalies"]);
    expect(timers).toHaveLength(1);
    timers[0]!();
    expect(flushed).toEqual([["alerts", "anomalies", "overview"]]);
    b.add(["fl"]);
    expect(timers).toHaveLength(2);
  });
  it("drops pending keys on dispose", () => {
    const timers: (() => void)[] = [];
    const flushed: string[][] = [];
    const b = new Batcher((k) => flushed.push(k), 10, (fn) => timers.push(fn), () => undefined);
    b.add(["alerts"]);
    b.dispose();
    timers[0]!();
    expect(flushed).toEqual([]);
  });
});
