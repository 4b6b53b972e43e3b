// Runs the approval sweep on a timer: one pass at a time, never overlapping, stopped cleanly with the broker.
import { describeError } from "../../support/errors.js";
import type { LifecycleDeps } from "../deps.js";
import { type SweepResult, sweepRequests } from "./sweep-requests.js";

export class ApprovalSweeper {
  #timer: NodeJS.Timeout | null = null;
  #running: Promise<SweepResult> | null = null;

  constructor(
    private readonly deps: LifecycleDeps,
    private readonly intervalMs: number,
  ) {}

  start(): void {
    const tick = () => {
      this.#timer = setTimeout(async () => {
        await this.runOnce().catch((error: unknown) =>
          this.deps.logger.error({ err: describeError(error) }, "approval sweep failed; retrying"),
        );
        if (this.#timer) tick();
      }, this.intervalMs);
      this.#timer.unref();
    };
    tick();
  }

  /** One pass now, after any pass already running. Tests call it after moving the clock. */
  async runOnce(): Promise<SweepResult> {
    while (this.#running) await this.#running.catch(() => undefined);
    const pass = sweepRequests(this.deps);
    this.#running = pass;
    try {
      return await pass;
    } finally {
      this.#running = null;
    }
  }

  async stop(): Promise<void> {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    await this.#running?.catch(() => undefined);
  }
}
