// The refusal digest: the first refusal of a kind is its own event, the rest one summary when the window ends, and
// past its bound of distinct kinds the rest share one summary instead of growing memory.
import { afterEach, describe, expect, it } from "vitest";
import type { AuditEvent } from "../../domain/types.js";
import { type Harness, makeHarness } from "../testing/harness.js";
import { RefusalDigest } from "./refusal-digest.js";

let h: Harness;
afterEach(async () => {
  await h.close();
});

const refusal = (source: string) => ({
  auditCode: "auth.failed" as const,
  errorCode: "unauthenticated" as const,
  message: "the API key is not recognised",
  data: { method: "GET", path: "/v1/grants" },
  sourceHmac: source,
});

async function refusals(): Promise<AuditEvent[]> {
  return (await h.store.listAudit(0, 1000)).filter((e) => e.code === "auth.failed");
}

describe("RefusalDigest", () => {
  it("writes the first refusal at once and the rest as one summary when the window ends", async () => {
    h = await makeHarness();
    const digest = new RefusalDigest(h.deps, 60_000);
    for (let i = 0; i < 5; i++) {
      const error = await digest.refuse(null, refusal("a"));
      expect(error.code).toBe("unauthenticated");
      h.clock.advance(1_000);
    }
    expect(await refusals()).toHaveLength(1);
    await digest.flush(false);
    expect(await refusals()).toHaveLength(1); // the window is still open
    h.clock.advance(60_000);
    await digest.flush(false);
    const [first, summary] = await refusals();
    expect(first?.data).toMatchObject({ sourceAddressHmac: "a", path: "/v1/grants" });
    expect(first?.data.repeated).toBeUndefined();
    expect(summary?.data.repeated).toMatchObject({ count: 4, windowSeconds: 60 });
    const repeated = summary?.data.repeated as { firstAt: string; lastAt: string };
    expect(Date.parse(repeated.lastAt) - Date.parse(repeated.firstAt)).toBe(3_000);
    // A new window starts with a first event again.
    await digest.refuse(null, refusal("a"));
    expect(await refusals()).toHaveLength(3);
  });

  it("keeps separate windows per source, and past its bound lets the rest share one summary", async () => {
    h = await makeHarness();
    const digest = new RefusalDigest(h.deps, 60_000, 2);
    for (const source of ["a", "b", "c", "d", "e"]) await digest.refuse(null, refusal(source));
    // a and b are their own events; c, d and e share the overflow window.
    expect((await refusals()).map((e) => e.data.sourceAddressHmac)).toEqual(["a", "b"]);
    await digest.stop();
    const summary = (await refusals()).at(-1);
    expect(summary?.data).toMatchObject({ sourceAddressHmac: "(many sources)", repeated: { count: 3 } });
  });
});
