import { describe, expect, it } from "vitest";
import { SessionLedger } from "./session-ledger.js";
import { SinkOwners } from "./sink-owners.js";

const sink = { path: "/sinks/orders/read.env", format: "env" } as const;

function codeOf(run: () => unknown): string | undefined {
  try {
    run();
  } catch (error) {
    return (error as { code?: string }).code;
  }
  return undefined;
}

describe("SessionLedger", () => {
  it("one ask per sink: a second ask for it in this session or another is sink_busy until the first lets go", () => {
    const owners = new SinkOwners();
    const mine = new SessionLedger(owners);
    const theirs = new SessionLedger(owners);
    mine.reserve("orders/read", sink);
    expect(mine.outstanding).toBe(1);
    expect(codeOf(() => mine.reserve("orders/read", sink))).toBe("sink_busy");
    expect(codeOf(() => theirs.reserve("orders/read", sink))).toBe("sink_busy");
    // The ask ended in a grant: the sink stays claimed while the grant is held.
    mine.held.set("grt_1", { grantId: "grt_1", requestId: "req_1", entitlement: "orders/read", sink, expiresAt: null });
    mine.asked(sink.path);
    expect(mine.outstanding).toBe(1);
    expect(codeOf(() => theirs.reserve("orders/read", sink))).toBe("sink_busy");
    // Completed: released only once nothing of this session uses it.
    mine.held.delete("grt_1");
    mine.release(sink.path);
    theirs.reserve("orders/read", sink);
    expect(theirs.outstanding).toBe(1);
  });

  it("a failed ask lets go of its sink", () => {
    const owners = new SinkOwners();
    const mine = new SessionLedger(owners);
    mine.reserve("orders/read", sink);
    mine.asked(sink.path);
    expect(mine.outstanding).toBe(0);
    new SessionLedger(owners).reserve("orders/read", sink);
  });

  it("heldOrRefuse: only grants of this session", () => {
    expect(codeOf(() => new SessionLedger(new SinkOwners()).heldOrRefuse("grt_other"))).toBe("not_in_session");
  });
});
