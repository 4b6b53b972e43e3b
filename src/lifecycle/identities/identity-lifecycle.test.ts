// Offboarding, dormancy and reactivation on a real store: one audit trail tying an offboarding together, failed
// removals left to the scheduler, pending requests cancelled, idempotence, and dormancy counted from the last sign of life.
// Run on both stores: SQLite, and PostgreSQL in a schema of its own.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { verifyStoreChain } from "../../audit/verify.js";
import type { AuditEvent } from "../../domain/types.js";
import { IdentityRegistry } from "../../identity/registry.js";
import { CedarDecider } from "../../policy/cedar/cedar-decider.js";
import { compilePolicies } from "../../policy/cedar/policy-set.js";
import { openPostgresStore, type PostgresStore } from "../../storage/postgres/index.js";
import { postgresStoreUp, type TestSchema, testSchema } from "../../storage/postgres/testing/schemas.js";
import { silentLogger } from "../../support/logger.js";
import { requestAccess } from "../request/request-access.js";
import { APPROVERS, POLICIES, WRITE } from "../testing/approval-fixtures.js";
import { type Harness, makeHarness, refusal } from "../testing/harness.js";
import { listInventory } from "./inventory.js";
import { markDormantIdentities } from "./mark-dormant.js";
import { offboardIdentity } from "./offboard-identity.js";
import { reactivateIdentity } from "./reactivate-identity.js";

const meta = { sourceAddress: "127.0.0.1" };
const DAY = 86_400_000;

const pgUp = await postgresStoreUp();

describe.each([
  ["sqlite", false],
  ["postgres", true],
] as const)("identity lifecycle on %s", (_name, onPostgres) => {
  let h: Harness;
  let registry: IdentityRegistry;
  let schema: TestSchema | null = null;
  let pgStore: PostgresStore | null = null;
  beforeEach(async (context) => {
    if (onPostgres && !pgUp) context.skip();
    if (onPostgres) {
      schema = testSchema("eph_ident");
      pgStore = await openPostgresStore(schema.options);
    }
    h = await makeHarness({
      decider: new CedarDecider(compilePolicies("test", [["p.cedar", POLICIES]])),
      identities: Object.values(APPROVERS),
      entitlements: [WRITE],
      ...(pgStore ? { wrapStore: () => pgStore! } : {}),
    });
    registry = new IdentityRegistry(h.store, h.clock, silentLogger());
    await registry.syncConfigured([h.ci, h.other, h.admin]);
  });
  afterEach(async () => {
    await h?.close();
    await pgStore?.close();
    await schema?.drop();
    pgStore = null;
    schema = null;
  });

  const events = async (): Promise<AuditEvent[]> => [...(await h.store.listAudit(0, 10_000))];

  it("offboards in one audited step: grants on the target removed, a failed removal retried, requests cancelled", async () => {
    const issued = [];
    for (let i = 0; i < 3; i++) {
      const r = await requestAccess(h.deps, h.ci, { entitlement: "db/read", duration: "10m" }, meta);
      if (r.outcome !== "issued") throw new Error(`expected issued, got ${r.outcome}`);
      issued.push(r.grant);
    }
    const pending = await requestAccess(h.deps, h.ci, { entitlement: "db/write", duration: "5m" }, meta);
    expect(pending.outcome).toBe("pending");
    const untouched = await requestAccess(h.deps, h.other, { entitlement: "db/read", duration: "10m" }, meta);
    h.target.failRevokes = 1; // the first removal fails: the scheduler must finish it

    const result = await offboardIdentity(h.deps, h.admin, "ci-deploy", "left the company");

    expect(result.changed).toBe(true);
    expect(result.identity.status).toBe("offboarded");
    expect(result.identity.statusReason).toBe("offboarded by alice: left the company");
    expect(result.grants.map((g) => g.id).sort()).toEqual(issued.map((g) => g.id).sort());
    expect(result.grants.filter((g) => g.state === "revoke_failed")).toHaveLength(1);
    expect(result.grants.filter((g) => g.state === "verified")).toHaveLength(2);
    expect(result.cancelledRequests).toEqual([pending.request.id]);
    expect((await h.store.getRequest(pending.request.id))?.state).toBe("cancelled");
    if (untouched.outcome !== "issued") throw new Error("other-job should have been issued");
    expect((await h.store.getGrant(untouched.grant.id))?.state).toBe("active");

    // One trail: the offboarding lists the grants; each grant's end and the cancellation point back to it.
    const trail = await events();
    const offboarded = trail.filter((e) => e.code === "identity.offboarded");
    expect(offboarded).toHaveLength(1);
    expect(offboarded[0]).toMatchObject({ identityId: "ci-deploy", actor: { type: "identity", id: "alice" } });
    expect([...(offboarded[0]!.data.grants as string[])].sort()).toEqual(issued.map((g) => g.id).sort());
    const correlationId = offboarded[0]!.data.correlationId;
    expect(correlationId).toBe(result.correlationId);
    const ends = trail.filter((e) => e.code === "grant.revoking" && e.data.reason === "offboarded");
    expect(ends.map((e) => e.grantId).sort()).toEqual(issued.map((g) => g.id).sort());
    for (const end of ends) expect(end.data.correlationId).toBe(correlationId);
    const cancel = trail.find((e) => e.code === "request.cancelled");
    expect(cancel?.data.correlationId).toBe(correlationId);
    for (const grant of issued) expect((await h.store.getGrant(grant.id))?.endReason).toBe("offboarded");

    // The scheduler retries the failed removal like any other.
    h.clock.advance(60_000);
    await h.scheduler.runOnce();
    for (const grant of issued) {
      expect((await h.store.getGrant(grant.id))?.state).toBe("verified");
      expect(h.target.accounts.has(grant.handle)).toBe(false);
    }

    // Idempotent: nothing left, nothing written.
    const before = (await events()).length;
    const again = await offboardIdentity(h.deps, h.admin, "ci-deploy", "left the company");
    expect(again).toMatchObject({ changed: false, correlationId: null, grants: [], cancelledRequests: [] });
    expect((await events()).length).toBe(before);
    expect((await verifyStoreChain(h.store)).ok).toBe(true);
  });

  it("a credential being issued while the identity is offboarded is taken back, never handed out", async () => {
    let release: () => void = () => {};
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const issue = h.target.issue.bind(h.target);
    let entered: () => void = () => {};
    const issueCalled = new Promise<void>((resolve) => {
      entered = resolve;
    });
    h.target.issue = async (request) => {
      entered();
      await gate;
      return issue(request);
    };
    const inflight = requestAccess(h.deps, h.ci, { entitlement: "db/read", duration: "10m" }, meta).then(
      (r) => r,
      (error: unknown) => error,
    );
    // The connector is called only once the grant row is committed in `issuing`.
    await issueCalled;
    const issuing = await h.store.listGrants({ identityId: "ci-deploy", states: ["issuing"], limit: 10 });
    expect(issuing).toHaveLength(1);

    const result = await offboardIdentity(h.deps, h.admin, "ci-deploy", "compromised");
    expect(result.inProgress).toEqual([{ id: issuing[0]!.id, state: "issuing" }]);
    expect(result.cancelledRequests).toHaveLength(1); // the request being issued: its issue can no longer commit
    release();
    const outcome = await inflight;
    // No credential reaches the caller: the commit held the identity's status, so the refusal names it.
    expect(outcome).toMatchObject({ code: "identity_inactive" });
    expect(h.target.accounts.has(issuing[0]!.handle)).toBe(false); // taken back at once
    // And the grant is ended and its removal verified at once, not left for the scheduler.
    const grant = await h.store.getGrant(issuing[0]!.id);
    expect(grant).toMatchObject({ state: "verified", endReason: "offboarded" });
  });

  it("a caller whose identity was offboarded before the issue read its status is refused before anything is made", async () => {
    await offboardIdentity(h.deps, h.admin, "ci-deploy", "compromised");
    // h.ci is the identity as a caller outside HTTP holds it: still active in memory, and no version read with it.
    const refused = await refusal(requestAccess(h.deps, h.ci, { entitlement: "db/read", duration: "10m" }, meta));
    expect(refused.code).toBe("identity_inactive");
    expect(await h.store.listGrants({ identityId: "ci-deploy", limit: 10 })).toEqual([]);
    expect(h.target.accounts.size).toBe(0);
    const events = await h.store.listAudit(0, 500);
    expect(events.at(-1)).toMatchObject({ code: "auth.forbidden", identityId: "ci-deploy" });
  });

  describe.each([
    ["a signed token (one commit)", true],
    ["a downstream account (issuing, then active)", false],
  ] as const)("the status authentication read, asserted by the commit: %s", (_kind, inProcess) => {
    /** What authentication hands the request: the identity's registry version as it read it, and no other read. */
    async function authenticated() {
      const read = await h.store.getIdentity("ci-deploy");
      const authentication = { method: "api_key", credentialId: "key1", claims: {}, singleUse: null };
      return { ...meta, authentication: { ...authentication, identityVersion: read!.version } };
    }

    function countStatusReads(): { reads: number } {
      const counter = { reads: 0 };
      const get = h.store.getIdentity.bind(h.store);
      h.store.getIdentity = async (id) => {
        counter.reads++;
        return get(id);
      };
      return counter;
    }

    it("issues with no second read of the identity's status", async () => {
      h.target.issuesInProcess = inProcess;
      const authMeta = await authenticated();
      const counter = countStatusReads();
      const result = await requestAccess(h.deps, h.ci, { entitlement: "db/read", duration: "10m" }, authMeta);
      expect(result.outcome).toBe("issued");
      expect(counter.reads).toBe(0);
    });

    it("an offboarding committed between authentication and the commit fails the commit: refused, nothing handed out", async () => {
      h.target.issuesInProcess = inProcess;
      const authMeta = await authenticated();
      // The offboarding lands after authentication read the identity and before the request commits.
      await offboardIdentity(h.deps, h.admin, "ci-deploy", "compromised");
      const counter = countStatusReads();
      const refused = await refusal(requestAccess(h.deps, h.ci, { entitlement: "db/read", duration: "10m" }, authMeta));
      expect(refused.code).toBe("identity_inactive");
      // Read once, after the commit failed, to say why: not before it.
      expect(counter.reads).toBe(1);
      expect(await h.store.listGrants({ identityId: "ci-deploy", states: ["active", "issuing"], limit: 10 })).toEqual(
        [],
      );
      const [request] = await h.store.listRequests({ identityId: "ci-deploy", limit: 10 });
      if (inProcess) {
        // Nothing existed outside this process (the fake keeps its "token" in a map the broker never shows): no grant,
        // the request recorded failed with the reason.
        expect(await h.store.listGrants({ identityId: "ci-deploy", limit: 10 })).toEqual([]);
        expect(request).toMatchObject({ state: "failed" });
      } else {
        // The account was made before the commit that failed: taken back, the grant ended and its removal verified.
        expect(h.target.accounts.size).toBe(0);
        const [grant] = await h.store.listGrants({ identityId: "ci-deploy", limit: 10 });
        expect(grant).toMatchObject({ state: "verified", endReason: "offboarded" });
      }
      expect((await verifyStoreChain(h.store)).ok).toBe(true);
    });
  });

  it("a grant that became active between offboarding's read and its commit is ended by the pass after the commit", async () => {
    const apply = h.store.apply.bind(h.store);
    let raced: string | null = null;
    h.store.apply = async (changes) => {
      const offboarding = changes.writes.some((w) => w.kind === "updateIdentity" && w.identity.status === "offboarded");
      if (offboarding && raced === null) {
        raced = "racing";
        // Another request of the identity, authenticated and issued after the offboarding read its grants.
        const late = await requestAccess(h.deps, h.ci, { entitlement: "db/read", duration: "10m" }, meta);
        if (late.outcome === "issued") raced = late.grant.id;
      }
      return apply(changes);
    };
    const result = await offboardIdentity(h.deps, h.admin, "ci-deploy", "compromised");
    expect(raced).toMatch(/^grt_/);
    expect(result.grants.map((g) => g.id)).toContain(raced);
    expect(await h.store.getGrant(raced!)).toMatchObject({ state: "verified", endReason: "offboarded" });
    expect(h.target.accounts.size).toBe(0);
  });

  it("an admin cannot offboard themselves (only an admin can act on identities, and offboarding is for good)", async () => {
    const refused = await refusal(offboardIdentity(h.deps, h.admin, h.admin.id, "leaving"));
    expect(refused.code).toBe("invalid_request");
    expect((await h.store.getIdentity(h.admin.id))?.status).toBe("active");
  });

  it("only an admin offboards or reactivates, and learns nothing else first: a non-admin is refused (403, audited)", async () => {
    // One at a time: a refusal started before the loop awaits it would be an unhandled rejection meanwhile.
    for (const attempt of [
      () => offboardIdentity(h.deps, h.other, "ci-deploy", "x"),
      () => offboardIdentity(h.deps, h.other, "nobody", "x"),
      () => reactivateIdentity(h.deps, h.other, "ci-deploy", "x"),
    ]) {
      expect((await refusal(attempt())).code).toBe("forbidden");
    }
    const forbidden = (await h.store.listAudit(0, 100)).filter((e) => e.code === "auth.forbidden");
    expect(forbidden).toHaveLength(3);
    expect((await h.store.getIdentity("ci-deploy"))?.status).toBe("active");
  });

  it("an offboarded identity is never reactivated; an unknown one is a 404", async () => {
    await offboardIdentity(h.deps, h.admin, "ci-deploy", "compromised");
    const refused = await refusal(reactivateIdentity(h.deps, h.admin, "ci-deploy", "oops"));
    expect(refused.code).toBe("invalid_state");
    expect(refused.publicMessage).toMatch(/offboarded, which is for good/);
    expect((await h.store.getIdentity("ci-deploy"))?.status).toBe("offboarded");
    expect((await refusal(offboardIdentity(h.deps, h.admin, "nobody", "x"))).code).toBe("not_found");
  });

  it("marks identities unseen for dormantAfter dormant, counted from the last sighting, and reactivation restarts the count", async () => {
    const start = h.clock.now();
    h.clock.advance(20 * DAY);
    await h.store.markIdentitiesSeen([{ id: "other-job", at: h.clock.now() }]);
    h.clock.advance(11 * DAY); // ci-deploy and alice: 31 days since registration; other-job: 11 days since seen
    // alice is the only admin: she stays active, or nobody could reactivate anyone.
    expect(await markDormantIdentities(h.deps, 30 * DAY)).toEqual({ checked: 3, markedDormant: 1 });
    expect((await h.store.getIdentity("alice"))?.status).toBe("active");
    expect((await h.store.getIdentity("ci-deploy"))?.status).toBe("dormant");
    expect((await h.store.getIdentity("other-job"))?.status).toBe("active");
    const dormantEvent = (await events()).find((e) => e.code === "identity.dormant" && e.identityId === "ci-deploy");
    expect(dormantEvent?.data).toMatchObject({ lastSeenAt: null, dormantAfterSeconds: 30 * 86_400 });
    expect(String(dormantEvent?.data.reason)).toContain(new Date(start).toISOString());
    // A second pass finds nothing more to do.
    expect(await markDormantIdentities(h.deps, 30 * DAY)).toEqual({ checked: 2, markedDormant: 0 });

    const back = await reactivateIdentity(h.deps, h.admin, "ci-deploy", "quarterly job runs again");
    expect(back).toMatchObject({ status: "active", statusReason: null });
    expect((await events()).at(-1)).toMatchObject({
      code: "identity.reactivated",
      identityId: "ci-deploy",
      data: { reason: "quarterly job runs again", previousStatus: "dormant" },
    });
    h.clock.advance(29 * DAY);
    expect((await markDormantIdentities(h.deps, 30 * DAY)).markedDormant).toBe(1); // other-job (40 days), not ci-deploy
    expect((await h.store.getIdentity("other-job"))?.status).toBe("dormant");
    expect((await h.store.getIdentity("ci-deploy"))?.status).toBe("active");
  });

  it("the inventory flags non-human identities without an owner and pages with the unowned filter", async () => {
    for (const id of ["orphan-a", "orphan-b", "orphan-c"]) {
      await registry.register(
        { id, kind: "service_account", owner: null, groups: [], attributes: {}, admin: false },
        "test",
        { type: "system", id: "test" },
      );
    }
    const first = await listInventory(h.deps, { unowned: true, limit: 2 });
    expect(first.entries.map((e) => e.identity.id)).toEqual(["orphan-a", "orphan-b"]);
    expect(first.entries.every((e) => e.unowned)).toBe(true);
    const second = await listInventory(h.deps, { unowned: true, limit: 2, after: first.next! });
    expect(second).toMatchObject({ next: null });
    expect(second.entries.map((e) => e.identity.id)).toEqual(["orphan-c"]);
    const owned = await listInventory(h.deps, { unowned: false, limit: 100 });
    expect(owned.entries.map((e) => e.identity.id)).toEqual(["alice", "ci-deploy", "other-job"]);
  });
});
