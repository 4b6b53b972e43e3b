import { describe, expect, it } from "vitest";
import { AskBudget, spendAll } from "./ask-budget.js";
import { ToolError } from "./errors.js";

function refusal(run: () => void): ToolError {
  try {
    run();
  } catch (error) {
    if (error instanceof ToolError) return error;
    throw error;
  }
  throw new Error("expected a refusal");
}

describe("AskBudget", () => {
  it("allows perMinute asks in a sliding minute, then says which budget refused and when to retry", () => {
    const session = new AskBudget(2);
    spendAll([session], 0);
    spendAll([session], 20_000);
    const refused = refusal(() => spendAll([session], 30_000));
    expect(refused.code).toBe("rate_limited");
    expect(refused.message).toMatch(/more than 2 access requests in a minute from this session \(limits\./);
    expect(refused.extra).toEqual({ retryAfterSeconds: 30 });
    // The first ask leaves the window a minute after it was made.
    spendAll([session], 60_000);
    expect(refusal(() => spendAll([session], 61_000)).extra).toEqual({ retryAfterSeconds: 19 });
  });

  it("counts an ask in every budget or in none: the server's refusal does not use up the session's", () => {
    const session = new AskBudget(2);
    const server = new AskBudget(1, "all sessions of this server (limits.totalRequestsPerMinute)");
    spendAll([session, server], 0);
    expect(refusal(() => spendAll([session, server], 1000)).message).toContain("all sessions of this server");
    // Had the refused ask been counted in the session's budget, this one would be its third in the minute.
    spendAll([session], 2000);
    expect(refusal(() => spendAll([session], 3000)).message).toContain("this session");
  });
});
