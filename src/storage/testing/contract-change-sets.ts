// Store contract, change sets: exact round trips, optimistic concurrency, refusal of unaudited change sets, and a
// conflict that fails its own change set alone.
import { expect, it } from "vitest";
import type { AccessRequest, Grant } from "../../domain/types.js";
import { ConflictError } from "../store.js";
import { creation, insertGrants, makeDraft, makeGrant, makeRequest, T0 } from "./fixtures.js";
import type { ContractContext } from "./store-contract.js";

/** Every field set to a non-default value, so a column that is dropped or swapped shows up. */
function fullRequest(): AccessRequest {
  return makeRequest({
    identityId: "agent-7",
    entitlement: "tickets/write",
    targetId: "tickets",
    durationSeconds: 1234,
    justification: 'rotate the "prod" keys; ünïcode ✓',
    ticket: "OPS-42",
    intent: { task: "T-9", actions: ["tickets.close"], description: "close stale tickets" },
    breakGlass: true,
    state: "issued",
    decision: {
      outcome: "allow",
      approval: "auto",
      determiningPolicies: ["rule-0", "rule-3"],
      reason: "matched",
      maxDurationSeconds: 3600,
    },
    grantId: "grt_placeholder",
    stateReason: "issued at once",
    createdAt: T0 + 1,
    updatedAt: T0 + 2,
    version: 7,
    revision: 2,
    approvals: [{ approver: "bob", at: T0 + 1, requestHash: "sha256:ab", groups: ["sre"], note: "ok" }],
    dueAt: T0 + 99,
    review: {
      dueAt: T0 + 50,
      reviewedBy: null,
      reviewedAt: null,
      outcome: null,
      note: null,
      overdueAt: null,
    },
    facts: {
      sourceAddress: "10.0.0.1",
      authMethod: "oidc",
      claims: { sub: "repo:x", n: 1 },
      client: { kind: "cli", interactive: true },
    },
  });
}

function fullGrant(request: AccessRequest): Grant {
  return makeGrant(request, {
    connectorType: "http",
    handle: "role-binding-991",
    handleData: { roles: ["a", "b"], nested: { n: 1.5, t: true, z: null }, empty: {} },
    state: "verified",
    issuedAt: T0 + 10,
    expiresAt: T0 + 20,
    maxExpiresAt: T0 + 30,
    renewals: 3,
    endReason: "completed",
    endedAt: T0 + 15,
    endedBy: "agent-7",
    attempts: 2,
    lastError: "timeout talking to target",
    revokedAt: T0 + 16,
    verifiedAt: T0 + 17,
    evidence: { checkedAt: T0 + 17, checks: [{ check: "login_refused", passed: true, observed: "28P01" }] },
    dueAt: null,
    version: 9,
  });
}

export function changeSetsContract(ctx: ContractContext): void {
  it("migrate is idempotent", async () => {
    await ctx.store.migrate();
    await ctx.store.migrate();
    expect(await ctx.store.ping()).toBe(true);
  });

  it("round-trips every field of a request and a grant, with values set", async () => {
    const request = fullRequest();
    const grant = fullGrant(request);
    await ctx.store.apply(creation(request, grant));
    expect(await ctx.store.getRequest(request.id)).toStrictEqual(request);
    expect(await ctx.store.getGrant(grant.id)).toStrictEqual(grant);
  });

  it("round-trips every field of a request and a grant, with nulls and empties", async () => {
    const request = makeRequest();
    const grant = makeGrant(request, { dueAt: null });
    await ctx.store.apply(creation(request, grant));
    expect(await ctx.store.getRequest(request.id)).toStrictEqual(request);
    expect(await ctx.store.getGrant(grant.id)).toStrictEqual(grant);
  });

  it("returns null for unknown ids", async () => {
    expect(await ctx.store.getRequest("req_missing")).toBeNull();
    expect(await ctx.store.getGrant("grt_missing")).toBeNull();
  });

  it("updates the whole row when the expected version matches", async () => {
    const request = makeRequest();
    const grant = makeGrant(request);
    await ctx.store.apply(creation(request, grant));
    const updated = fullGrant(request);
    const next: Grant = { ...updated, id: grant.id, version: grant.version + 1 };
    const nextRequest: AccessRequest = { ...fullRequest(), id: request.id, version: request.version + 1 };
    await ctx.store.apply({
      writes: [
        { kind: "updateGrant", grant: next, expectedVersion: grant.version },
        { kind: "updateRequest", request: nextRequest, expectedVersion: request.version },
      ],
      audit: [makeDraft({ grantId: grant.id })],
    });
    expect(await ctx.store.getGrant(grant.id)).toStrictEqual(next);
    expect(await ctx.store.getRequest(request.id)).toStrictEqual(nextRequest);
  });

  it("refuses a stale version with ConflictError and writes nothing of that change set", async () => {
    const request = makeRequest();
    const grant = makeGrant(request);
    await ctx.store.apply(creation(request, grant));
    const head = await ctx.store.auditHead();
    const stale = ctx.store.apply({
      writes: [
        { kind: "putState", namespace: "ns", key: "k", value: 1, expiresAt: null },
        { kind: "updateGrant", grant: { ...grant, state: "active", version: 5 }, expectedVersion: 4 },
      ],
      audit: [makeDraft({ grantId: grant.id })],
    });
    await expect(stale).rejects.toBeInstanceOf(ConflictError);
    expect(await ctx.store.getGrant(grant.id)).toStrictEqual(grant);
    expect(await ctx.store.getState("ns", "k")).toBeNull();
    expect(await ctx.store.auditHead()).toStrictEqual(head);
  });

  it("refuses updating a row that does not exist, and inserting an id twice", async () => {
    const request = makeRequest();
    const grant = makeGrant(request);
    const missing = { kind: "updateGrant", grant: { ...grant, version: 2 }, expectedVersion: 1 } as const;
    await expect(ctx.store.apply({ writes: [missing], audit: [makeDraft()] })).rejects.toBeInstanceOf(ConflictError);
    await ctx.store.apply(creation(request, grant));
    await expect(ctx.store.apply(creation(request))).rejects.toBeInstanceOf(ConflictError);
    const again = makeRequest();
    await expect(ctx.store.apply(creation(again, { ...grant, requestId: again.id }))).rejects.toBeInstanceOf(
      ConflictError,
    );
    expect(await ctx.store.getRequest(again.id)).toBeNull();
  });

  it("fails only the conflicting change set of a concurrent burst; the others commit, the chain has no hole", async () => {
    const request = makeRequest();
    const grant = makeGrant(request);
    await ctx.store.apply(creation(request, grant));
    const update = (expectedVersion: number) =>
      ctx.store.apply({
        writes: [{ kind: "updateGrant", grant: { ...grant, version: expectedVersion + 1 }, expectedVersion }],
        audit: [makeDraft({ grantId: grant.id })],
      });
    const others = Array.from({ length: 5 }, () => makeRequest());
    const results = await Promise.allSettled([
      ctx.store.apply(creation(others[0]!)),
      update(1),
      ctx.store.apply(creation(others[1]!)),
      update(1), // same version as the previous one: exactly one of the two can win
      ...others.slice(2).map((r) => ctx.store.apply(creation(r))),
    ]);
    const rejected = results.filter((r) => r.status === "rejected");
    expect(rejected).toHaveLength(1);
    expect((rejected[0] as PromiseRejectedResult).reason).toBeInstanceOf(ConflictError);
    for (const r of others) expect(await ctx.store.getRequest(r.id)).not.toBeNull();
    expect((await ctx.store.getGrant(grant.id))?.version).toBe(2);
    const events = await ctx.store.listAudit(0, 100);
    expect(events.map((e) => e.seq)).toStrictEqual(Array.from({ length: 7 }, (_, i) => i + 1));
  });

  it("refuses an update whose new version is not expectedVersion + 1", async () => {
    const request = makeRequest();
    await ctx.store.apply(creation(request));
    const write = { kind: "updateRequest", request: { ...request, state: "issued" }, expectedVersion: 1 } as const;
    await expect(ctx.store.apply({ writes: [write], audit: [makeDraft()] })).rejects.toThrow(/version/);
    expect(await ctx.store.getRequest(request.id)).toStrictEqual(request);
  });

  it("refuses a change set without audit events and writes nothing", async () => {
    const request = makeRequest();
    await expect(ctx.store.apply({ writes: [{ kind: "insertRequest", request }], audit: [] })).rejects.toThrow(/audit/);
    expect(await ctx.store.getRequest(request.id)).toBeNull();
    expect(await ctx.store.auditHead()).toStrictEqual({ seq: 0, hash: "0".repeat(64) });
  });

  it("refuses a grant whose request does not exist", async () => {
    const orphan = makeGrant(makeRequest());
    const set = { writes: [{ kind: "insertGrant", grant: orphan } as const], audit: [makeDraft()] };
    await expect(ctx.store.apply(set)).rejects.toThrow();
    expect(await ctx.store.getGrant(orphan.id)).toBeNull();
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

  it("answers ping", async () => {
    expect(await ctx.store.ping()).toBe(true);
  });
}
