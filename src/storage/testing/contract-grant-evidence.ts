// Store contract, grant evidence: usage recorded outside change sets, receipts round-tripped, the report's SQL figures.
import { expect, it } from "vitest";
import type { Grant, RemovalReceipt } from "../../domain/types.js";
import { insertGrants, makeDraft, T0 } from "./fixtures.js";
import type { ContractContext } from "./store-contract.js";

const receipt = (unused: boolean | null): RemovalReceipt => ({
  removed: ["role eph_x"],
  sessionsEnded: { count: 2, ids: ["pid 11", "pid 12"] },
  revokedAt: T0 + 10,
  verification: { checkedAt: T0 + 20, checks: [{ check: "role.absent", passed: true, observed: "no role eph_x" }] },
  verifiedAt: T0 + 20,
  firstUsedAt: unused === false ? T0 + 1 : null,
  lastUsedAt: unused === false ? T0 + 5 : null,
  unused,
  // Only a definitive observation may say unused; the others leave it null when nothing was seen.
  usageObservation:
    unused === true
      ? { method: "definitive", detail: "every login counted" }
      : { method: "polled", detail: "sessions looked for between intervals" },
});

export function grantEvidenceContract(ctx: ContractContext): void {
  it("records usage without a version change: first use only back, last use only forward", async () => {
    const [grant] = await insertGrants(ctx.store, [{ state: "active", issuedAt: T0 }]);
    const id = grant!.id;
    await ctx.store.markGrantsUsed([{ grantId: id, at: T0 + 500 }]);
    await ctx.store.markGrantsUsed([
      { grantId: id, at: T0 + 700 },
      { grantId: id, at: T0 + 900 },
      { grantId: "grt_missing", at: T0 },
    ]);
    await ctx.store.markGrantsUsed([]);
    await ctx.store.markGrantsUsed([{ grantId: id, at: T0 + 600 }]);
    const stored = await ctx.store.getGrant(id);
    expect(stored).toMatchObject({ firstUsedAt: T0 + 500, lastUsedAt: T0 + 900, version: grant!.version });
    // A versioned update written from a copy read before the sighting does not undo it.
    await ctx.store.apply({
      writes: [{ kind: "updateGrant", grant: { ...grant!, renewals: 1, version: 2 }, expectedVersion: 1 }],
      audit: [makeDraft()],
    });
    expect(await ctx.store.getGrant(id)).toMatchObject({ firstUsedAt: T0 + 500, lastUsedAt: T0 + 900, renewals: 1 });
  });

  it("takes the earliest sighting of one batch as first use and the latest as last use", async () => {
    const [grant] = await insertGrants(ctx.store, [{ state: "active", issuedAt: T0 }]);
    await ctx.store.markGrantsUsed([
      { grantId: grant!.id, at: T0 + 900 },
      { grantId: grant!.id, at: T0 + 300 },
      { grantId: grant!.id, at: T0 + 600 },
    ]);
    expect(await ctx.store.getGrant(grant!.id)).toMatchObject({ firstUsedAt: T0 + 300, lastUsedAt: T0 + 900 });
  });

  it("round-trips a removal receipt with the grant", async () => {
    const [grant] = await insertGrants(ctx.store, [{ state: "active", issuedAt: T0 }]);
    const withReceipt: Grant = { ...grant!, state: "verified", receipt: receipt(true), version: 2 };
    await ctx.store.apply({
      writes: [{ kind: "updateGrant", grant: withReceipt, expectedVersion: 1 }],
      audit: [makeDraft()],
    });
    expect((await ctx.store.getGrant(grant!.id))?.receipt).toStrictEqual(receipt(true));
  });

  it("computes the report over grants issued in the range: counts, shares, overruns and nearest-rank percentiles", async () => {
    const s = 1000;
    // Privilege durations 1..100 s for 100 verified grants issued in range, one of them unused, one overrun by 3 s.
    const verified: Partial<Grant>[] = Array.from({ length: 100 }, (_, i) => ({
      state: "verified",
      issuedAt: T0 + i,
      expiresAt: T0 + i + (i + 1) * s + (i === 42 ? -3 * s : 0),
      endedAt: T0 + i + (i + 1) * s,
      verifiedAt: T0 + i + (i + 1) * s,
      renewals: i < 3 ? 2 : 0,
      receipt: receipt(i === 7 ? true : i === 8 ? null : false),
    }));
    await insertGrants(ctx.store, [
      ...verified,
      // Ended, removal failing, expired 10 s before `now`: counted as ended, not verified, an overrun.
      { state: "revoke_failed", issuedAt: T0 + 200, expiresAt: T0 + 50 * s, endedAt: T0 + 50 * s },
      // Active and within its window: neither ended nor overrun.
      { state: "active", issuedAt: T0 + 300, expiresAt: T0 + 500 * s },
      // Outside the range, or never issued: not counted.
      { state: "verified", issuedAt: T0 - 1, expiresAt: T0, verifiedAt: T0 + 99 * s, receipt: receipt(true) },
      { state: "verified", issuedAt: T0 + 1_000 * s, expiresAt: T0, verifiedAt: T0 + 2_000 * s },
      { state: "verified", issuedAt: null, expiresAt: T0, verifiedAt: T0 + 99 * s },
    ]);
    const report = await ctx.store.grantReport({ from: T0, to: T0 + 1_000 * s, now: T0 + 60 * s });
    expect(report).toStrictEqual({
      issued: 102,
      ended: 101,
      verifiedRemoval: 100,
      overrunsOver2s: 2,
      unused: 1,
      usageNotObservable: 1,
      renewals: 6,
      privilegeMs: { median: 50 * s, p99: 99 * s },
    });
    const empty = await ctx.store.grantReport({ from: T0 + 5_000 * s, to: T0 + 6_000 * s, now: T0 });
    expect(empty).toStrictEqual({
      issued: 0,
      ended: 0,
      verifiedRemoval: 0,
      overrunsOver2s: 0,
      unused: 0,
      usageNotObservable: 0,
      renewals: 0,
      privilegeMs: { median: null, p99: null },
    });
  });
}
