// Runs the approval sweep on a timer: one pass at a time, never overlapping, stopped cleanly with the broker. With
// replicas on a shared store one of them sweeps at a time, under a store lease, so a rotation after break-glass or an
// overdue alarm is not raised twice.
import { describeError, holdsLease, Periodic } from "../../support/index.js";
import type { LifecycleDeps } from "../shared/deps.js";
import { type SweepResult, sweepRequests } from "./sweep-requests.js";

const LEASE = "approval-sweep";
const IDLE: SweepResult = { timedOut: 0, overdue: 0, rotated: 0 };

export interface SweeperOptions {
  readonly intervalMs: number;
  /** This replica's id when the store is shared: only the lease holder sweeps. Absent: this process sweeps. */
  readonly replicaId?: string;
}

export class ApprovalSweeper {
  readonly #task: Periodic<SweepResult>;

  constructor(
    private readonly deps: LifecycleDeps,
    private readonly options: SweeperOptions,
  ) {
    this.#task = new Periodic(
      async () => ((await holdsLease(deps, LEASE, options.replicaId, options.intervalMs)) ? sweepRequests(deps) : IDLE),
      (error) => deps.logger.error({ err: describeError(error) }, "approval sweep failed; retrying"),
    );
  }

  start(): void {
    this.#task.start(this.options.intervalMs);
  }

  /** One pass now, after any pass already running. Tests call it after moving the clock. */
  runOnce(): Promise<SweepResult> {
    return this.#task.runOnce();
  }

  async stop(): Promise<void> {
    await this.#task.stop();
    if (this.options.replicaId !== undefined) {
      await this.deps.store.releaseLease(LEASE, this.options.replicaId).catch(() => undefined);
    }
  }
}
