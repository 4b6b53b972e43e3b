// Store contract, API keys and connector state: upserts, lookups, expiry and purging.
import { expect, it } from "vitest";
import type { Write } from "../store.js";
import { makeDraft, T0 } from "./fixtures.js";
import type { ContractContext } from "./store-contract.js";

export function keysAndStateContract(ctx: ContractContext): void {
  const write = (...writes: Write[]) => ctx.store.apply({ writes, audit: [makeDraft({ code: "state.changed" })] });
  const put = (namespace: string, key: string, value: unknown, expiresAt: number | null = null): Write => ({
    kind: "putState",
    namespace,
    key,
    value,
    expiresAt,
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

  it("answers ping", async () => {
    expect(await ctx.store.ping()).toBe(true);
  });
}
