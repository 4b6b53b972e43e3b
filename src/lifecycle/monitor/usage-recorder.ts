// Records grants seen in use by the broker itself (token introspection) in batches: a hot path must not pay one store
// write per call. A grant's use is queued at most once per interval and written with the next batch: first use is
// exact, last use exact to the interval.
import type { GrantStore, GrantUsage } from "../../storage/index.js";
import type { Clock, Logger } from "../../support/index.js";
import { describeError } from "../../support/index.js";
import type { UsageSink } from "../shared/deps.js";

export interface UsageRecorderOptions {
  readonly store: Pick<GrantStore, "markGrantsUsed">;
  readonly clock: Clock;
  readonly logger: Logger;
  /** How often queued sightings are written, and the least time between two writes for one grant. */
  readonly intervalMs?: number;
}

export class UsageRecorder implements UsageSink {
  readonly #store: Pick<GrantStore, "markGrantsUsed">;
  readonly #clock: Clock;
  readonly #logger: Logger;
  readonly #intervalMs: number;
  /** Grant id → when its use was last queued: a sighting sooner than the interval after it is not queued again. */
  #lastQueued = new Map<string, number>();
  #pending = new Map<string, { first: number; last: number }>();
  #timer: NodeJS.Timeout | null = null;
  #flushing: Promise<void> | null = null;

  constructor(options: UsageRecorderOptions) {
    this.#store = options.store;
    this.#clock = options.clock;
    this.#logger = options.logger;
    this.#intervalMs = options.intervalMs ?? 1_000;
  }

  /** Notes that a grant was used now. Cheap: no I/O here. */
  used(grantId: string): void {
    const now = this.#clock.now();
    const last = this.#lastQueued.get(grantId);
    if (last !== undefined && now - last < this.#intervalMs) return;
    this.#lastQueued.set(grantId, now);
    const queued = this.#pending.get(grantId);
    this.#pending.set(grantId, { first: queued?.first ?? now, last: now });
    if (this.#timer === null) {
      this.#timer = setTimeout(() => void this.flush(), this.#intervalMs);
      this.#timer.unref();
    }
  }

  /** Writes what is queued now (also before a removal reads usage, and at shutdown). Failures are logged and dropped. */
  async flush(): Promise<void> {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    while (this.#flushing) await this.#flushing;
    const batch: GrantUsage[] = [...this.#pending].flatMap(([grantId, { first, last }]) =>
      first === last
        ? [{ grantId, at: first }]
        : [
            { grantId, at: first },
            { grantId, at: last },
          ],
    );
    this.#pending = new Map();
    if (batch.length === 0) return;
    this.#flushing = (async () => {
      try {
        await this.#store.markGrantsUsed(batch);
      } catch (error) {
        this.#logger.warn({ err: describeError(error), count: batch.length }, "could not record grant usage");
      }
    })();
    try {
      await this.#flushing;
    } finally {
      this.#flushing = null;
      // Forget grants not used for a while, so the map does not grow with every grant ever introspected.
      const horizon = this.#clock.now() - this.#intervalMs;
      for (const [id, at] of this.#lastQueued) if (at < horizon) this.#lastQueued.delete(id);
    }
  }
}
