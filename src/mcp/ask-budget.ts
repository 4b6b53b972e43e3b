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

  /** Counts one ask, or throws `rate_limited` with the seconds until one is allowed again. */
  spend(now = Date.now()): void {
    spendAll([this], now);
  }

  /** Throws `rate_limited` when one more ask now would be over the budget; counts nothing. */
  check(now: number): void {
    while (this.#asked.length > 0 && (this.#asked[0] ?? now) <= now - MINUTE_MS) this.#asked.shift();
    if (this.#asked.length >= this.#perMinute) {
      const retryAfter = Math.ceil(((this.#asked[0] ?? now) + MINUTE_MS - now) / 1000);
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

/** Counts one ask in every budget, or in none: a refusal by one does not use up another. */
export function spendAll(budgets: readonly AskBudget[], now = Date.now()): void {
  for (const budget of budgets) budget.check(now);
  for (const budget of budgets) budget.record(now);
}
