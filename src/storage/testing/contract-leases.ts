// Store contract, leases: one holder at a time until expiry or release, a token that moves when it changes hands.
import { expect, it } from "vitest";
import { T0 } from "./fixtures.js";
import type { ContractContext } from "./store-contract.js";

export function leasesContract(ctx: ContractContext): void {
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
