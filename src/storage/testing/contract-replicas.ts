// Store contract, what several replicas on one store rely on: due-grant claims with a fencing version, leases,
// insert-once and compare-and-set state writes.
import { expect, it } from "vitest";
import type { Grant } from "../../domain/types.js";
import { ConflictError, type Write } from "../store.js";
import { creation, insertGrants, makeDraft, makeRequest, T0 } from "./fixtures.js";
import type { ContractContext } from "./store-contract.js";

const LEASE_MS = 30_000;

export function replicasContract(ctx: ContractContext): void {
  const write = (...writes: Write[]) => ctx.store.apply({ writes, audit: [makeDraft({ code: "state.changed" })] });
  const insertOnce = (key: string, value: unknown, expiresAt: number | null, now = T0): Write => ({
    kind: "claimOnce",
    namespace: "once",
    key,
    value,
    expiresAt,
    now,
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

  it("a stale update among a burst of writes to different rows fails alone; the rest commit in order", async () => {
    const [stale, fresh] = await insertGrants(ctx.store, [{}, {}]);
    const others = Array.from({ length: 4 }, () => makeRequest());
    const update = (grant: Grant, expectedVersion: number) =>
      ctx.store.apply({
        writes: [
          { kind: "updateGrant", grant: { ...grant, renewals: 9, version: expectedVersion + 1 }, expectedVersion },
          { kind: "putState", namespace: "burst", key: grant.id, value: expectedVersion, expiresAt: null },
        ],
        audit: [makeDraft({ grantId: grant.id })],
      });
    const results = await Promise.allSettled([
      ctx.store.apply(creation(others[0]!)),
      update(stale!, 7),
      update(fresh!, 1),
      ...others.slice(1).map((r) => ctx.store.apply(creation(r))),
    ]);
    expect(results.map((r) => r.status)).toStrictEqual([
      "fulfilled",
      "rejected",
      "fulfilled",
      "fulfilled",
      "fulfilled",
      "fulfilled",
    ]);
    expect((results[1] as PromiseRejectedResult).reason).toBeInstanceOf(ConflictError);
    expect(await ctx.store.getGrant(stale!.id)).toStrictEqual(stale);
    expect(await ctx.store.getState("burst", stale!.id)).toBeNull();
    expect((await ctx.store.getGrant(fresh!.id))?.renewals).toBe(9);
    for (const r of others) expect(await ctx.store.getRequest(r.id)).toStrictEqual(r);
    expect((await ctx.store.auditHead()).seq).toBe(2 + 5);
  });

  it("claimOnce writes once: a live entry refuses the whole change set, an expired one is replaced", async () => {
    await write(insertOnce("a", { n: 1 }, T0 + 100));
    await expect(write(insertOnce("a", { n: 2 }, T0 + 200), insertOnce("b", 1, null))).rejects.toBeInstanceOf(
      ConflictError,
    );
    expect(await ctx.store.getState("once", "a")).toStrictEqual({ key: "a", value: { n: 1 }, expiresAt: T0 + 100 });
    expect(await ctx.store.getState("once", "b")).toBeNull();
    // At its expiry the entry is gone for this purpose: the next insert wins.
    await write(insertOnce("a", { n: 3 }, null, T0 + 100));
    expect((await ctx.store.getState("once", "a"))?.value).toStrictEqual({ n: 3 });
    // Without an expiry it never lapses.
    await expect(write(insertOnce("a", { n: 4 }, null, T0 + 1e12))).rejects.toBeInstanceOf(ConflictError);
  });

  it("of concurrent claimOnce writes of one key exactly one commits, and the chain has no hole", async () => {
    const results = await Promise.allSettled(
      Array.from({ length: 20 }, (_, i) => write(insertOnce("race", { writer: i }, T0 + 1000))),
    );
    const won = results.flatMap((r, i) => (r.status === "fulfilled" ? [i] : []));
    expect(won).toHaveLength(1);
    for (const r of results) if (r.status === "rejected") expect(r.reason).toBeInstanceOf(ConflictError);
    expect((await ctx.store.getState("once", "race"))?.value).toStrictEqual({ writer: won[0] });
    expect((await ctx.store.auditHead()).seq).toBe(1);
  });

  it("replaceState replaces only what the writer read", async () => {
    const replace = (value: unknown, expected: { value: unknown } | null): Write => ({
      kind: "replaceState",
      namespace: "cas",
      key: "k",
      value,
      expiresAt: null,
      expected,
    });
    await write(replace({ rev: 1, list: [1, "x"] }, null));
    await expect(write(replace({ rev: 1 }, null))).rejects.toBeInstanceOf(ConflictError);
    const read = await ctx.store.getState("cas", "k");
    await write(replace({ rev: 2 }, { value: read!.value }));
    await expect(write(replace({ rev: 3 }, { value: read!.value }))).rejects.toBeInstanceOf(ConflictError);
    expect((await ctx.store.getState("cas", "k"))?.value).toStrictEqual({ rev: 2 });
  });

  it("a lease has one holder until it expires or is released; its token moves when it changes hands", async () => {
    const ask = (holder: string, now: number) =>
      ctx.store.acquireLease({ name: "maintenance", holder, now, ttlMs: 1000 });
    const first = await ask("a", T0);
    expect(first).toStrictEqual({ name: "maintenance", holder: "a", expiresAt: T0 + 1000, token: 1 });
    expect(await ask("b", T0 + 999)).toBeNull();
    expect(await ask("a", T0 + 500)).toStrictEqual({ ...first, expiresAt: T0 + 1500 });
    const taken = await ask("b", T0 + 1500);
    expect(taken).toMatchObject({ holder: "b", token: 2 });
    await ctx.store.releaseLease("maintenance", "a"); // not a's any more: changes nothing
    expect(await ask("a", T0 + 1600)).toBeNull();
    await ctx.store.releaseLease("maintenance", "b");
    expect(await ask("a", T0 + 1600)).toMatchObject({ holder: "a", token: 3 });
    expect(await ctx.store.acquireLease({ name: "other", holder: "b", now: T0, ttlMs: 10 })).toMatchObject({
      token: 1,
    });
  });

  it("of concurrent lease requests exactly one wins", async () => {
    const results = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        ctx.store.acquireLease({ name: "race", holder: `h${i}`, now: T0, ttlMs: 1000 }),
      ),
    );
    expect(results.filter((r) => r !== null)).toHaveLength(1);
  });
}
