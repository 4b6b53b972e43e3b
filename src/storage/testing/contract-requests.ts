// Store contract, requests: listing by state and identity, the request due index, and the overdue-review count.
import { expect, it } from "vitest";
import { creation, makeRequest, T0 } from "./fixtures.js";
import type { ContractContext } from "./store-contract.js";

export function requestsContract(ctx: ContractContext): void {
  it("lists requests by state and identity, in id order, with paging", async () => {
    const a = makeRequest({ id: "req_a", state: "pending", identityId: "x" });
    const b = makeRequest({ id: "req_b", state: "issued", identityId: "x" });
    const c = makeRequest({ id: "req_c", state: "pending", identityId: "y" });
    for (const r of [c, a, b]) await ctx.store.apply(creation(r));
    const ids = async (filter: Parameters<typeof ctx.store.listRequests>[0]) =>
      (await ctx.store.listRequests(filter)).map((r) => r.id);
    expect(await ids({ limit: 10 })).toEqual(["req_a", "req_b", "req_c"]);
    expect(await ids({ states: ["pending"], limit: 10 })).toEqual(["req_a", "req_c"]);
    expect(await ids({ identityId: "x", limit: 10 })).toEqual(["req_a", "req_b"]);
    expect(await ids({ after: "req_a", limit: 1 })).toEqual(["req_b"]);
    expect(await ids({ states: [], limit: 10 })).toEqual([]);
  });

  it("finds requests whose dueAt has passed, earliest first, and counts overdue reviews", async () => {
    const review = { dueAt: T0 + 50, reviewedBy: null, reviewedAt: null, outcome: null, note: null, overdueAt: null };
    await ctx.store.apply(creation(makeRequest({ id: "req_1", state: "pending", dueAt: T0 + 20 })));
    await ctx.store.apply(creation(makeRequest({ id: "req_2", state: "issued", dueAt: T0 + 50, review })));
    await ctx.store.apply(
      creation(
        makeRequest({
          id: "req_3",
          state: "issued",
          dueAt: null,
          review: { ...review, reviewedAt: T0, reviewedBy: "bob", outcome: "justified" },
        }),
      ),
    );
    expect((await ctx.store.dueRequests(T0 + 10, 10)).map((r) => r.id)).toEqual([]);
    expect((await ctx.store.dueRequests(T0 + 60, 10)).map((r) => r.id)).toEqual(["req_1", "req_2"]);
    expect((await ctx.store.dueRequests(T0 + 60, 1)).map((r) => r.id)).toEqual(["req_1"]);
    expect(await ctx.store.countOverdueReviews(T0 + 49)).toBe(0);
    expect(await ctx.store.countOverdueReviews(T0 + 50)).toBe(1);
  });
}
