// Stage 5, monitor: finds grants whose time has come through the due index and ends or retries them. One timer, not one per grant.
import type { Grant } from "../../domain/index.js";
import { ConflictError } from "../../storage/index.js";
import { describeError } from "../../support/index.js";
import { endAndRemove, retryRemoval } from "../revoke/end-grant.js";
import { systemActor } from "../shared/audit-draft.js";
import type { LifecycleDeps } from "../shared/deps.js";

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
  #taken = 0;

  constructor(
    private readonly deps: LifecycleDeps,
    private readonly options: SchedulerOptions,
  ) {}

  /**
   * Whatever a previous process left mid-flight. On a store no other broker process uses (`exclusive`, SQLite), every
   * grant left `issuing` is ended at once (its credential may exist but was never handed out) and removals left
   * half-done are taken over, and active grants it had claimed at expiry are due again at once. On a store shared by replicas nothing is touched here: a grant in `issuing` or
   * `revoking` may be another live replica's work in flight, so it is taken over only once its claim lapses, by
   * whichever replica claims it first.
   */
  async recoverAfterRestart(options: { exclusive: boolean } = { exclusive: true }): Promise<{
    ended: number;
    resumed: number;
    released: number;
  }> {
    let ended = 0;
    let resumed = 0;
    if (!options.exclusive) return { ended, resumed, released: 0 };
    // Claims the dead process held on expired grants end with it, so those grants are due now, not when the lease lapses.
    const released = await this.deps.store.releaseClaims();
    for (;;) {
      const grants = await this.deps.store.grantsInStates(["issuing", "revoking", "revoked"], this.options.batch);
      const todo = grants.filter((g) => !this.#inFlight.has(g.id));
      if (todo.length === 0) break;
      await this.#forEachLimited(todo, async (grant) => {
        if (grant.state === "issuing") {
          await endAndRemove(this.deps, grant, "recovered", systemActor("recovery"));
          ended++;
        } else {
          await retryRemoval(this.deps, grant);
          resumed++;
        }
      });
    }
    return { ended, resumed, released };
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

  /** Due grants this scheduler has claimed and taken on since it was built: how the work splits across replicas. */
  get taken(): number {
    return this.#taken;
  }

  /** Tells the scheduler a grant is now due at `dueAt`, so it wakes in time without polling faster. */
  hint(dueAt: number): void {
    if (this.#stopped || dueAt >= this.#wakeAt) return;
    this.#schedule(Math.max(0, dueAt - this.deps.clock.now()));
  }

  /**
   * Claims every grant due now and processes it; returns how many were taken. Tests call it after moving the clock.
   * A claim leases the grant to this process for `removalClaimMs` (and moves its version: the fencing token), so
   * replicas sharing the store split due work instead of racing for it; a grant this process fails to finish is due
   * again when the lease lapses, for whichever replica claims it then.
   */
  async runOnce(): Promise<number> {
    let taken = 0;
    for (;;) {
      const claimed = await this.deps.store.claimDue({
        now: this.deps.clock.now(),
        limit: this.options.batch,
        leaseMs: this.deps.settings.removalClaimMs,
      });
      // A grant already in flight here (its lease lapsed while a slow removal ran) stays with that removal.
      const todo = claimed.filter((g) => !this.#inFlight.has(g.id));
      taken += todo.length;
      this.#taken += todo.length;
      await this.#forEachLimited(todo, (grant) => this.#process(grant));
      if (claimed.length < this.options.batch) return taken;
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
          await endAndRemove(this.deps, grant, "expired", systemActor("scheduler"));
          break;
        case "issuing":
          // The issuer's claim lapsed: whoever was issuing died or hung; the credential was never handed out.
          await endAndRemove(this.deps, grant, "recovered", systemActor("scheduler"));
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
