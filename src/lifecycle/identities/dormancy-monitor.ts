// Runs the dormancy pass on a timer; with replicas on a shared store one of them runs it at a time, under a lease.
import { describeError, holdsLease, Periodic } from "../../support/index.js";
import type { LifecycleDeps } from "../shared/deps.js";
import { type DormancyResult, markDormantIdentities } from "./mark-dormant.js";

const LEASE = "identity-dormancy";
const IDLE: DormancyResult = { checked: 0, markedDormant: 0 };

export interface DormancyOptions {
  /** Unseen this long, an identity becomes dormant. */
  readonly dormantAfterMs: number;
  readonly intervalMs: number;
  /** This replica's id when the store is shared: only the lease holder runs the pass. Absent: this process does. */
  readonly replicaId?: string;
}

export class DormancyMonitor {
  readonly #task: Periodic<DormancyResult>;

  constructor(
    private readonly deps: LifecycleDeps,
    private readonly options: DormancyOptions,
  ) {
    this.#task = new Periodic(
      async () =>
        (await holdsLease(deps, LEASE, options.replicaId, options.intervalMs))
          ? markDormantIdentities(deps, options.dormantAfterMs)
          : IDLE,
      (error) => deps.logger.error({ err: describeError(error) }, "dormancy pass failed; retrying"),
    );
  }

  start(): void {
    this.#task.start(this.options.intervalMs);
  }

  /** One pass now, after any pass already running. Tests call it after moving the clock. */
  runOnce(): Promise<DormancyResult> {
    return this.#task.runOnce();
  }

  async stop(): Promise<void> {
    await this.#task.stop();
    if (this.options.replicaId !== undefined) {
      await this.deps.store.releaseLease(LEASE, this.options.replicaId).catch(() => undefined);
    }
  }
}
