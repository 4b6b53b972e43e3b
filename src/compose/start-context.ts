// What every part of a starting broker is built on: the config, the clock and logger, the sealer and the open store.
import type { Config } from "../config/index.js";
import type { Clock, Logger, Sealer } from "../support/index.js";
import type { OpenedStore } from "./open-store.js";

export interface StartContext {
  readonly config: Config;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly sealer: Sealer;
  readonly store: OpenedStore;
  /** True on a PostgreSQL store that several replicas may share. */
  readonly shared: boolean;
  /** This broker process: the holder of its leases among replicas sharing a PostgreSQL store. */
  readonly replicaId: string;
}

/**
 * The lease holder a periodic job takes turns with. Only replicas on a shared store take turns; a process alone on
 * SQLite runs every pass (and after a crash its successor must not wait for a lease the dead process held).
 */
export function turnTaker(ctx: StartContext): { readonly replicaId?: string } {
  return ctx.shared ? { replicaId: ctx.replicaId } : {};
}
