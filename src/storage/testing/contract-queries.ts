// Store contract, grant queries: the due index, filters and paging, and the counts behind metrics.
import { expect, it } from "vitest";
import type { Grant } from "../../domain/types.js";
import { creation, insertGrants, makeDraft, makeGrant, makeRequest, T0 } from "./fixtures.js";
import type { ContractContext } from "./store-contract.js";

const byId = (a: Grant, b: Grant) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
const ids = (grants: readonly Grant[]) => grants.map((g) => g.id);

export function queriesContract(ctx: ContractContext): void {
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
}
