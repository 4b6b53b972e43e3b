// Store contract, approvals and the outbox: request listing and the request due index, the overdue-review count, and
// notifications written in a change set, settled outside one, and dead-lettered with their audit event.
import { expect, it } from "vitest";
import type { NotificationRecord } from "../store.js";
import { creation, makeDraft, makeRequest, T0 } from "./fixtures.js";
import type { ContractContext } from "./store-contract.js";

const note = (overrides: Partial<NotificationRecord> = {}): NotificationRecord => ({
  id: `ntf_${Math.random().toString(36).slice(2)}`,
  sink: "ops",
  event: "approval_pending",
  payload: { requestId: "req_1", nested: { a: [1, "b"] } },
  state: "pending",
  attempts: 0,
  nextAttemptAt: T0,
  lastError: null,
  createdAt: T0,
  deliveredAt: null,
  ...overrides,
});

export function approvalsContract(ctx: ContractContext): void {
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

  it("keeps notifications written with their change set, settles them, and dead-letters them with an audit event", async () => {
    const first = note({ id: "ntf_1" });
    const later = note({ id: "ntf_2", nextAttemptAt: T0 + 100 });
    await ctx.store.apply({
      writes: [
        { kind: "insertNotification", notification: first },
        { kind: "insertNotification", notification: later },
      ],
      audit: [makeDraft()],
    });
    const lease = { limit: 10, leaseMs: 60_000 };
    expect(await ctx.store.claimDueNotifications({ now: T0, ...lease })).toStrictEqual([
      { ...first, nextAttemptAt: T0 + 60_000 },
    ]);
    // Claimed: nobody else takes it while the lease lives.
    expect(await ctx.store.claimDueNotifications({ now: T0 + 1, ...lease })).toEqual([]);
    const delivered = { ...first, state: "delivered" as const, attempts: 1, nextAttemptAt: null, deliveredAt: T0 + 1 };
    await ctx.store.settleNotification(delivered);
    expect(await ctx.store.claimDueNotifications({ now: T0 + 100, ...lease })).toStrictEqual([
      { ...later, nextAttemptAt: T0 + 100 + 60_000 },
    ]);
    // A claim whose lease lapsed without a settlement (its replica died) is due again: delivery is at least once.
    expect((await ctx.store.claimDueNotifications({ now: T0 + 100 + 60_000, ...lease })).map((n) => n.id)).toEqual([
      "ntf_2",
    ]);
    const dead = { ...later, state: "dead" as const, attempts: 3, nextAttemptAt: null, lastError: "HTTP 503" };
    await ctx.store.apply({ writes: [{ kind: "settleNotification", notification: dead }], audit: [makeDraft()] });
    expect(await ctx.store.listNotifications({ states: ["dead"], limit: 10 })).toStrictEqual([dead]);
    expect(await ctx.store.listNotifications({ limit: 10 })).toStrictEqual([delivered, dead]);
    expect(await ctx.store.claimDueNotifications({ now: T0 + 1e9, ...lease })).toEqual([]);
  });

  it("commits no notification when its change set fails", async () => {
    const request = makeRequest({ id: "req_dup" });
    await ctx.store.apply(creation(request));
    await expect(
      ctx.store.apply({
        writes: [
          { kind: "insertNotification", notification: note({ id: "ntf_x" }) },
          { kind: "insertRequest", request },
        ],
        audit: [makeDraft()],
      }),
    ).rejects.toThrow();
    expect(await ctx.store.listNotifications({ limit: 10 })).toEqual([]);
  });
}
