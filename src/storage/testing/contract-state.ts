// Store contract, key-value state: JSON round trips, namespaces, expiry and purging, insert-once and compare-and-set.
import { expect, it } from "vitest";
import { ConflictError, type Write } from "../store.js";
import { makeDraft, T0 } from "./fixtures.js";
import type { ContractContext } from "./store-contract.js";

export function stateContract(ctx: ContractContext): void {
  const write = (...writes: Write[]) => ctx.store.apply({ writes, audit: [makeDraft({ code: "state.changed" })] });
  const put = (namespace: string, key: string, value: unknown, expiresAt: number | null = null): Write => ({
    kind: "putState",
    namespace,
    key,
    value,
    expiresAt,
  });
  const insertOnce = (key: string, value: unknown, expiresAt: number | null, now = T0): Write => ({
    kind: "claimOnce",
    namespace: "once",
    key,
    value,
    expiresAt,
    now,
  });

  it("round-trips JSON state values and keeps namespaces apart", async () => {
    const value = { kid: "key-1", alg: "EdDSA", list: [1, 2.5, "x", null, true], nested: { deep: {} } };
    await write(put("signing", "current", value, T0 + 1000), put("deny", "current", "s"), put("deny", "n", null));
    expect(await ctx.store.getState("signing", "current")).toStrictEqual({
      key: "current",
      value,
      expiresAt: T0 + 1000,
    });
    expect(await ctx.store.getState("deny", "current")).toStrictEqual({ key: "current", value: "s", expiresAt: null });
    expect(await ctx.store.getState("deny", "n")).toStrictEqual({ key: "n", value: null, expiresAt: null });
    expect(await ctx.store.getState("signing", "missing")).toBeNull();
  });

  it("putState replaces, deleteState removes, listState lists one namespace in key order", async () => {
    await write(put("ns", "b", 1), put("ns", "a", 2), put("other", "c", 3));
    await write(put("ns", "b", 10, T0), { kind: "deleteState", namespace: "ns", key: "a" });
    await write({ kind: "deleteState", namespace: "ns", key: "never-existed" });
    expect(await ctx.store.listState("ns")).toStrictEqual([{ key: "b", value: 10, expiresAt: T0 }]);
    await write(put("ns", "a", 2));
    expect((await ctx.store.listState("ns")).map((s) => s.key)).toStrictEqual(["a", "b"]);
    expect(await ctx.store.listState("empty")).toStrictEqual([]);
  });

  it("purgeExpiredState removes entries expired at `now` and keeps the rest", async () => {
    await write(
      put("ns", "past", 1, T0 - 1),
      put("ns", "now", 2, T0),
      put("ns", "future", 3, T0 + 1),
      put("ns", "forever", 4),
    );
    expect(await ctx.store.purgeExpiredState(T0)).toBe(2);
    expect((await ctx.store.listState("ns")).map((s) => s.key)).toStrictEqual(["forever", "future"]);
    expect(await ctx.store.purgeExpiredState(T0)).toBe(0);
  });

  it("refuses a state value that is not JSON, and writes nothing of that change set", async () => {
    await expect(write(put("ns", "a", 1), put("ns", "bad", undefined))).rejects.toThrow(/JSON/);
    expect(await ctx.store.getState("ns", "a")).toBeNull();
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
}
