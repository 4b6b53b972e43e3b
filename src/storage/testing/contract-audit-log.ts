// Store contract, audit log: contiguous sequence and an intact hash chain under heavy concurrency, and its queries.
import { expect, it } from "vitest";
import { GENESIS_HASH, hashEvent } from "../../domain/audit-chain.js";
import type { AuditEvent } from "../../domain/types.js";
import { creation, makeDraft, makeRequest } from "./fixtures.js";
import type { ContractContext } from "./store-contract.js";

async function readAll(ctx: ContractContext, pageSize: number): Promise<AuditEvent[]> {
  const all: AuditEvent[] = [];
  for (;;) {
    const page = await ctx.store.listAudit(all.at(-1)?.seq ?? 0, pageSize);
    if (page.length === 0) return all;
    all.push(...page);
  }
}

function expectChained(events: readonly AuditEvent[]): void {
  let prev = GENESIS_HASH;
  events.forEach((event, i) => {
    expect(event.seq).toBe(i + 1);
    expect(event.prevHash).toBe(prev);
    const { hash, ...body } = event;
    expect(hashEvent(body)).toBe(hash);
    prev = hash;
  });
}

export function auditLogContract(ctx: ContractContext): void {
  it("chains 500 concurrent change sets into one contiguous sequence", async () => {
    const sets = Array.from({ length: 500 }, (_, i) => ({
      writes: [],
      audit: Array.from({ length: (i % 3) + 1 }, (_, j) => makeDraft({ code: "test.burst", data: { i, j } })),
    }));
    const results = await Promise.all(sets.map((set) => ctx.store.apply(set)));
    const total = sets.reduce((n, s) => n + s.audit.length, 0);

    const stored = await readAll(ctx, 137);
    expect(stored).toHaveLength(total);
    expectChained(stored);
    // What apply returned is exactly what the log holds, and each set's events are consecutive and in draft order.
    const bySeq = new Map(stored.map((e) => [e.seq, e]));
    results.forEach((events, i) => {
      expect(events).toHaveLength(sets[i]!.audit.length);
      events.forEach((event, j) => {
        expect(event).toStrictEqual(bySeq.get(event.seq));
        expect(event.data).toStrictEqual({ i, j });
        if (j > 0) expect(event.seq).toBe(events[j - 1]!.seq + 1);
      });
    });
    const last = stored.at(-1)!;
    expect(await ctx.store.auditHead()).toStrictEqual({ seq: last.seq, hash: last.hash });
  });

  it("starts at the genesis hash, and the head of an empty log is seq 0", async () => {
    expect(await ctx.store.auditHead()).toStrictEqual({ seq: 0, hash: GENESIS_HASH });
    const [first] = await ctx.store.apply({ writes: [], audit: [makeDraft()] });
    expect(first?.seq).toBe(1);
    expect(first?.prevHash).toBe(GENESIS_HASH);
  });

  it("stores every field of an event, and the stored form is what was hashed", async () => {
    const request = makeRequest();
    const draft = makeDraft({
      time: 1_767_225_600_123,
      code: "grant.revoked",
      severity: "alert",
      outcome: "failure",
      actor: { type: "identity", id: "ops-bot" },
      requestId: request.id,
      grantId: "grt_x",
      identityId: "ops-bot",
      data: { reason: 'é ✓ "quoted"', nested: { list: [1, "two", null, { three: 3 }] }, gone: undefined },
    });
    const [event] = await ctx.store.apply({ writes: [], audit: [draft] });
    const [stored] = await ctx.store.listAudit(0, 1);
    expect(stored).toStrictEqual(event);
    const { gone: _gone, ...data } = draft.data;
    expect(stored).toMatchObject({ ...draft, data });
    expect(stored?.id).toMatch(/^evt_/);
    const { hash, ...body } = stored!;
    expect(hashEvent(body)).toBe(hash);
  });

  it("pages through listAudit by sequence number", async () => {
    await ctx.store.apply({ writes: [], audit: Array.from({ length: 10 }, () => makeDraft()) });
    expect((await ctx.store.listAudit(0, 3)).map((e) => e.seq)).toStrictEqual([1, 2, 3]);
    expect((await ctx.store.listAudit(7, 100)).map((e) => e.seq)).toStrictEqual([8, 9, 10]);
    expect(await ctx.store.listAudit(10, 100)).toStrictEqual([]);
  });

  it("auditFor returns a grant's or a request's events in order, or both together", async () => {
    const request = makeRequest();
    await ctx.store.apply(creation(request));
    await ctx.store.apply({ writes: [], audit: [makeDraft({ code: "noise" })] });
    await ctx.store.apply({
      writes: [],
      audit: [
        makeDraft({ code: "grant.issued", grantId: "grt_1", requestId: request.id }),
        makeDraft({ code: "grant.revoked", grantId: "grt_1" }),
        makeDraft({ code: "other.grant", grantId: "grt_2" }),
      ],
    });
    const codes = (events: readonly AuditEvent[]) => events.map((e) => e.code);
    expect(codes(await ctx.store.auditFor({ grantId: "grt_1" }, 10))).toStrictEqual(["grant.issued", "grant.revoked"]);
    expect(codes(await ctx.store.auditFor({ requestId: request.id }, 10))).toStrictEqual([
      "request.created",
      "grant.issued",
    ]);
    expect(codes(await ctx.store.auditFor({ grantId: "grt_1", requestId: request.id }, 10))).toStrictEqual([
      "request.created",
      "grant.issued",
      "grant.revoked",
    ]);
    expect(await ctx.store.auditFor({ grantId: "grt_1" }, 1)).toHaveLength(1);
    expect(await ctx.store.auditFor({ grantId: "grt_none" }, 10)).toStrictEqual([]);
  });

  it("refuses an event whose data is not JSON, alone, without a hole in the sequence", async () => {
    const bad = { writes: [], audit: [makeDraft({ data: { n: 1n } })] };
    const results = await Promise.allSettled([
      ctx.store.apply({ writes: [], audit: [makeDraft()] }),
      ctx.store.apply(bad),
      ctx.store.apply({ writes: [], audit: [makeDraft()] }),
    ]);
    expect(results.map((r) => r.status)).toStrictEqual(["fulfilled", "rejected", "fulfilled"]);
    expectChained(await readAll(ctx, 10));
    expect((await ctx.store.auditHead()).seq).toBe(2);
  });
}
