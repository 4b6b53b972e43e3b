// One replica at a time: a periodic task on a shared store runs only where its store lease is held.
import type { LifecycleDeps } from "./deps.js";

/**
 * Takes or renews the lease `name` for `holder` for a little over two periods, so its holder keeps it by renewing it
 * every pass and another replica takes over about two periods after the holder dies. Without a holder (a store one
 * process uses) the task always runs.
 */
export async function holdsLease(
  deps: Pick<LifecycleDeps, "store" | "clock">,
  name: string,
  holder: string | undefined,
  periodMs: number,
): Promise<boolean> {
  if (holder === undefined) return true;
  const lease = await deps.store.acquireLease({ name, holder, now: deps.clock.now(), ttlMs: periodMs * 2 + 5_000 });
  return lease !== null;
}
