// Store contract, the notification outbox: notifications written in a change set, settled outside one, and
// dead-lettered with their audit event.
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

export function outboxContract(ctx: ContractContext): void {
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
