// /ws/events with reconnect and exponential back-off. Close 1008 (bad token) stops retrying.
// The token travels in the Sec-WebSocket-Protocol header (offered subprotocols
// ["fednids.v1", "bearer.<token>"]; the hub answers "fednids.v1"), never in the URL, which
// would land in access logs. The hub refuses a token in the query string.
import type { LiveFrame } from "../api/types";
import { backoffDelay } from "./backoff";

export type LiveState = "connecting" | "open" | "retrying" | "unauthorized" | "closed";

export interface SocketLike {
  onopen: ((ev: Event) => void) | null;
  onmessage: ((ev: MessageEvent) => void) | null;
  onclose: ((ev: CloseEvent) => void) | null;
  onerror: ((ev: Event) => void) | null;
  close(code?: number, reason?: string): void;
}

/** The subprotocol the hub accepts; the token rides beside it as `bearer.<token>`. */
export const LIVE_PROTOCOL = "fednids.v1";

export function liveProtocols(token: string): string[] {
  return [LIVE_PROTOCOL, `bearer.${token}`];
}

export interface LiveOptions {
  url: string;
  /** Offered subprotocols (liveProtocols(token)): they carry the token. */
  protocols: string[];
  onFrame: (frame: LiveFrame) => void;
  onState: (state: LiveState, detail?: string) => void;
  create?: (url: string, protocols: string[]) => SocketLike;
  schedule?: (fn: () => void, ms: number) => unknown;
  cancel?: (handle: unknown) => void;
  delay?: (attempt: number) => number;
}

export function parseFrame(data: unknown): LiveFrame | null {
  if (typeof data !== "string") return null;
  try {
    const f = JSON.parse(data) as Partial<LiveFrame>;
    if (typeof f.topic !== "string" || typeof f.event !== "object" || f.event === null) return null;
    return f as LiveFrame;
  } catch {
    return null;
  }
}

export function liveUrl(loc: Pick<Location, "protocol" | "host">, topics: string[]): string {
  const proto = loc.protocol === "https:" ? "wss" : "ws";
  const q = new URLSearchParams({ topics: topics.join(",") });
  return `${proto}://${loc.host}/ws/events?${q.toString()}`;
}

export class LiveSocket {
  private ws: SocketLike | null = null;
  private attempt = 0;
  private timer: unknown = null;
  private stopped = false;
  private readonly o: Required<LiveOptions>;

  constructor(opts: LiveOptions) {
    this.o = {
      create: (url, protocols) => new WebSocket(url, protocols) as unknown as SocketLike,
      schedule: (fn, ms) => setTimeout(fn, ms),
      cancel: (h) => clearTimeout(h as ReturnType<typeof setTimeout>),
      delay: (n) => backoffDelay(n),
      ...opts,
    };
  }

  start(): void {
    this.stopped = false;
    this.connect();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer !== null) this.o.cancel(this.timer);
    this.timer = null;
    const ws = this.ws;
    this.ws = null;
    if (ws) {
      ws.onclose = null;
      ws.close(1000, "bye");
    }
    this.o.onState("closed");
  }

  private connect(): void {
    this.timer = null;
    this.o.onState(this.attempt === 0 ? "connecting" : "retrying");
    const ws = this.o.create(this.o.url, this.o.protocols);
    this.ws = ws;
    ws.onopen = () => {
      this.attempt = 0;
      this.o.onState("open");
    };
    ws.onmessage = (ev) => {
      const frame = parseFrame(ev.data);
      if (frame) this.o.onFrame(frame);
    };
    ws.onerror = () => {
      /* onclose follows and decides */
    };
    ws.onclose = (ev) => {
      this.ws = null;
      if (this.stopped) return;
      if (ev.code === 1008) {
        this.o.onState("unauthorized", ev.reason);
        return;
      }
      const wait = this.o.delay(this.attempt);
      this.attempt += 1;
      this.o.onState("retrying", `reconnecting in ${(wait / 1000).toFixed(1)} s`);
      this.timer = this.o.schedule(() => this.connect(), wait);
    };
  }
}
