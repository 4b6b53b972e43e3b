// Caps over all sessions of one `ephemera mcp` process: without them every new HTTP session would bring a fresh
// per-session budget, and N sessions could hold N times the grants and ask N times as often.
import { AskBudget } from "./ask-budget.js";
import type { McpConfig } from "./config.js";
import { ToolError } from "./errors.js";

/** A session as the server counts it: the grants, pending requests and asks in flight it holds now. */
interface Counted {
  readonly outstanding: number;
}

export class ServerLimits {
  /** `request_access` and `renew_access` calls of every session in the last minute. */
  readonly asks: AskBudget;
  readonly #maxOutstanding: number;
  readonly #sessions = new Set<Counted>();

  constructor(limits: McpConfig["limits"]) {
    this.asks = new AskBudget(
      limits.totalRequestsPerMinute,
      "all sessions of this server (limits.totalRequestsPerMinute)",
    );
    this.#maxOutstanding = limits.totalConcurrentGrants;
  }

  join(session: Counted): void {
    this.#sessions.add(session);
  }

  /** Called once the session has ended: its grants are completed (or given up on) and no longer count. */
  leave(session: Counted): void {
    this.#sessions.delete(session);
  }

  /** Throws `too_many_grants` when the sessions together hold as many grants and requests as the server allows. */
  checkOutstanding(): void {
    let total = 0;
    for (const session of this.#sessions) total += session.outstanding;
    if (total >= this.#maxOutstanding) {
      throw new ToolError(
        "too_many_grants",
        `the sessions of this server hold ${this.#maxOutstanding} grants or requests together (limits.totalConcurrentGrants); complete_access one you no longer need, or retry once other sessions have ended theirs`,
      );
    }
  }
}
