// The lifecycle end to end on a real store and a fake target: issue, expiry, completion, failures, retries and recovery.
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { verifyStoreChain } from "../audit/verify.js";
import { ExpiryScheduler } from "./monitor/expiry-scheduler.js";
import { renewGrant } from "./renew/renew-grant.js";
import { requestAccess } from "./request/request-access.js";
import { endGrantByCaller } from "./revoke/end-grant.js";
import { type Harness, makeHarness, refusal } from "./testing/harness.js";

const meta = { sourceAddress: "127.0.0.1" };

async function codes(h: Harness): Promise<string[]> {
  return (await h.store.listAudit(0, 1000)).map((e) => e.code);
}

describe("lifecycle", () => {
  let h: Harness;
  beforeEach(async () => {
    h = await makeHarness();
  });
  afterEach(async () => {
    await h.close();
  });

  it("issues a credential only after the grant row is committed, and audits each step", async () => {
    const result = await requestAccess(h.deps, h.ci, { entitlement: "db/read", duration: "10m" }, meta);
    expect(result.outcome).toBe("issued");
    if (result.outcome !== "issued") return;
    expect(h.target.stateAtIssue).toEqual(["issuing"]);
    expect(result.grant.state).toBe("active");
    expect(result.grant.expiresAt).toBe(h.clock.now() + 600_000);
    expect(result.grant.maxExpiresAt).toBe(h.clock.now() + 1_800_000); // the allow-list's shorter maximum wins
    expect(h.target.accounts.has(result.grant.handle)).toBe(true);
    expect(await codes(h)).toEqual(["request.approved", "grant.issuing", "grant.issued"]);
    expect((await h.store.getRequest(result.request.id))?.state).toBe("issued");
  });

  it("an Idempotency-Key names one request: a retry answers it without a credential, another body is refused", async () => {
    const keyed = { ...meta, idempotencyKey: "deploy-42-attempt" };
    const input = { entitlement: "db/read", duration: "10m" };
    const first = await requestAccess(h.deps, h.ci, input, keyed);
    if (first.outcome !== "issued") throw new Error("not issued");
    const again = await requestAccess(h.deps, h.ci, input, keyed);
    expect(again).toMatchObject({
      outcome: "replayed",
      request: { id: first.request.id },
      grant: { id: first.grant.id },
    });
    expect("credential" in again).toBe(false);
    expect((await refusal(requestAccess(h.deps, h.ci, { ...input, duration: "5m" }, keyed))).code).toBe(
      "idempotency_key_reused",
    );
    // Scoped to the caller: another identity's same key is its own request.
    const other = await requestAccess(h.deps, { ...h.ci, id: "other-ci" }, input, keyed);
    expect(other.outcome === "issued" && other.grant.id).not.toBe(first.grant.id);
    expect((await refusal(requestAccess(h.deps, h.ci, input, { ...meta, idempotencyKey: "has space" }))).code).toBe(
      "invalid_request",
    );
  });

  it("of concurrent requests with one Idempotency-Key exactly one makes a grant; the rest answer it", async () => {
    const keyed = { ...meta, idempotencyKey: "burst-1" };
    const results = await Promise.all(
      Array.from({ length: 8 }, () => requestAccess(h.deps, h.ci, { entitlement: "db/read" }, keyed)),
    );
    expect(results.filter((r) => r.outcome === "issued")).toHaveLength(1);
    expect(await h.store.listGrants({ limit: 100 })).toHaveLength(1);
    expect(h.target.accounts.size).toBe(1);
    const grantIds = new Set(
      results.map((r) => (r.outcome === "issued" || r.outcome === "replayed" ? r.grant?.id : null)),
    );
    expect(grantIds.size).toBe(1);
  });

  it("removes the access at expiry and reports it removed only once verified", async () => {
    const result = await requestAccess(h.deps, h.ci, { entitlement: "db/read", duration: 60 }, meta);
    if (result.outcome !== "issued") throw new Error("not issued");
    expect(await h.scheduler.runOnce()).toBe(0);
    h.clock.advance(60_000);
    expect(await h.scheduler.runOnce()).toBe(1);
    const grant = await h.store.getGrant(result.grant.id);
    expect(grant).toMatchObject({ state: "verified", endReason: "expired", dueAt: null });
    expect(grant?.evidence?.checks.every((c) => c.passed)).toBe(true);
    expect(h.target.accounts.size).toBe(0);
    expect(await codes(h)).toEqual([
      "request.approved",
      "grant.issuing",
      "grant.issued",
      "grant.revoking",
      "grant.revoked",
      "grant.verified",
    ]);
    expect((await verifyStoreChain(h.store)).ok).toBe(true);
  });

  it("a failed issue leaves nothing behind downstream and fails the request", async () => {
    h.target.failIssue = true;
    const error = await refusal(requestAccess(h.deps, h.ci, { entitlement: "db/read" }, meta));
    expect(error.code).toBe("downstream_unavailable");
    expect(error.publicMessage).not.toContain("pw-");
    expect(h.target.accounts.size).toBe(0);
    const [grant] = await h.store.listGrants({ limit: 10 });
    expect(grant).toMatchObject({ state: "verified", endReason: "issue_failed" });
    expect((await h.store.getRequest(grant!.requestId))?.state).toBe("failed");
  });

  it("retries a failing removal with growing backoff, alarms, and never reports it removed early", async () => {
    const result = await requestAccess(h.deps, h.ci, { entitlement: "db/read", duration: 60 }, meta);
    if (result.outcome !== "issued") throw new Error("not issued");
    h.target.failRevokes = 2;
    h.clock.advance(60_000);
    await h.scheduler.runOnce();
    let grant = await h.store.getGrant(result.grant.id);
    expect(grant).toMatchObject({ state: "revoke_failed", attempts: 1 });
    expect(grant?.lastError).toContain("connection refused");
    expect(grant!.dueAt! - h.clock.now()).toBe(750); // 1 s initial × jitter 0.75
    expect(await h.metrics.registry.getSingleMetricAsString("ephemera_grants_revoke_failed")).toMatch(/ 1$/m);

    expect(await h.scheduler.runOnce()).toBe(0); // not yet due
    h.clock.advance(750);
    await h.scheduler.runOnce();
    grant = await h.store.getGrant(result.grant.id);
    expect(grant).toMatchObject({ state: "revoke_failed", attempts: 2 });
    expect(grant!.dueAt! - h.clock.now()).toBe(1500); // doubled

    h.clock.advance(1500);
    await h.scheduler.runOnce();
    grant = await h.store.getGrant(result.grant.id);
    expect(grant).toMatchObject({ state: "verified", attempts: 2 });
    expect(h.target.accounts.size).toBe(0);
  });

  it("does not mark a grant removed when the account is still there after revoke", async () => {
    const result = await requestAccess(h.deps, h.ci, { entitlement: "db/read", duration: 60 }, meta);
    if (result.outcome !== "issued") throw new Error("not issued");
    h.target.revokeLeavesAccount = true;
    const ended = await endGrantByCaller(h.deps, h.ci, result.grant.id, "completed");
    expect(ended.state).toBe("revoke_failed");
    expect(ended.lastError).toContain("still present");
    h.target.revokeLeavesAccount = false;
    h.clock.advance(ended.dueAt! - h.clock.now());
    await h.scheduler.runOnce();
    expect((await h.store.getGrant(result.grant.id))?.state).toBe("verified");
  });

  it("completes a grant for its owner at once", async () => {
    const result = await requestAccess(h.deps, h.ci, { entitlement: "db/read" }, meta);
    if (result.outcome !== "issued") throw new Error("not issued");
    const ended = await endGrantByCaller(h.deps, h.ci, result.grant.id, "completed");
    expect(ended).toMatchObject({ state: "verified", endReason: "completed", endedBy: "ci-deploy" });
    const again = await refusal(endGrantByCaller(h.deps, h.ci, result.grant.id, "completed"));
    expect(again.code).toBe("invalid_state");
  });

  it("refuses another identity's grant and lets an admin revoke it, auditing both", async () => {
    const result = await requestAccess(h.deps, h.ci, { entitlement: "db/read" }, meta);
    if (result.outcome !== "issued") throw new Error("not issued");
    const error = await refusal(endGrantByCaller(h.deps, h.other, result.grant.id, "revoked"));
    expect(error.code).toBe("not_owner");
    expect((await h.store.getGrant(result.grant.id))?.state).toBe("active");
    const revoked = await endGrantByCaller(h.deps, h.admin, result.grant.id, "revoked");
    expect(revoked).toMatchObject({ state: "verified", endReason: "revoked", endedBy: "alice" });
    expect(await codes(h)).toContain("auth.forbidden");
  });

  it("renewal re-checks policy and never passes the maximum", async () => {
    const result = await requestAccess(h.deps, h.ci, { entitlement: "db/read", duration: "10m" }, meta);
    if (result.outcome !== "issued") throw new Error("not issued");
    const start = h.clock.now();
    h.clock.advance(5 * 60_000);
    const renewed = await renewGrant(h.deps, h.ci, result.grant.id, { duration: "20m" }, meta);
    expect(renewed.grant.expiresAt).toBe(h.clock.now() + 20 * 60_000);
    expect(renewed.capped).toBe(false);
    h.clock.advance(10 * 60_000);
    const capped = await renewGrant(h.deps, h.ci, result.grant.id, { duration: "1h" }, meta);
    expect(capped.capped).toBe(true);
    expect(capped.grant.expiresAt).toBe(start + 1_800_000);
    const atMax = await refusal(renewGrant(h.deps, h.ci, result.grant.id, { duration: "5m" }, meta));
    expect(atMax.code).toBe("max_duration_reached");
    const tooLong = await refusal(renewGrant(h.deps, h.ci, result.grant.id, { duration: "2h" }, meta));
    expect(tooLong.code).toBe("duration_too_long");
    expect((await h.store.getGrant(result.grant.id))?.renewals).toBe(2);
  });

  it("refuses to renew a grant whose expiry has passed, even before the scheduler has ended it", async () => {
    const result = await requestAccess(h.deps, h.ci, { entitlement: "db/read", duration: 60 }, meta);
    if (result.outcome !== "issued") throw new Error("not issued");
    h.clock.advance(60_000);
    const error = await refusal(renewGrant(h.deps, h.ci, result.grant.id, { duration: "5m" }, meta));
    expect(error.code).toBe("invalid_state");
    expect((await h.store.getGrant(result.grant.id))?.expiresAt).toBe(result.grant.expiresAt);
  });

  it("an admin may renew another identity's grant but never receives its credential", async () => {
    const result = await requestAccess(h.deps, h.ci, { entitlement: "db/read", duration: "5m" }, meta);
    if (result.outcome !== "issued") throw new Error("not issued");
    h.target.renewCredential = true;
    const byAdmin = await renewGrant(h.deps, h.admin, result.grant.id, { duration: "10m" }, meta);
    expect(byAdmin.credential).toBeNull();
    const byOwner = await renewGrant(h.deps, h.ci, result.grant.id, { duration: "20m" }, meta);
    expect(byOwner.credential).not.toBeNull();
  });

  it("a scheduler pass that keeps failing waits for the poll interval instead of spinning", async () => {
    const result = await requestAccess(h.deps, h.ci, { entitlement: "db/read", duration: 60 }, meta);
    if (result.outcome !== "issued") throw new Error("not issued");
    h.clock.advance(60_000);
    let passes = 0;
    const realClaim = h.store.claimDue.bind(h.store);
    const failing = new ExpiryScheduler(
      {
        ...h.deps,
        store: new Proxy(h.store, {
          get(target, prop) {
            if (prop === "claimDue") {
              return (request: Parameters<typeof realClaim>[0]) => {
                passes++;
                return realClaim(request);
              };
            }
            if (prop === "apply") return async () => Promise.reject(new Error("disk full"));
            const value: unknown = Reflect.get(target, prop, target);
            return typeof value === "function" ? value.bind(target) : value;
          },
        }),
      },
      { batch: 100, concurrency: 4, pollIntervalMs: 200 },
    );
    // The scheduler's timer runs on faked time, so the count is exact: passes at 0, 200 and 400 ms, not hundreds.
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout"] });
    try {
      failing.start();
      await vi.advanceTimersByTimeAsync(500);
      await failing.stop();
    } finally {
      vi.useRealTimers();
    }
    expect(passes).toBe(3);
  });

  it.each([
    [{ entitlement: "db/write" }, "unknown_entitlement"],
    [{ entitlement: "db/read", duration: 0 }, "invalid_duration"],
    [{ entitlement: "db/read", duration: -5 }, "invalid_duration"],
    [{ entitlement: "db/read", duration: "soon" }, "invalid_duration"],
    [{ entitlement: "db/read", duration: "2h" }, "duration_too_long"],
    [{ entitlement: "db/read", duration: "45m" }, "duration_too_long"], // above the allow-list's 30m
  ])("refuses %j with %s, changing nothing but the audit log", async (input, code) => {
    const error = await refusal(requestAccess(h.deps, h.ci, input, meta));
    expect(error.code).toBe(code);
    expect(await h.store.listGrants({ limit: 10 })).toHaveLength(0);
    expect(h.target.accounts.size).toBe(0);
    const events = await h.store.listAudit(0, 10);
    expect(events.map((e) => e.code)).toEqual(["request.rejected"]);
    expect(events[0]?.outcome).toBe("denied");
  });

  it("denies an identity no rule names, and records the denial", async () => {
    const outsider = { ...h.ci, id: "outsider", groups: [] };
    const result = await requestAccess(h.deps, outsider, { entitlement: "db/read" }, meta);
    expect(result.outcome).toBe("denied");
    expect(result.request.state).toBe("denied");
    expect(await codes(h)).toEqual(["request.denied"]);
    expect(h.target.accounts.size).toBe(0);
  });

  it("after a crash, removes a grant left in issuing", async () => {
    h.target.hangIssue = true;
    const issuing = h.target.issueBegun();
    void requestAccess(h.deps, h.ci, { entitlement: "db/read" }, meta);
    await issuing;
    const [stuck] = await h.store.listGrants({ limit: 10 });
    expect(stuck?.state).toBe("issuing");
    h.target.accounts.set(stuck!.handle, "made before the crash");
    // A new process on the same store: recovery ends what the old one left mid-issue.
    const restarted = new ExpiryScheduler(h.deps, { batch: 100, concurrency: 4, pollIntervalMs: 1000 });
    expect(await restarted.recoverAfterRestart()).toEqual({ ended: 1, resumed: 0, released: 0 });
    expect(await h.store.getGrant(stuck!.id)).toMatchObject({ state: "verified", endReason: "recovered" });
    expect(h.target.accounts.size).toBe(0);
  });

  it("after a crash, a grant the dead process had claimed at its expiry ends at once, not after the claim lease", async () => {
    const result = await requestAccess(h.deps, h.ci, { entitlement: "db/read", duration: 60 }, meta);
    if (result.outcome !== "issued") throw new Error(`not issued: ${result.outcome}`);
    const grantId = result.grant.id;
    h.clock.advance(60_000);
    // The process claims the due grant, then dies before ending it: the claim would hold it for removalClaimMs.
    expect(await h.store.claimDue({ now: h.clock.now(), limit: 10, leaseMs: 30_000 })).toHaveLength(1);
    const restarted = new ExpiryScheduler(h.deps, { batch: 100, concurrency: 4, pollIntervalMs: 1000 });
    expect(await restarted.recoverAfterRestart()).toEqual({ ended: 0, resumed: 0, released: 1 });
    expect(await restarted.runOnce()).toBe(1);
    expect(await h.store.getGrant(grantId)).toMatchObject({ state: "verified", endReason: "expired" });
  });

  it("on a shared store, a starting replica leaves another replica's grant in issuing alone", async () => {
    h.target.hangIssue = true;
    const issuing = h.target.issueBegun();
    void requestAccess(h.deps, h.ci, { entitlement: "db/read" }, meta);
    await issuing;
    const [inFlight] = await h.store.listGrants({ limit: 10 });
    const starting = new ExpiryScheduler(h.deps, { batch: 100, concurrency: 4, pollIntervalMs: 1000 });
    expect(await starting.recoverAfterRestart({ exclusive: false })).toEqual({ ended: 0, resumed: 0, released: 0 });
    expect(await starting.runOnce()).toBe(0);
    expect(await h.store.getGrant(inFlight!.id)).toStrictEqual(inFlight);
  });

  it("a grant left issuing by a dead replica is removed once its claim lapses", async () => {
    h.target.hangIssue = true;
    const issuing = h.target.issueBegun();
    void requestAccess(h.deps, h.ci, { entitlement: "db/read" }, meta);
    await issuing;
    expect(await h.scheduler.runOnce()).toBe(0);
    h.clock.advance(30_000);
    expect(await h.scheduler.runOnce()).toBe(1);
    const [grant] = await h.store.listGrants({ limit: 10 });
    expect(grant).toMatchObject({ state: "verified", endReason: "recovered" });
  });
});

describe("credentials made inside the broker", () => {
  let h: Harness;
  beforeEach(async () => {
    h = await makeHarness();
    h.target.issuesInProcess = true;
  });
  afterEach(async () => {
    await h.close();
  });

  it("commits the grant active in one step, after the credential is made and before it is handed out", async () => {
    const result = await requestAccess(h.deps, h.ci, { entitlement: "db/read" }, meta);
    if (result.outcome !== "issued") throw new Error("not issued");
    expect(h.target.stateAtIssue).toEqual([null]); // nothing stored yet: the credential exists only in memory
    expect(await h.store.getGrant(result.grant.id)).toMatchObject({ state: "active", version: 2 });
    const events = await h.store.listAudit(0, 10);
    expect(events.map((e) => e.code)).toEqual(["request.approved", "grant.issuing", "grant.issued"]);
    expect(new Set(events.map((e) => e.seq)).size).toBe(3);
    h.clock.advance(300_000);
    await h.scheduler.runOnce();
    expect((await h.store.getGrant(result.grant.id))?.state).toBe("verified");
  });

  it("a failed issue records the request as failed and leaves no grant", async () => {
    h.target.failIssue = true;
    h.target.accounts.clear();
    const error = await refusal(requestAccess(h.deps, h.ci, { entitlement: "db/read" }, meta));
    expect(error.code).toBe("downstream_unavailable");
    expect(await h.store.listGrants({ limit: 10 })).toHaveLength(0);
    expect(await codes(h)).toEqual(["request.approved", "request.failed"]);
  });

  it("a failed commit hands nothing out", async () => {
    await h.close();
    h = await makeHarness({
      wrapStore: (store) =>
        new Proxy(store, {
          get(target, prop) {
            if (prop === "apply") return async () => Promise.reject(new Error("disk full"));
            const value: unknown = Reflect.get(target, prop, target);
            return typeof value === "function" ? value.bind(target) : value;
          },
        }),
    });
    h.target.issuesInProcess = true;
    const error = await refusal(requestAccess(h.deps, h.ci, { entitlement: "db/read" }, meta));
    expect(error.code).toBe("audit_unavailable");
    expect(await h.store.listGrants({ limit: 10 })).toHaveLength(0);
  });
});

describe("fail closed", () => {
  it("no audit record, no credential: a failed commit of the issue takes the credential back", async () => {
    const h = await makeHarness({
      wrapStore: (store) =>
        new Proxy(store, {
          get(target, prop) {
            if (prop === "apply") {
              return async (changes: Parameters<typeof store.apply>[0]) => {
                if (changes.audit.some((a) => a.code === "grant.issued")) throw new Error("disk full");
                return target.apply(changes);
              };
            }
            const value: unknown = Reflect.get(target, prop, target);
            return typeof value === "function" ? value.bind(target) : value;
          },
        }),
    });
    try {
      const error = await refusal(requestAccess(h.deps, h.ci, { entitlement: "db/read" }, meta));
      expect(error.code).toBe("audit_unavailable");
      expect(h.target.revokeCalls).toBe(1);
      expect(h.target.accounts.size).toBe(0);
    } finally {
      await h.close();
    }
  });
});
