// Exponential backoff with jitter for retries (removals, webhooks): a recovering peer is not stampeded.

/** Delay before attempt `attempts + 1`: initial × 2^attempts, capped, then scaled into [50%, 100%] by `random`. */
export function backoffDelay(attempts: number, initialMs: number, maxMs: number, random: number): number {
  const exponential = Math.min(maxMs, initialMs * 2 ** Math.min(attempts, 30));
  return Math.round(exponential * (0.5 + random / 2));
}
