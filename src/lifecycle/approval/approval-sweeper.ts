// Runs the approval sweep on a timer: one pass at a time, never overlapping, stopped cleanly with the broker.
import { describeError } from "../../support/errors.js";
import { Periodic } from "../../support/periodic.js";
import type { LifecycleDeps } from "../deps.js";
import { type SweepResult, sweepRequests } from "./sweep-requests.js";

export class ApprovalSweeper {
  readonly #task: Periodic<SweepResult>;

  constructor(
    deps: LifecycleDeps,
    private readonly intervalMs: number,
  ) {
    this.#task = new Periodic(
      () => sweepRequests(deps),
      (error) => deps.logger.error({ err: describeError(error) }, "approval sweep failed; retrying"),
    );
  }

  start(): void {
    this.#task.start(this.intervalMs);
  }

  /** One pass now, after any pass already running. Tests call it after moving the clock. */
  runOnce(): Promise<SweepResult> {
    return this.#task.runOnce();
  }

  stop(): Promise<void> {
    return this.#task.stop();
  }
}
