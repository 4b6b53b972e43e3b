// Gathers concurrent change sets into batches for an asynchronous committer: one batch in flight at a time per
// process, and whatever arrives meanwhile goes into the next one, so a burst shares one transaction and one commit.
import type { Pending } from "../sql/batch.js";

export class Batcher<In, Out> {
  #queue: Pending<In, Out>[] = [];
  #running: Promise<void> | null = null;
  #scheduled = false;

  constructor(
    private readonly runBatch: (batch: readonly Pending<In, Out>[]) => Promise<void>,
    private readonly maxBatch: number,
  ) {
    if (!Number.isInteger(maxBatch) || maxBatch < 1) throw new RangeError("maxBatch must be a positive integer");
  }

  submit(input: In): Promise<Out> {
    return new Promise<Out>((resolve, reject) => {
      this.#queue.push({ input, resolve, reject });
      this.#kick();
    });
  }

  /** Resolves once everything queued so far has been committed or refused. */
  async drain(): Promise<void> {
    while (this.#running !== null || this.#queue.length > 0) {
      this.#kick();
      await this.#running;
      if (this.#running === null && this.#queue.length > 0) await new Promise((r) => setImmediate(r));
    }
  }

  #kick(): void {
    if (this.#running !== null || this.#scheduled || this.#queue.length === 0) return;
    // After the current burst of promise continuations has had its chance to submit.
    this.#scheduled = true;
    setImmediate(() => {
      this.#scheduled = false;
      if (this.#running !== null || this.#queue.length === 0) return;
      const batch = this.#queue.splice(0, this.maxBatch);
      this.#running = this.runBatch(batch)
        .catch((error: unknown) => {
          // A bug in the runner must not leave callers hanging; settling twice is a no-op for those already settled.
          for (const item of batch) item.reject(error);
        })
        .finally(() => {
          this.#running = null;
          this.#kick();
        });
    });
  }
}
