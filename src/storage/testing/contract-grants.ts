// Store contract, grants: the due index and claims on it with a fencing version, filters and paging, history pruning,
// and the counts behind metrics.
import { expect, it } from "vitest";
import type { Grant } from "../../domain/types.js";
import { ConflictError } from "../store.js";
import { creation, insertGrants, makeDraft, makeGrant, makeRequest, T0 } from "./fixtures.js";
import type { ContractContext } from "./store-contract.js";

const byId = (a: Grant, b: Grant) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
const ids = (grants: readonly Grant[]) => grants.map((g) => g.id);
const LEASE_MS = 30_000;

export function grantsContract(ctx: ContractContext): void {
  it("pruneHistory deletes verified grants and final requests past retention, nothing else, never audit events", async () => {
    const DAY = 86_400_000;
    // Ids carry their creation time, as newId() makes them: `n` tells rows made in the same millisecond apart.
    const idAt = (prefix: "req" | "grt", at: number, n: number) =>
      `${prefix}_${at.toString(36).padStart(9, "0")}${String(n).padStart(16, "0")}`;
    const made = async (n: number, at: number, grant: Partial<Grant> | null, request: { state?: string } = {}) => {
      const r = makeRequest({
        id: idAt("req", at, n),
        createdAt: at,
        updatedAt: at,
        state: (request.state ?? "issued") as "issued",
      });
      const g = grant === null ? undefined : makeGrant(r, { id: idAt("grt", at, n), createdAt: at, ...grant });
      await ctx.store.apply(creation(r, g));
      return { request: r.id, grant: g?.id ?? null };
    };
    const old = T0 - 30 * DAY;
    const ended = { state: "verified" as const, endedAt: old + 1000, dueAt: null };
    const oldVerified = await made(1, old, ended);
    const oldActive = await made(2, old, { state: "active", expiresAt: T0 + DAY, dueAt: T0 + DAY });
    const oldDenied = await made(3, old, null, { state: "denied" });
    const oldPending = await made(4, old, null, { state: "pending" });
    const youngVerified = await made(5, T0 - DAY, { ...ended, endedAt: T0 - DAY + 1000 });
    const auditBefore = (await ctx.store.auditHead()).seq;

    expect(await ctx.store.pruneHistory({ endedBefore: T0 - 7 * DAY, limit: 1 })).toStrictEqual({
      grants: 1,
      requests: 1,
    });
    expect(await ctx.store.pruneHistory({ endedBefore: T0 - 7 * DAY, limit: 100 })).toStrictEqual({
      grants: 0,
      requests: 1,
    });
    expect(await ctx.store.pruneHistory({ endedBefore: T0 - 7 * DAY, limit: 100 })).toStrictEqual({
      grants: 0,
      requests: 0,
    });
    expect(await ctx.store.getGrant(oldVerified.grant!)).toBeNull();
    expect(await ctx.store.getRequest(oldVerified.request)).toBeNull();
    expect(await ctx.store.getRequest(oldDenied.request)).toBeNull();
    expect(await ctx.store.getGrant(oldActive.grant!)).not.toBeNull();
    expect(await ctx.store.getRequest(oldPending.request)).not.toBeNull();
    expect(await ctx.store.getGrant(youngVerified.grant!)).not.toBeNull();
    expect((await ctx.store.auditHead()).seq).toBe(auditBefore);
    expect(await ctx.store.listAudit(0, 100)).toHaveLength(auditBefore);
  });

  it("dueGrants returns grants due by now, earliest first, up to the limit", async () => {
    const dues = [50, 10, null, 40, 20, 1000, 30, null];
    const grants = await insertGrants(
      ctx.store,
      dues.map((d) => ({ dueAt: d === null ? null : T0 + d })),
    );
    const due = await ctx.store.dueGrants(T0 + 40, 100);
    expect(due.map((g) => g.dueAt)).toStrictEqual([10, 20, 30, 40].map((d) => T0 + d));
    expect(await ctx.store.dueGrants(T0 + 40, 2)).toStrictEqual(due.slice(0, 2));
    expect(await ctx.store.dueGrants(T0 + 9, 10)).toStrictEqual([]);
    expect(await ctx.store.dueGrants(T0 + 40, 0)).toStrictEqual([]);
    expect(due[0]).toStrictEqual(grants[1]);
  });

  it("nextDueAt is the earliest due time, ignoring unscheduled grants, and null when nothing is due", async () => {
    expect(await ctx.store.nextDueAt()).toBeNull();
    const [unscheduled] = await insertGrants(ctx.store, [{ dueAt: null }]);
    expect(await ctx.store.nextDueAt()).toBeNull();
    const [later, sooner] = await insertGrants(ctx.store, [{ dueAt: T0 + 500 }, { dueAt: T0 + 100 }]);
    expect(await ctx.store.nextDueAt()).toBe(T0 + 100);
    // Clearing the due time (work done) takes the grant out of the schedule.
    await ctx.store.apply({
      writes: [{ kind: "updateGrant", grant: { ...sooner!, dueAt: null, version: 2 }, expectedVersion: 1 }],
      audit: [makeDraft()],
    });
    expect(await ctx.store.nextDueAt()).toBe(later!.dueAt);
    expect(unscheduled).toBeDefined();
  });

  it("listGrants filters by state, identity and target, in id order", async () => {
    const grants = await insertGrants(ctx.store, [
      { state: "active", identityId: "a", targetId: "db" },
      { state: "active", identityId: "b", targetId: "db" },
      { state: "revoking", identityId: "a", targetId: "mq" },
      { state: "verified", identityId: "a", targetId: "db" },
      { state: "issuing", identityId: "b", targetId: "mq" },
    ]);
    const expectIds = (pick: (g: Grant) => boolean) => ids(grants.filter(pick).sort(byId));
    expect(ids(await ctx.store.listGrants({ limit: 100 }))).toStrictEqual(expectIds(() => true));
    expect(ids(await ctx.store.listGrants({ identityId: "a", limit: 100 }))).toStrictEqual(
      expectIds((g) => g.identityId === "a"),
    );
    expect(ids(await ctx.store.listGrants({ targetId: "mq", limit: 100 }))).toStrictEqual(
      expectIds((g) => g.targetId === "mq"),
    );
    expect(ids(await ctx.store.listGrants({ states: ["active", "issuing"], limit: 100 }))).toStrictEqual(
      expectIds((g) => g.state === "active" || g.state === "issuing"),
    );
    expect(
      ids(await ctx.store.listGrants({ states: ["active", "verified"], identityId: "a", targetId: "db", limit: 100 })),
    ).toStrictEqual(expectIds((g) => g.identityId === "a" && g.targetId === "db"));
    expect(await ctx.store.listGrants({ states: [], limit: 100 })).toStrictEqual([]);
    expect(await ctx.store.listGrants({ identityId: "nobody", limit: 100 })).toStrictEqual([]);
  });

  it("listGrants pages with `after` and `limit` without skipping or repeating", async () => {
    const grants = await insertGrants(
      ctx.store,
      Array.from({ length: 23 }, (_, i) => ({ identityId: i % 2 === 0 ? "even" : "odd" })),
    );
    const seen: string[] = [];
    let after: string | undefined;
    for (;;) {
      const page = await ctx.store.listGrants({
        identityId: "even",
        limit: 5,
        ...(after === undefined ? {} : { after }),
      });
      if (page.length === 0) break;
      expect(page.length).toBeLessThanOrEqual(5);
      seen.push(...ids(page));
      after = page[page.length - 1]!.id;
    }
    expect(seen).toStrictEqual(ids(grants.filter((g) => g.identityId === "even").sort(byId)));
  });

  it("grantsInStates returns grants in the given states, up to the limit", async () => {
    const grants = await insertGrants(ctx.store, [
      { state: "issuing" },
      { state: "revoke_failed" },
      { state: "active" },
      { state: "issuing" },
    ]);
    const found = await ctx.store.grantsInStates(["issuing", "revoke_failed"], 10);
    expect(ids(found).sort()).toStrictEqual(ids(grants.filter((g) => g.state !== "active")).sort());
    expect(await ctx.store.grantsInStates(["issuing", "revoke_failed"], 2)).toHaveLength(2);
    expect(await ctx.store.grantsInStates([], 10)).toStrictEqual([]);
  });

  it("countGrantsByState reports every state, zeros included", async () => {
    await insertGrants(ctx.store, [{ state: "active" }, { state: "active" }, { state: "revoking" }]);
    const counts = await ctx.store.countGrantsByState();
    expect(Object.fromEntries(counts)).toStrictEqual({
      issuing: 0,
      active: 2,
      revoking: 1,
      revoke_failed: 0,
      revoked: 0,
      verified: 0,
    });
  });

  it("countActiveGrants counts only active grants, by target and entitlement", async () => {
    await insertGrants(ctx.store, [
      { state: "active", targetId: "db", entitlement: "db/read" },
      { state: "active", targetId: "db", entitlement: "db/read" },
      { state: "active", targetId: "db", entitlement: "db/write" },
      { state: "revoking", targetId: "db", entitlement: "db/write" },
      { state: "active", targetId: "mq", entitlement: "mq/publish" },
    ]);
    const counts = [...(await ctx.store.countActiveGrants())].sort((a, b) =>
      `${a.targetId} ${a.entitlement}`.localeCompare(`${b.targetId} ${b.entitlement}`),
    );
    expect(counts).toStrictEqual([
      { targetId: "db", entitlement: "db/read", count: 2 },
      { targetId: "db", entitlement: "db/write", count: 1 },
      { targetId: "mq", entitlement: "mq/publish", count: 1 },
    ]);
  });

  it("refuses a negative or fractional limit rather than reading it as 'no limit'", async () => {
    await expect(ctx.store.dueGrants(T0, -1)).rejects.toBeInstanceOf(RangeError);
    await expect(ctx.store.listGrants({ limit: 1.5 })).rejects.toBeInstanceOf(RangeError);
    await expect(ctx.store.listAudit(0, -1)).rejects.toBeInstanceOf(RangeError);
  });

  it("claimDue leases due grants earliest first, moving dueAt and the version, and skips what it claimed", async () => {
    const grants = await insertGrants(ctx.store, [
      { dueAt: T0 + 30 },
      { dueAt: T0 + 10 },
      { dueAt: null },
      { dueAt: T0 + 20 },
      { dueAt: T0 + 10_000_000 },
    ]);
    const claimed = await ctx.store.claimDue({ now: T0 + 30, limit: 2, leaseMs: LEASE_MS });
    expect(claimed.map((g) => g.id)).toStrictEqual([grants[1]!.id, grants[3]!.id]);
    for (const g of claimed) {
      expect(g.dueAt).toBe(T0 + 30 + LEASE_MS);
      expect(g.version).toBe(2);
      expect(await ctx.store.getGrant(g.id)).toStrictEqual(g);
    }
    const rest = await ctx.store.claimDue({ now: T0 + 30, limit: 10, leaseMs: LEASE_MS });
    expect(rest.map((g) => g.id)).toStrictEqual([grants[0]!.id]);
    expect(await ctx.store.claimDue({ now: T0 + 30, limit: 10, leaseMs: LEASE_MS })).toStrictEqual([]);
    expect(await ctx.store.claimDue({ now: T0 + 30, limit: 0, leaseMs: LEASE_MS })).toStrictEqual([]);
    // Once the lease lapses the grant is due again, and a second claim fences the first holder out.
    const again = await ctx.store.claimDue({ now: T0 + 30 + LEASE_MS, limit: 10, leaseMs: LEASE_MS });
    expect(again.map((g) => g.id).sort()).toStrictEqual([grants[0]!.id, grants[1]!.id, grants[3]!.id].sort());
    expect(again.map((g) => g.version)).toStrictEqual([3, 3, 3]);
    const stale = claimed[0]!;
    await expect(
      ctx.store.apply({
        writes: [{ kind: "updateGrant", grant: { ...stale, dueAt: null, version: 3 }, expectedVersion: 2 }],
        audit: [makeDraft()],
      }),
    ).rejects.toBeInstanceOf(ConflictError);
  });

  it("releaseClaims makes active grants a dead process had claimed due at their expiry again, and nothing else", async () => {
    const [claimedActive, , ending] = await insertGrants(ctx.store, [
      { dueAt: T0 + 10, expiresAt: T0 + 10, state: "active" },
      { dueAt: T0 + 10_000, expiresAt: T0 + 10_000, state: "active" },
      { dueAt: T0 + 20, expiresAt: T0 + 5, state: "revoking" },
    ]);
    const claimed = await ctx.store.claimDue({ now: T0 + 30, limit: 10, leaseMs: LEASE_MS });
    expect(claimed.map((g) => g.id).sort()).toStrictEqual([claimedActive!.id, ending!.id].sort());
    expect(await ctx.store.releaseClaims()).toBe(1);
    // The active grant is due at its expiry again, with a new version: a claim the dead process held is fenced out.
    expect(await ctx.store.getGrant(claimedActive!.id)).toMatchObject({ dueAt: T0 + 10, version: 3 });
    // A grant being removed keeps its claim: recovery after a restart takes those over itself.
    expect(await ctx.store.getGrant(ending!.id)).toMatchObject({ dueAt: T0 + 30 + LEASE_MS, version: 2 });
    expect(await ctx.store.releaseClaims()).toBe(0);
  });

  it("concurrent claims never hand one grant to two claimers", async () => {
    await insertGrants(
      ctx.store,
      Array.from({ length: 60 }, (_, i) => ({ dueAt: T0 + i })),
    );
    const rounds = await Promise.all(
      Array.from({ length: 6 }, () => ctx.store.claimDue({ now: T0 + 100, limit: 15, leaseMs: LEASE_MS })),
    );
    const ids = rounds.flat().map((g) => g.id);
    expect(new Set(ids).size).toBe(ids.length);
    const leftover = await ctx.store.claimDue({ now: T0 + 100, limit: 100, leaseMs: LEASE_MS });
    expect(ids.length + leftover.length).toBe(60);
  });
}
