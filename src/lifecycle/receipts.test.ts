// Removal receipts, usage and the privilege report through the lifecycle, on a real store and a fake target.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { observeUsage, UsageMonitor } from "./monitor/observe-usage.js";
import { reconcileTargets } from "./monitor/reconcile.js";
import { privilegeReport } from "./monitor/report.js";
import { UsageRecorder } from "./monitor/usage-recorder.js";
import { renewGrant } from "./renew/renew-grant.js";
import { requestAccess } from "./request/request-access.js";
import { endGrantByCaller } from "./revoke/end-grant.js";
import { type Harness, makeHarness } from "./testing/harness.js";

const meta = { sourceAddress: "127.0.0.1" };

async function issue(h: Harness, duration: string | number = 60) {
  const result = await requestAccess(h.deps, h.ci, { entitlement: "db/read", duration }, meta);
  if (result.outcome !== "issued") throw new Error("not issued");
  return result.grant;
}

describe("removal receipts and usage", () => {
  let h: Harness;
  beforeEach(async () => {
    h = await makeHarness();
  });
  afterEach(async () => {
    await h.close();
  });

  it("a used grant's receipt names what was removed, the session ended, the verification, and first/last use", async () => {
    const grant = await issue(h);
    h.target.sessions.add(grant.handle);
    h.clock.advance(1_000);
    const firstSeen = h.clock.now();
    expect(await observeUsage(h.deps, [h.target])).toBe(1);
    h.clock.advance(1_000);
    await observeUsage(h.deps, [h.target]);
    expect(await h.store.getGrant(grant.id)).toMatchObject({ firstUsedAt: firstSeen, lastUsedAt: firstSeen + 1_000 });
    h.clock.advance(1_000);

    const ended = await endGrantByCaller(h.deps, h.ci, grant.id, "completed");
    const stored = await h.store.getGrant(grant.id);
    expect(ended.state).toBe("verified");
    expect(stored?.receipt).toStrictEqual({
      removed: [`account ${grant.handle}`],
      sessionsEnded: { count: 1, ids: [`session ${grant.handle}`] },
      revokedAt: stored?.revokedAt,
      verification: stored?.evidence,
      verifiedAt: stored?.verifiedAt,
      firstUsedAt: firstSeen,
      // The last look just before removal saw the session still open.
      lastUsedAt: firstSeen + 2_000,
      unused: false,
      usageObservation: { method: "polled", detail: expect.stringContaining("between two looks is not seen") },
    });
    expect(stored?.receipt?.verification?.checks.every((c) => c.passed)).toBe(true);
    // The audit trail carries it: revoke says what it removed, verification the whole receipt.
    const events = await h.store.auditFor({ grantId: grant.id }, 100);
    expect(events.find((e) => e.code === "grant.revoked")?.data).toMatchObject({
      removed: [`account ${grant.handle}`],
      sessionsEnded: { count: 1, ids: [`session ${grant.handle}`] },
    });
    expect(events.find((e) => e.code === "grant.verified")?.data.receipt).toStrictEqual(stored?.receipt);
    expect(await h.metrics.registry.getSingleMetricAsString("ephemera_grants_unused_total")).not.toMatch(/ 1$/m);
  });

  it("polling that never saw a session does not call the grant unused: a session between two looks goes unseen", async () => {
    const from = h.clock.now();
    const grant = await issue(h);
    await observeUsage(h.deps, [h.target]);
    // One short session, opened and closed between two looks.
    h.target.sessions.add(grant.handle);
    h.target.sessions.delete(grant.handle);
    await endGrantByCaller(h.deps, h.ci, grant.id, "completed");
    const receipt = (await h.store.getGrant(grant.id))?.receipt;
    expect(receipt).toMatchObject({
      unused: null,
      firstUsedAt: null,
      usageObservation: { method: "polled" },
      sessionsEnded: { count: 0 },
    });
    expect(await h.metrics.registry.getSingleMetricAsString("ephemera_grants_unused_total")).not.toMatch(/ 1$/m);
    const report = await privilegeReport(h.deps, { from, to: h.clock.now() + 1 });
    expect(report.grants).toMatchObject({ unused: 0, usageNotObservable: 1 });
  });

  it("a target that records every use may call a grant it never showed in use unused, and it is counted", async () => {
    const from = h.clock.now();
    Object.defineProperty(h.target, "usageObservation", { value: "definitive" });
    const grant = await issue(h);
    await endGrantByCaller(h.deps, h.ci, grant.id, "completed");
    const receipt = (await h.store.getGrant(grant.id))?.receipt;
    expect(receipt).toMatchObject({
      unused: true,
      firstUsedAt: null,
      usageObservation: { method: "definitive", detail: expect.stringContaining("records every use") },
    });
    expect(await h.metrics.registry.getSingleMetricAsString("ephemera_grants_unused_total")).toMatch(
      /ephemera_grants_unused_total\{target="db",entitlement="db\/read"\} 1$/m,
    );
    const report = await privilegeReport(h.deps, { from, to: h.clock.now() + 1 });
    expect(report.grants).toMatchObject({ unused: 1, usageNotObservable: 0 });
  });

  it("a target that cannot show use makes no claim: unused is null", async () => {
    const grant = await issue(h);
    Object.defineProperty(h.target, "observeUsage", { value: undefined });
    await endGrantByCaller(h.deps, h.ci, grant.id, "completed");
    expect((await h.store.getGrant(grant.id))?.receipt).toMatchObject({
      unused: null,
      usageObservation: { method: "none", detail: "the target cannot show use" },
    });
  });

  it("a removal that failed and was retried gets its receipt from the revoke that succeeded", async () => {
    const grant = await issue(h);
    h.target.failRevokes = 1;
    h.clock.advance(60_000);
    await h.scheduler.runOnce();
    const failed = await h.store.getGrant(grant.id);
    expect(failed).toMatchObject({ state: "revoke_failed", receipt: null });
    h.clock.advance(750);
    await h.scheduler.runOnce();
    const stored = await h.store.getGrant(grant.id);
    expect(stored?.state).toBe("verified");
    expect(stored?.receipt).toMatchObject({ removed: [`account ${grant.handle}`], unused: null });
    expect(stored?.receipt?.revokedAt).toBe(stored?.revokedAt);
  });

  it("revoke that finds the access already gone says so: nothing removed, still verified", async () => {
    const grant = await issue(h);
    h.target.accounts.delete(grant.handle);
    await endGrantByCaller(h.deps, h.ci, grant.id, "revoked");
    expect((await h.store.getGrant(grant.id))?.receipt).toMatchObject({ removed: [], verifiedAt: expect.any(Number) });
  });

  it("usage is telemetry: a pass whose target fails is logged and skipped, and never blocks removal", async () => {
    const grant = await issue(h);
    h.target.sessions.add(grant.handle);
    const broken = Object.create(h.target) as typeof h.target;
    Object.defineProperty(broken, "observeUsage", {
      value: async () => {
        throw new Error("target unreachable");
      },
    });
    Object.defineProperty(broken, "targetId", { value: "broken" });
    expect(await observeUsage(h.deps, [broken, h.target])).toBe(1);
    // The last look fails too (the connector's observeUsage throws), yet revoke and verification go on.
    const connector = h.deps.catalog.connector;
    const deps = {
      ...h.deps,
      catalog: { ...h.deps.catalog, connector: (id: string) => (id === "db" ? broken : connector(id)) },
    };
    const ended = await endGrantByCaller(deps, h.ci, grant.id, "completed");
    expect(ended.state).toBe("verified");
    expect((await h.store.getGrant(grant.id))?.receipt?.unused).toBe(false); // the earlier pass saw it
  });

  it("the usage monitor polls only while it holds the store lease, one replica at a time", async () => {
    const grant = await issue(h);
    h.target.sessions.add(grant.handle);
    const connectors = new Map([["db", h.target]]);
    const held = await h.store.acquireLease({
      name: "usage-monitor",
      holder: "other",
      now: h.clock.now(),
      ttlMs: 60_000,
    });
    expect(held).not.toBeNull();
    // Passes that found the lease taken: three of them, not a guess at how long three take.
    let refused = 0;
    let threeRefused: () => void = () => {};
    const threePasses = new Promise<void>((resolve) => {
      threeRefused = resolve;
    });
    const store = new Proxy(h.store, {
      get(target, prop) {
        if (prop === "acquireLease") {
          return async (request: Parameters<typeof target.acquireLease>[0]) => {
            const lease = await target.acquireLease(request);
            if (lease === null && ++refused === 3) threeRefused();
            return lease;
          };
        }
        const value: unknown = Reflect.get(target, prop, target);
        return typeof value === "function" ? value.bind(target) : value;
      },
    });
    const monitor = new UsageMonitor({ ...h.deps, store }, connectors, { intervalMs: 10, replicaId: "me" });
    monitor.start();
    await threePasses;
    expect((await h.store.getGrant(grant.id))?.firstUsedAt).toBeNull();
    await h.store.releaseLease("usage-monitor", "other");
    await expect.poll(async () => (await h.store.getGrant(grant.id))?.firstUsedAt, { timeout: 2_000 }).not.toBeNull();
    await monitor.stop();
  });
});

describe("usage recorder", () => {
  let h: Harness;
  beforeEach(async () => {
    h = await makeHarness();
  });
  afterEach(async () => {
    await h.close();
  });

  it("writes sightings in batches, one per grant per interval, keeping first use exact", async () => {
    const grant = await issue(h);
    const writes: number[] = [];
    const store = h.store;
    const counting = Object.create(store) as typeof store;
    counting.markGrantsUsed = async (usage) => {
      writes.push(usage.length);
      return store.markGrantsUsed(usage);
    };
    const recorder = new UsageRecorder({ store: counting, clock: h.clock, logger: h.deps.logger, intervalMs: 1_000 });
    const first = h.clock.now();
    for (let i = 0; i < 100; i++) recorder.used(grant.id); // one burst: queued once
    h.clock.advance(1_500);
    recorder.used(grant.id); // a later sighting in the same batch
    await recorder.flush();
    expect(writes).toEqual([2]);
    expect(await h.store.getGrant(grant.id)).toMatchObject({ firstUsedAt: first, lastUsedAt: first + 1_500 });
    await recorder.flush();
    expect(writes).toEqual([2]); // nothing queued, nothing written
  });

  it("a removal writes what introspection saw before it reads usage", async () => {
    const grant = await issue(h);
    Object.defineProperty(h.target, "observeUsage", { value: undefined });
    const recorder = new UsageRecorder({ store: h.store, clock: h.clock, logger: h.deps.logger, intervalMs: 60_000 });
    recorder.used(grant.id);
    const ended = await endGrantByCaller({ ...h.deps, usage: recorder }, h.ci, grant.id, "completed");
    expect(ended.state).toBe("verified");
    expect((await h.store.getGrant(grant.id))?.receipt).toMatchObject({ unused: false, firstUsedAt: h.clock.now() });
  });
});

describe("privilege report", () => {
  let h: Harness;
  beforeEach(async () => {
    h = await makeHarness();
  });
  afterEach(async () => {
    await h.close();
  });

  it("reports issued, ended, verified share, unused, renewals, privilege percentiles and standing accounts", async () => {
    const from = h.clock.now();
    const a = await issue(h, 600);
    const b = await issue(h, 600);
    await issue(h, 600); // stays active
    await renewGrant(h.deps, h.ci, b.id, { duration: 900 }, meta);
    h.target.sessions.add(a.handle);
    await observeUsage(h.deps, [h.target]);
    h.clock.advance(10_000);
    await endGrantByCaller(h.deps, h.ci, a.id, "completed");
    h.clock.advance(20_000);
    h.target.failRevokes = 100;
    await endGrantByCaller(h.deps, h.ci, b.id, "completed");
    h.target.accounts.set("root", "x");
    await reconcileTargets(h.deps, new Map([["db", h.target]]));

    const report = await privilegeReport(h.deps, { from, to: h.clock.now() + 1 });
    expect(report).toStrictEqual({
      from: new Date(from).toISOString(),
      to: new Date(h.clock.now() + 1).toISOString(),
      grants: {
        issued: 3,
        ended: 2,
        verifiedRemoval: 1,
        verifiedShare: 0.5,
        overrunsOver2s: 0,
        unused: 0,
        usageNotObservable: 0,
        renewals: 1,
      },
      privilegeSeconds: { median: 10, p99: 10 },
      standing: [{ target: "db", accounts: 1 }],
      discoveredAt: new Date(h.clock.now()).toISOString(),
    });
    // b's removal keeps failing past its expiry: an overrun once more than 2 s have passed.
    h.clock.advance(900_000);
    const later = await privilegeReport(h.deps, { from, to: h.clock.now() });
    expect(later.grants.overrunsOver2s).toBe(2); // b (failing), and the active grant nobody ended
  });
});
