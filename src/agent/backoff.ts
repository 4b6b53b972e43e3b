// Exponential backoff with jitter for the agent's retries.

/** Delays that double from `initialMs` up to `maxMs`, each a random share of the cap (full jitter) but ≥ half of it. */
export class Backoff {
  #attempt = 0;
  constructor(
    private readonly initialMs: number,
    private readonly maxMs: number,
    private readonly random: () => number = Math.random,
  ) {}

  next(): number {
    const cap = Math.min(this.maxMs, this.initialMs * 2 ** this.#attempt);
    this.#attempt = Math.min(this.#attempt + 1, 30);
    return Math.round(cap / 2 + (cap / 2) * this.random());
  }

  reset(): void {
    this.#attempt = 0;
  }
}
