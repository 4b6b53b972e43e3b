// A session's budget of access requests: a sliding one-minute window, so a model stuck in a loop cannot flood the
// broker (or its approvers) with requests.
import { ToolError } from "./errors.js";

const MINUTE_MS = 60_000;

export class AskBudget {
  readonly #perMinute: number;
  readonly #asked: number[] = [];

  constructor(perMinute: number) {
    this.#perMinute = perMinute;
  }

  /** Counts one ask, or throws `rate_limited` with the seconds until one is allowed again. */
  spend(now = Date.now()): void {
    while (this.#asked.length > 0 && (this.#asked[0] ?? now) <= now - MINUTE_MS) this.#asked.shift();
    if (this.#asked.length >= this.#perMinute) {
      const retryAfter = Math.ceil(((this.#asked[0] ?? now) + MINUTE_MS - now) / 1000);
      throw new ToolError(
        "rate_limited",
        `more than ${this.#perMinute} access requests in a minute from this session; retry in ${retryAfter}s`,
        { retryAfterSeconds: retryAfter },
      );
    }
    this.#asked.push(now);
  }
}
