// How many change sets one credential and one removal cost, on both stores: a signed token is issued in one commit and
// removed in one (deny-list row, revoking → revoked → verified and their events together); a downstream target's grant
// needs `issuing` committed before the account exists and `revoking` before it is removed, so two each.
import { randomBytes } from "node:crypto";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { AuditHmac } from "../../audit/hmac.js";
import { verifyStoreChain } from "../../audit/verify.js";
import type { EntitlementSpec } from "../../connectors/connector.js";
import { type TokenFixture, tokenFixture } from "../../connectors/testing/token-fixture.js";
import type { Identity } from "../../domain/types.js";
import { AllowListDecider } from "../../policy/allow-list.js";
import { postgresStoreUp } from "../../storage/postgres/testing/schemas.js";
import type { Store } from "../../storage/store.js";
import { type OpenedBackend, storeBackends } from "../../storage/testing/backends.js";
import { ManualClock } from "../../support/clock.js";
import { silentLogger } from "../../support/logger.js";
import { ExpiryScheduler } from "../monitor/expiry-scheduler.js";
import { LifecycleMetrics } from "../monitor/metrics.js";
import { requestAccess } from "../request/request-access.js";
import type { LifecycleDeps } from "../shared/deps.js";
import { FakeConnector } from "../testing/fake-connector.js";
import { endGrantByCaller } from "./end-grant.js";

const pgUp = await postgresStoreUp();
const meta = { sourceAddress: "127.0.0.1" };

const DB_READ: EntitlementSpec = {
  name: "db/read",
  targetId: "db",
  defaultDurationSeconds: 300,
  maxDurationSeconds: 3600,
  risk: "low",
  settings: {},
};

/** Change sets the store has committed so far (both stores count them; a transaction may hold several). */
function changeSets(store: Store): number {
  return (store as unknown as { stats: { changeSets: number } }).stats.changeSets;
}

describe.each(storeBackends("commits", pgUp))("commits per credential and per removal on %s", (_name, up, open) => {
  let backend: OpenedBackend;
  let token: TokenFixture;
  let downstream: FakeConnector;
  let deps: LifecycleDeps;
  let caller: Identity;
  let scheduler: ExpiryScheduler;

  beforeEach(async (context) => {
    if (!up) context.skip();
    backend = await open();
    const clock = new ManualClock();
    token = await tokenFixture({ store: backend.store, clock });
    downstream = new FakeConnector("db", backend.store, clock);
    caller = token.identity;
    const entitlements = new Map([token.entitlement, DB_READ].map((e) => [e.name, e]));
    deps = {
      store: backend.store,
      clock,
      logger: silentLogger(),
      sealer: token.sealer,
      catalog: {
        identity: async (id) => (id === caller.id ? caller : undefined),
        entitlement: (name) => entitlements.get(name),
        connector: (id) => (id === "db" ? downstream : id === token.connector.targetId ? token.connector : undefined),
      },
      decider: new AllowListDecider([
        { index: 0, identities: [], groups: ["ci"], entitlements: [...entitlements.keys()], maxDurationSeconds: 1800 },
      ]),
      observer: new LifecycleMetrics(backend.store),
      settings: { removalClaimMs: 30_000, retryInitialMs: 1_000, retryMaxMs: 60_000 },
      random: () => 0.5,
      auditHmac: new AuditHmac(randomBytes(32)),
    };
    scheduler = new ExpiryScheduler(deps, { batch: 100, concurrency: 4, pollIntervalMs: 1_000 });
  });

  afterEach(async () => {
    await scheduler?.stop();
    await backend?.cleanup();
  });

  /** Runs `work` and returns how many change sets it committed. */
  async function counted(work: () => Promise<unknown>): Promise<number> {
    const before = changeSets(backend.store);
    await work();
    return changeSets(backend.store) - before;
  }

  async function issue(entitlement: string): Promise<string> {
    const result = await requestAccess(deps, caller, { entitlement, duration: "5m" }, meta);
    if (result.outcome !== "issued") throw new Error(`expected a credential, got ${result.outcome}`);
    return result.grant.id;
  }

  it("a token is issued in one commit and removed by its caller in one, deny-list row included", async () => {
    let grantId = "";
    expect(await counted(async () => (grantId = await issue(token.entitlement.name)))).toBe(1);
    const removal = await counted(() => endGrantByCaller(deps, caller, grantId, "completed"));
    expect(removal).toBe(1);
    const grant = await backend.store.getGrant(grantId);
    expect(grant?.state).toBe("verified");
    expect(await token.authority.revocationOf(grant?.handle ?? "")).not.toBeNull();
    const codes = (await backend.store.auditFor({ grantId }, 50)).map((e) => e.code);
    expect(codes).toEqual([
      "grant.issuing",
      "grant.issued",
      "grant.revoking",
      "token.revoked",
      "grant.revoked",
      "grant.verified",
    ]);
    expect((await verifyStoreChain(backend.store)).ok).toBe(true);
  });

  it("an expired token is removed in one commit (besides the claim)", async () => {
    const grantId = await issue(token.entitlement.name);
    (deps.clock as ManualClock).advance(5 * 60_000 + 1);
    expect(await counted(() => scheduler.runOnce())).toBe(1);
    const grant = await backend.store.getGrant(grantId);
    expect(grant?.state).toBe("verified");
    expect(grant?.evidence?.checks.map((c) => c.check)).toEqual(["token.denylist"]);
    expect(grant?.receipt?.removed).toEqual([`token jti ${grant?.handle}`]);
  });

  it("a downstream account costs two commits to issue and two to remove, the intent committed before each call", async () => {
    let grantId = "";
    expect(await counted(async () => (grantId = await issue(DB_READ.name)))).toBe(2);
    // The grant row was committed before the account existed.
    expect(downstream.stateAtIssue).toEqual(["issuing"]);
    expect(await counted(() => endGrantByCaller(deps, caller, grantId, "completed"))).toBe(2);
    const grant = await backend.store.getGrant(grantId);
    expect(grant?.state).toBe("verified");
    expect(downstream.accounts.size).toBe(0);
    const codes = (await backend.store.auditFor({ grantId }, 50)).map((e) => e.code);
    expect(codes.slice(-3)).toEqual(["grant.revoking", "grant.revoked", "grant.verified"]);
  });

  it("a downstream removal whose verification fails commits revoked and revoke_failed together, never verified", async () => {
    const grantId = await issue(DB_READ.name);
    downstream.revokeLeavesAccount = true;
    expect(await counted(() => endGrantByCaller(deps, caller, grantId, "completed"))).toBe(2);
    const grant = await backend.store.getGrant(grantId);
    expect(grant?.state).toBe("revoke_failed");
    expect(grant?.verifiedAt).toBeNull();
    const codes = (await backend.store.auditFor({ grantId }, 50)).map((e) => e.code);
    expect(codes.slice(-3)).toEqual(["grant.revoking", "grant.revoked", "grant.revoke_failed"]);
    expect((await verifyStoreChain(backend.store)).ok).toBe(true);
  });
});
