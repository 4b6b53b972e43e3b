// Stage 5, monitor: finds grants whose time has come through the due index and ends or retries them. One timer, not one per grant.
import type { Grant } from "../../domain/types.js";
import { ConflictError } from "../../storage/store.js";
import { describeError } from "../../support/errors.js";
import { systemActor } from "../audit-draft.js";
import type { LifecycleDeps } from "../deps.js";
import { driveRemoval } from "../revoke/drive-removal.js";
import { markEnded, retryRemoval } from "../revoke/end-grant.js";

export interface SchedulerOptions {
  /** Due grants fetched per query. */
  readonly batch: number;
  /** Grants removed at once. */
  readonly concurrency: number;
  /** Longest sleep between looks at the due index, in case another writer scheduled something sooner. */
  readonly pollIntervalMs: number;
}

export class ExpiryScheduler {
  readonly #inFlight = new Set<string>();
  #timer: NodeJS.Timeout | null = null;
  #running: Promise<void> | null = null;
  #stopped = true;
  #wakeAt = Number.POSITIVE_INFINITY;
  #failures = 0;

  constructor(
    private readonly deps: LifecycleDeps,
    private readonly options: SchedulerOptions,
  ) {}

  /**
   * Ends every grant left `issuing` by a previous process (its credential may exist but was never handed out) and
   * takes over removals it left half-done. Only for a store that no other broker process uses at the same time.
   */
  async recoverAfterRestart(): Promise<{ ended: number; resumed: number }> {
    let ended = 0;
    let resumed = 0;
    for (;;) {
      const grants = await this.deps.store.grantsInStates(["issuing", "revoking", "revoked"], this.options.batch);
      const todo = grants.filter((g) => !this.#inFlight.has(g.id));
      if (todo.length === 0) break;
      await this.#forEachLimited(todo, async (grant) => {
        if (grant.state === "issuing") {
          await driveRemoval(this.deps, await markEnded(this.deps, grant, "recovered", systemActor("recovery")));
          ended++;
        } else {
          await retryRemoval(this.deps, grant);
          resumed++;
        }
      });
    }
    return { ended, resumed };
  }

  start(): void {
    this.#stopped = false;
    this.#schedule(0);
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    await this.#running;
  }

  /** Tells the scheduler a grant is now due at `dueAt`, so it wakes in time without polling faster. */
  hint(dueAt: number): void {
    if (this.#stopped || dueAt >= this.#wakeAt) return;
    this.#schedule(Math.max(0, dueAt - this.deps.clock.now()));
  }

  /** Processes every grant due now; returns how many were taken. Tests call it after moving the clock. */
  async runOnce(): Promise<number> {
    let taken = 0;
    // A grant whose processing failed outright stays due; it waits for the next pass instead of spinning this one.
    const seen = new Set<string>();
    for (;;) {
      const due = await this.deps.store.dueGrants(this.deps.clock.now(), this.options.batch);
      const todo = due.filter((g) => !this.#inFlight.has(g.id) && !seen.has(g.id));
      if (todo.length === 0) return taken;
      for (const grant of todo) seen.add(grant.id);
      taken += todo.length;
      await this.#forEachLimited(todo, (grant) => this.#process(grant));
      if (due.length < this.options.batch) return taken;
    }
  }

  #schedule(delayMs: number): void {
    if (this.#stopped) return;
    if (this.#timer) clearTimeout(this.#timer);
    const delay = Math.min(Math.max(0, delayMs), this.options.pollIntervalMs);
    this.#wakeAt = this.deps.clock.now() + delay;
    this.#timer = setTimeout(() => this.#tick(), delay);
    this.#timer.unref?.();
  }

  #tick(): void {
    this.#timer = null;
    this.#wakeAt = Number.POSITIVE_INFINITY;
    if (this.#running) {
      this.#schedule(10);
      return;
    }
    this.#running = (async () => {
      try {
        const failuresBefore = this.#failures;
        await this.runOnce();
        const next = await this.deps.store.nextDueAt();
        const delay = next === null ? this.options.pollIntervalMs : next - this.deps.clock.now();
        // A grant whose processing failed outright (the store refused even the failure record) is still due:
        // pause briefly rather than spin on it; grants that merely became due meanwhile go at once.
        const pause = Math.min(this.options.pollIntervalMs, 250);
        this.#schedule(this.#failures > failuresBefore ? Math.max(delay, pause) : delay);
      } catch (error) {
        this.deps.logger.error({ err: describeError(error) }, "expiry scheduler pass failed; retrying");
        this.#schedule(this.options.pollIntervalMs);
      } finally {
        this.#running = null;
      }
    })();
  }

  async #process(grant: Grant): Promise<void> {
    try {
      switch (grant.state) {
        case "active":
          await driveRemoval(this.deps, await markEnded(this.deps, grant, "expired", systemActor("scheduler")));
          break;
        case "issuing":
          // The issuer's claim lapsed: whoever was issuing died or hung; the credential was never handed out.
          await driveRemoval(this.deps, await markEnded(this.deps, grant, "recovered", systemActor("scheduler")));
          break;
        case "revoking":
        case "revoked":
        case "revoke_failed":
          await retryRemoval(this.deps, grant);
          break;
        default:
          break;
      }
    } catch (error) {
      if (error instanceof ConflictError) return; // someone else moved it first
      this.#failures++;
      this.deps.logger.error({ grantId: grant.id, err: describeError(error) }, "could not process a due grant");
    }
  }

  async #forEachLimited(grants: readonly Grant[], work: (grant: Grant) => Promise<void>): Promise<void> {
    let next = 0;
    const worker = async () => {
      while (next < grants.length) {
        const grant = grants[next++]!;
        this.#inFlight.add(grant.id);
        try {
          await work(grant);
        } finally {
          this.#inFlight.delete(grant.id);
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.options.concurrency, grants.length) }, worker));
  }
}
