import { describe, expect, it } from "vitest";
import { LiveSocket, liveProtocols, liveUrl, parseFrame, type LiveState, type SocketLike } from "./socket";

class FakeSocket implements SocketLike {
  onopen: SocketLike["onopen"] = null;
  onmessage: SocketLike["onmessage"] = null;
  onclose: SocketLike["onclose"] = null;
  onerror: SocketLike["onerror"] = null;
  closed = false;
  close() {
    this.closed = true;
  }
  open() {
    this.onopen?.({} as Event);
  }
  send(data: string) {
    this.onmessage?.({ data } as MessageEvent);
  }
  drop(code: number, reason = "") {
    this.onclose?.({ code, reason } as CloseEvent);
  }
}

function harness() {
  const sockets: FakeSocket[] = [];
  const timers: { fn: () => void; ms: number }[] = [];
  const states: LiveState[] = [];
  const frames: unknown[] = [];
  const offered: { url: string; protocols: string[] }[] = [];
  const live = new LiveSocket({
    url: "ws://x/ws/events",
    protocols: liveProtocols("fnd_t"),
    onFrame: (f) => frames.push(f),
    onState: (s) => states.push(s),
    create: (url, protocols) => {
      offered.push({ url, protocols });
      const s = new FakeSocket();
      sockets.push(s);
      return s;
    },
    schedule: (fn, ms) => timers.push({ fn, ms }),
    cancel: () => undefined,
    delay: (n) => 100 * 2 ** n,
  });
  return { live, sockets, timers, states, frames, offered };
}

describe("LiveSocket", () => {
  it("delivers well-formed frames and ignores garbage", () => {
    const h = harness();
    h.live.start();
    h.sockets[0]!.open();
    h.sockets[0]!.send(JSON.stringify({ topic: "alerts", event: { kind: "alert" } }));
    h.sockets[0]!.send("not json");
    h.sockets[0]!.send(JSON.stringify({ topic: 3 }));
    expect(h.frames).toEqual([{ topic: "alerts", event: { kind: "alert" } }]);
    expect(h.states).toEqual(["connecting", "open"]);
  });

  it("offers the token as a subprotocol, never in the URL", () => {
    const h = harness();
    h.live.start();
    expect(h.offered).toEqual([{ url: "ws://x/ws/events", protocols: ["fednids.v1", "bearer.fnd_t"] }]);
  });

  it("reconnects with growing delays and resets after a successful open", () => {
    const h = harness();
    h.live.start();
    h.sockets[0]!.drop(1006);
    expect(h.timers.map((t) => t.ms)).toEqual([100]);
    h.timers[0]!.fn();
    h.sockets[1]!.drop(1013, "too slow");
    expect(h.timers.map((t) => t.ms)).toEqual([100, 200]);
    h.timers[1]!.fn();
    h.sockets[2]!.open();
    h.sockets[2]!.drop(1006);
    expect(h.timers[2]!.ms).toBe(100);
    expect(h.states).toContain("retrying");
  });

  it("stops retrying on 1008 (bad token) and after stop()", () => {
    const h = harness();
    h.live.start();
    h.sockets[0]!.drop(1008, "missing or invalid token");
    expect(h.timers).toHaveLength(0);
    expect(h.states.at(-1)).toBe("unauthorized");
    const g = harness();
    g.live.start();
    g.live.stop();
    expect(g.sockets[0]!.closed).toBe(true);
    expect(g.timers).toHaveLength(0);
  });
});

describe("frames and URLs", () => {
  it("builds ws/wss URLs with the topics and no token", () => {
    expect(liveUrl({ protocol: "http:", host: "h:1" }, ["alerts", "anomalies"])).toBe(
      "ws://h:1/ws/events?topics=alerts%2Canomalies",
    );
    expect(liveUrl({ protocol: "https:", host: "h" }, ["alerts"]).startsWith("wss://")).toBe(true);
  });
  it("rejects non-string and event-less frames", () => {
    expect(parseFrame(42)).toBeNull();
    expect(parseFrame(JSON.stringify({ topic: "alerts", event: null }))).toBeNull();
  });
});
