// Store contract, identity registry: inserts, versioned updates, filters, paging, sightings that never conflict, and
// the API keys that authenticate identities.
import { expect, it } from "vitest";
import type { IdentityRecord } from "../../domain/types.js";
import { ConflictError, type Write } from "../store.js";
import { makeDraft, makeIdentity, T0 } from "./fixtures.js";
import type { ContractContext } from "./store-contract.js";

export function identitiesContract(ctx: ContractContext): void {
  const write = (...writes: Write[]) => ctx.store.apply({ writes, audit: [makeDraft({ code: "identity.changed" })] });
  const insert = (identity: IdentityRecord): Write => ({ kind: "insertIdentity", identity });
  const update = (before: IdentityRecord, patch: Partial<IdentityRecord>): Write => ({
    kind: "updateIdentity",
    identity: { ...before, ...patch, version: before.version + 1 },
    expectedVersion: before.version,
  });

  it("round-trips an identity with its groups, attributes, owner and status", async () => {
    const identity = makeIdentity({ attributes: { env: "prod", repo: "acme/deploy" }, groups: ["ci", "deployers"] });
    await write(insert(identity));
    expect(await ctx.store.getIdentity(identity.id)).toStrictEqual(identity);
    const human = makeIdentity({ id: "alice", kind: "human", owner: null, groups: [], attributes: {}, admin: true });
    await write(insert(human));
    expect(await ctx.store.getIdentity("alice")).toStrictEqual(human);
    expect(await ctx.store.getIdentity("nobody")).toBeNull();
  });

  it("refuses a second insert of the same id as a conflict, and writes nothing of that change set", async () => {
    await write(insert(makeIdentity()));
    await expect(write(insert(makeIdentity({ owner: "someone-else" })))).rejects.toBeInstanceOf(ConflictError);
    expect((await ctx.store.getIdentity("ci-deploy"))?.owner).toBe("team-payments");
  });

  it("updates only from the version read; a stale update is a conflict", async () => {
    const identity = makeIdentity();
    await write(insert(identity));
    await write(update(identity, { status: "offboarded", statusReason: "offboarded by alice", updatedAt: T0 + 5 }));
    const after = await ctx.store.getIdentity(identity.id);
    expect(after).toMatchObject({ status: "offboarded", statusReason: "offboarded by alice", version: 2 });
    await expect(write(update(identity, { status: "dormant" }))).rejects.toBeInstanceOf(ConflictError);
    expect((await ctx.store.getIdentity(identity.id))?.status).toBe("offboarded");
  });

  it("holds a change set to an identity active at the version read: a status change since fails the whole set", async () => {
    const identity = makeIdentity();
    await write(insert(identity));
    const hold = (version: number): Write => ({ kind: "assertIdentityActive", identityId: identity.id, version });
    const state = (key: string): Write => ({ kind: "putState", namespace: "t", key, value: 1, expiresAt: null });
    // Many holds of one identity in one burst all pass, and write nothing to it (a sighting does not disturb them).
    await ctx.store.markIdentitiesSeen([{ id: identity.id, at: T0 + 1 }]);
    await Promise.all(["a", "b", "c"].map((key) => write(hold(1), state(key))));
    expect(await ctx.store.getIdentity(identity.id)).toMatchObject({ version: 1, status: "active" });
    expect((await ctx.store.listState("t")).map((e) => e.key)).toEqual(["a", "b", "c"]);
    await expect(write(hold(2), state("d"))).rejects.toBeInstanceOf(ConflictError);
    await expect(write({ kind: "assertIdentityActive", identityId: "nobody", version: 1 })).rejects.toBeInstanceOf(
      ConflictError,
    );
    // Offboarded at version 2: a set holding version 1 fails alone, with nothing of it written; others commit.
    await write(update(identity, { status: "offboarded" }));
    const outcomes = await Promise.allSettled([write(hold(1), state("e")), write(state("f"))]);
    expect(outcomes[0]).toMatchObject({ status: "rejected", reason: expect.any(ConflictError) });
    expect(outcomes[1]).toMatchObject({ status: "fulfilled" });
    await expect(write(hold(2), state("g"))).rejects.toBeInstanceOf(ConflictError);
    expect((await ctx.store.listState("t")).map((e) => e.key)).toEqual(["a", "b", "c", "f"]);
  });

  it("records sightings without a version change: first seen once, last seen only forward", async () => {
    const identity = makeIdentity();
    await write(insert(identity));
    await ctx.store.markIdentitiesSeen([{ id: identity.id, at: T0 + 100 }]);
    await ctx.store.markIdentitiesSeen([
      { id: identity.id, at: T0 + 50 },
      { id: "not-registered", at: T0 },
    ]);
    await ctx.store.markIdentitiesSeen([{ id: identity.id, at: T0 + 300 }]);
    expect(await ctx.store.getIdentity(identity.id)).toMatchObject({
      firstSeenAt: T0 + 100,
      lastSeenAt: T0 + 300,
      version: 1,
    });
    expect(await ctx.store.getIdentity("not-registered")).toBeNull();
    // A status change made from the version read before the sighting still applies and keeps the sighting.
    await write(update(identity, { status: "dormant" }));
    expect(await ctx.store.getIdentity(identity.id)).toMatchObject({ status: "dormant", lastSeenAt: T0 + 300 });
  });

  it("lists by status, kind and owner, in id order, with paging", async () => {
    await write(
      insert(makeIdentity({ id: "b-agent", kind: "agent", owner: "team-ml" })),
      insert(makeIdentity({ id: "a-pipe", kind: "pipeline", owner: "team-payments" })),
      insert(makeIdentity({ id: "c-human", kind: "human", owner: null, status: "dormant" })),
      insert(makeIdentity({ id: "d-svc", kind: "service_account", owner: "team-payments", status: "offboarded" })),
    );
    const ids = (list: readonly IdentityRecord[]) => list.map((i) => i.id);
    expect(ids(await ctx.store.listIdentities({ limit: 10 }))).toStrictEqual(["a-pipe", "b-agent", "c-human", "d-svc"]);
    expect(ids(await ctx.store.listIdentities({ limit: 2 }))).toStrictEqual(["a-pipe", "b-agent"]);
    expect(ids(await ctx.store.listIdentities({ limit: 2, after: "b-agent" }))).toStrictEqual(["c-human", "d-svc"]);
    expect(ids(await ctx.store.listIdentities({ statuses: ["active"], limit: 10 }))).toStrictEqual([
      "a-pipe",
      "b-agent",
    ]);
    expect(ids(await ctx.store.listIdentities({ statuses: ["dormant", "offboarded"], limit: 10 }))).toStrictEqual([
      "c-human",
      "d-svc",
    ]);
    expect(ids(await ctx.store.listIdentities({ kinds: ["agent", "human"], limit: 10 }))).toStrictEqual([
      "b-agent",
      "c-human",
    ]);
    expect(ids(await ctx.store.listIdentities({ owner: "team-payments", limit: 10 }))).toStrictEqual([
      "a-pipe",
      "d-svc",
    ]);
    expect(await ctx.store.listIdentities({ statuses: [], limit: 10 })).toStrictEqual([]);
    expect(await ctx.store.listIdentities({ limit: 0 })).toStrictEqual([]);
    await expect(ctx.store.listIdentities({ limit: -1 })).rejects.toThrow(RangeError);
  });

  it("treats identity ids and owners with quotes and SQL text as plain data", async () => {
    const odd = makeIdentity({ id: "x'; DROP TABLE identities; --", owner: "o'wner\"" });
    await write(insert(odd));
    expect(await ctx.store.getIdentity(odd.id)).toStrictEqual(odd);
    expect((await ctx.store.listIdentities({ owner: "o'wner\"", limit: 5 })).map((i) => i.id)).toStrictEqual([odd.id]);
  });

  it("stores, finds and updates API keys", async () => {
    const record = {
      keyId: "k1",
      identityId: "ci-deploy",
      hash: `sha256:${"ab".repeat(32)}`,
      createdAt: T0,
      revokedAt: null,
    };
    await ctx.store.putApiKey(record);
    expect(await ctx.store.findApiKey("k1")).toStrictEqual(record);
    expect(await ctx.store.findApiKey("k2")).toBeNull();
    const revoked = { ...record, revokedAt: T0 + 5 };
    await ctx.store.putApiKey(revoked);
    expect(await ctx.store.findApiKey("k1")).toStrictEqual(revoked);
  });
}
