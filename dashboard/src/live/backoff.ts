/** Reconnect delay: exponential from `base` up to `max`, with +-`jitter` proportional noise. */
export function backoffDelay(
  attempt: number,
  base = 500,
  max = 15000,
  jitter = 0.2,
  random: () => number = Math.random,
): number {
  const raw = Math.min(max, base * 2 ** Math.max(0, attempt));
  const noise = 1 + jitter * (2 * random() - 1);
  return Math.round(Math.min(max, raw * noise));
}
