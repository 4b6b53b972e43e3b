// Gathers concurrent change sets into batches for an asynchronous committer: up to `maxInFlight` batches run at once
// per process (each on its own connection), and whatever arrives while they do goes into the next one, so a burst
// shares one transaction and one commit while the round trips of several batches overlap.
import type { Pending } from "../sql/batch.js";

export class Batcher<In, Out> {
  #queue: Pending<In, Out>[] = [];
  readonly #running = new Set<Promise<void>>();
  #scheduled = false;

  constructor(
    private readonly runBatch: (batch: readonly Pending<In, Out>[]) => Promise<void>,
    private readonly maxBatch: number,
    private readonly maxInFlight = 1,
  ) {
    if (!Number.isInteger(maxBatch) || maxBatch < 1) throw new RangeError("maxBatch must be a positive integer");
    if (!Number.isInteger(maxInFlight) || maxInFlight < 1) {
      throw new RangeError("maxInFlight must be a positive integer");
    }
  }

  submit(input: In): Promise<Out> {
    return new Promise<Out>((resolve, reject) => {
      this.#queue.push({ input, resolve, reject });
      this.#kick();
    });
  }

  /** Resolves once everything queued so far has been committed or refused. */
  async drain(): Promise<void> {
    while (this.#running.size > 0 || this.#queue.length > 0) {
      this.#kick();
      if (this.#running.size > 0) await Promise.race(this.#running);
      else await new Promise((r) => setImmediate(r));
    }
  }

  #kick(): void {
    if (this.#running.size >= this.maxInFlight || this.#scheduled || this.#queue.length === 0) return;
    // After the current burst of promise continuations has had its chance to submit.
    this.#scheduled = true;
    setImmediate(() => {
      this.#scheduled = false;
      while (this.#running.size < this.maxInFlight && this.#queue.length > 0) {
        const batch = this.#queue.splice(0, this.maxBatch);
        const running: Promise<void> = this.runBatch(batch)
          .catch((error: unknown) => {
            // A bug in the runner must not leave callers hanging; settling twice is a no-op for those already settled.
            for (const item of batch) item.reject(error);
          })
          .finally(() => {
            this.#running.delete(running);
            this.#kick();
          });
        this.#running.add(running);
      }
    });
  }
}
