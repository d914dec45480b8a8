// Which REST queries a live frame makes stale, and a batcher so a burst of events causes one
// refetch per query every `everyMs` rather than one per event.
export const LIVE_TOPICS = [
  "alerts",
  "anomalies",
  "attack_classified",
  "attack_predicted",
  "fl_events",
  "node_status",
  "models",
  "assets",
] as const;

const KEYS: Record<string, string[]> = {
  anomalies: ["anomalies", "overview"],
  attack_classified: ["classifications", "overview", "graph"],
  attack_predicted: ["predictions", "graph"],
  alerts: ["alerts", "overview"],
  fl_events: ["fl"],
  node_status: ["nodes", "overview", "models"],
  models: ["models"],
  assets: ["assets"],
};

export function keysForTopic(topic: string): string[] {
  return KEYS[topic] ?? [];
}

export class Batcher {
  private dirty = new Set<string>();
  private handle: unknown = null;

  constructor(
    private readonly flush: (keys: string[]) => void,
    private readonly everyMs = 2000,
    private readonly schedule: (fn: () => void, ms: number) => unknown = (fn, ms) => setTimeout(fn, ms),
    private readonly cancel: (h: unknown) => void = (h) => clearTimeout(h as ReturnType<typeof setTimeout>),
  ) {}

  add(keys: string[]): void {
    for (const k of keys) this.dirty.add(k);
    if (this.handle === null && this.dirty.size > 0) {
      this.handle = this.schedule(() => this.run(), this.everyMs);
    }
  }

  dispose(): void {
    if (this.handle !== null) this.cancel(this.handle);
    this.handle = null;
    this.dirty.clear();
  }

  private run(): void {
    this.handle = null;
    const keys = [...this.dirty].sort();
    this.dirty.clear();
    if (keys.length) this.flush(keys);
  }
}
