// Retention: ended grants and their requests older than `retention.endedGrants` leave the grant tables, in batches,
// on one replica at a time. The audit log keeps everything, receipts included: its chain is never cut.

import { systemEvent } from "../../audit/index.js";
import { describeError, holdsLease, Periodic } from "../../support/index.js";
import type { LifecycleDeps } from "../shared/deps.js";

const LEASE = "history-retention";
const BATCH = 500;
/** Batches per pass: a pass that finds more leaves the rest to the next one, so no pass holds the store for long. */
const MAX_BATCHES = 200;

export interface PruneResult {
  readonly grants: number;
  readonly requests: number;
}

/** Deletes what is past retention now; records one `history.pruned` audit event when anything went. */
export async function pruneHistory(deps: LifecycleDeps, keepMs: number): Promise<PruneResult> {
  const endedBefore = deps.clock.now() - keepMs;
  let grants = 0;
  let requests = 0;
  for (let batch = 0; batch < MAX_BATCHES; batch++) {
    const pruned = await deps.store.pruneHistory({ endedBefore, limit: BATCH });
    grants += pruned.grants;
    requests += pruned.requests;
    if (pruned.grants < BATCH && pruned.requests < BATCH) break;
  }
  if (grants + requests > 0) {
    await deps.store.apply({
      writes: [],
      audit: [
        systemEvent("history.pruned", deps.clock.now(), "retention", {
          grants,
          requests,
          endedBefore: new Date(endedBefore).toISOString(),
        }),
      ],
    });
  }
  return { grants, requests };
}

export interface HistoryRetentionOptions {
  readonly keepMs: number;
  readonly intervalMs: number;
  /** This replica's id when the store is shared: only the lease holder prunes. Absent: this process does. */
  readonly replicaId?: string;
}

export class HistoryRetention {
  readonly #task: Periodic<PruneResult>;

  constructor(
    private readonly deps: LifecycleDeps,
    private readonly options: HistoryRetentionOptions,
  ) {
    this.#task = new Periodic(
      async () =>
        (await holdsLease(deps, LEASE, options.replicaId, options.intervalMs))
          ? pruneHistory(deps, options.keepMs)
          : { grants: 0, requests: 0 },
      (error) => deps.logger.error({ err: describeError(error) }, "history retention pass failed; retrying"),
    );
  }

  start(): void {
    this.#task.start(this.options.intervalMs);
  }

  /** One pass now, after any pass already running. */
  runOnce(): Promise<PruneResult> {
    return this.#task.runOnce();
  }

  async stop(): Promise<void> {
    await this.#task.stop();
    if (this.options.replicaId !== undefined) {
      await this.deps.store.releaseLease(LEASE, this.options.replicaId).catch(() => undefined);
    }
  }
}
