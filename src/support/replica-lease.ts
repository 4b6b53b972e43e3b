// One replica at a time: a periodic task on a shared store runs only where its store lease is held.
import type { Clock } from "./clock.js";

/** The part of the store's lease port that holding a lease needs. */
export interface LeaseStore {
  acquireLease(request: { name: string; holder: string; now: number; ttlMs: number }): Promise<unknown>;
}

/**
 * Takes or renews the lease `name` for `holder` for a little over two periods, so its holder keeps it by renewing it
 * every pass and another replica takes over about two periods after the holder dies. Without a holder (a store one
 * process uses) the task always runs.
 */
export async function holdsLease(
  deps: { readonly store: LeaseStore; readonly clock: Clock },
  name: string,
  holder: string | undefined,
  periodMs: number,
): Promise<boolean> {
  if (holder === undefined) return true;
  const lease = await deps.store.acquireLease({ name, holder, now: deps.clock.now(), ttlMs: periodMs * 2 + 5_000 });
  return lease !== null;
}
