// Budgets of access requests: sliding one-minute windows, one per session and one for the whole server, so a model
// stuck in a loop (or many sessions opened at once) cannot flood the broker (or its approvers) with requests.
import { ToolError } from "./errors.js";

const MINUTE_MS = 60_000;

export class AskBudget {
  readonly #perMinute: number;
  /** Whose asks these are and the setting that bounds them, for the refusal: "this session (limits.…)". */
  readonly #whose: string;
  readonly #asked: number[] = [];

  constructor(perMinute: number, whose = "this session (limits.requestsPerMinute)") {
    this.#perMinute = perMinute;
    this.#whose = whose;
  }

  /** Throws `rate_limited` when one more ask now would be over the budget; counts nothing. */
  check(now: number): void {
    while ((this.#asked[0] ?? now) <= now - MINUTE_MS) this.#asked.shift();
    const oldest = this.#asked[0];
    if (oldest !== undefined && this.#asked.length >= this.#perMinute) {
      const retryAfter = Math.ceil((oldest + MINUTE_MS - now) / 1000);
      throw new ToolError(
        "rate_limited",
        `more than ${this.#perMinute} access requests in a minute from ${this.#whose}; retry in ${retryAfter}s`,
        { retryAfterSeconds: retryAfter },
      );
    }
  }

  record(now: number): void {
    this.#asked.push(now);
  }
}

/**
 * Counts one ask in every budget, or throws `rate_limited` (with the seconds until one is allowed again) and counts it
 * in none: a refusal by one does not use up another.
 */
export function spendAll(budgets: readonly AskBudget[], now = Date.now()): void {
  for (const budget of budgets) budget.check(now);
  for (const budget of budgets) budget.record(now);
}
