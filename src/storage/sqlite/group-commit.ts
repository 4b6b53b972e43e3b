// Gathers concurrent writes into batches so many change sets share one transaction and one fsync.
import type { Pending } from "../sql/batch.js";

/**
 * Queues submissions and hands them to `runBatch` in groups of at most `maxBatch`. `runBatch` must be synchronous
 * and settle every item; it runs on `setImmediate`, after the promise continuations of the current burst have had
 * their chance to submit, so a burst of concurrent callers lands in one batch. Between batches the queue yields to
 * the event loop, so a long write burst cannot starve reads and timers.
 */
export class GroupCommit<In, Out> {
  #queue: Pending<In, Out>[] = [];
  #scheduled: NodeJS.Immediate | null = null;

  constructor(
    private readonly runBatch: (batch: readonly Pending<In, Out>[]) => void,
    private readonly maxBatch: number,
  ) {
    if (!Number.isInteger(maxBatch) || maxBatch < 1) throw new RangeError("maxBatch must be a positive integer");
  }

  get queued(): number {
    return this.#queue.length;
  }

  submit(input: In): Promise<Out> {
    return new Promise<Out>((resolve, reject) => {
      this.#queue.push({ input, resolve, reject });
      this.#schedule();
    });
  }

  /** Runs everything queued now, synchronously; used before closing so no caller is left waiting. */
  drain(): void {
    if (this.#scheduled !== null) clearImmediate(this.#scheduled);
    this.#scheduled = null;
    while (this.#queue.length > 0) this.#runOne();
  }

  #schedule(): void {
    if (this.#scheduled !== null) return;
    this.#scheduled = setImmediate(() => {
      this.#scheduled = null;
      this.#runOne();
      if (this.#queue.length > 0) this.#schedule();
    });
  }

  #runOne(): void {
    const batch = this.#queue.splice(0, this.maxBatch);
    try {
      this.runBatch(batch);
    } catch (error) {
      // A bug in the runner must not leave callers hanging; settling twice is a no-op for those already settled.
      for (const item of batch) item.reject(error);
    }
  }
}
