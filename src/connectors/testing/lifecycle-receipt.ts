// The contract's end-to-end case: a full lifecycle through the broker (request → issue → use → end → revoke → verify)
// against the connector's real target, whose removal receipt is read back as `GET /v1/grants/{id}` shows it and
// checked against what the target says afterwards.

import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect } from "vitest";
import { AuditHmac } from "../../audit/hmac.js";
import { presentGrant } from "../../http/present.js";
import { LifecycleMetrics } from "../../lifecycle/monitor/metrics.js";
import { observeUsage } from "../../lifecycle/monitor/observe-usage.js";
import { requestAccess } from "../../lifecycle/request/request-access.js";
import { endGrantByCaller } from "../../lifecycle/revoke/end-grant.js";
import type { LifecycleDeps } from "../../lifecycle/shared/deps.js";
import { AllowListDecider } from "../../policy/allow-list.js";
import { openSqliteStore } from "../../storage/sqlite/index.js";
import { systemClock } from "../../support/clock.js";
import { silentLogger } from "../../support/logger.js";
import { Sealer } from "../../support/sealer.js";
import { type IssuedCredential, usageObservationOf } from "../connector.js";
import type { ContractSubject, OpenSession } from "./contract.js";

type Presented = ReturnType<typeof presentGrant>;

/** One grant through the whole lifecycle; `use` opens a session first so the target can show the grant in use. */
async function lifecycle(
  s: ContractSubject,
  deps: LifecycleDeps,
  use: boolean,
): Promise<{ shown: Presented; credential: IssuedCredential; session: OpenSession | null; verifiedEvent: unknown }> {
  s.makeGrant(); // moves subjects that hand each grant a fresh account (or login) on to the next one
  const identity = s.identity;
  const result = await requestAccess(
    deps,
    identity,
    { entitlement: s.entitlement.name, justification: "receipt contract" },
    { sourceAddress: null },
  );
  if (result.outcome !== "issued") throw new Error(`expected a grant, got ${result.outcome}`);
  const { grant, credential } = result;
  let session: OpenSession | null = null;
  if (use && s.openSession) {
    session = await s.openSession(credential, grant);
    expect(await session.usable()).toBe(true);
    // One pass of the usage monitor sees the session (on the targets that can show one).
    await observeUsage(deps, [s.connector]);
  }
  const ended = await endGrantByCaller(deps, identity, grant.id, "completed");
  expect(ended.state, ended.lastError ?? "").toBe("verified");
  // Read back as the API shows it, from the store.
  const stored = await deps.store.getGrant(grant.id);
  if (!stored) throw new Error("grant not stored");
  const events = await deps.store.auditFor({ grantId: grant.id }, 100);
  const verifiedEvent = events.find((e) => e.code === "grant.verified")?.data.receipt;
  return { shown: presentGrant(stored), credential, session, verifiedEvent };
}

/** A broker's lifecycle on a fresh SQLite store, wired to the subject's connector; `done` closes and removes it. */
async function brokerFor(s: ContractSubject): Promise<{ deps: LifecycleDeps; done(): Promise<void> }> {
  const dir = mkdtempSync(join(tmpdir(), "ephemera-receipt-"));
  const store = s.store ?? (await openSqliteStore(join(dir, "broker.db")));
  const deps: LifecycleDeps = {
    store,
    clock: s.clock ?? systemClock,
    logger: silentLogger(),
    sealer: new Sealer(randomBytes(32)),
    catalog: {
      identity: async (id) => (id === s.identity.id ? s.identity : undefined),
      entitlement: (name) => (name === s.entitlement.name ? s.entitlement : undefined),
      connector: (id) => (id === s.connector.targetId ? s.connector : undefined),
    },
    decider: new AllowListDecider([
      {
        index: 0,
        identities: [],
        groups: [...s.identity.groups],
        entitlements: [s.entitlement.name],
        maxDurationSeconds: 3600,
      },
    ]),
    observer: new LifecycleMetrics(store),
    settings: { removalClaimMs: 30_000, retryInitialMs: 1_000, retryMaxMs: 60_000 },
    random: () => 0.5,
    auditHmac: new AuditHmac(randomBytes(32)),
  };
  return {
    deps,
    async done() {
      if (store !== s.store) await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export async function checkLifecycleReceipt(s: ContractSubject): Promise<void> {
  const { deps, done } = await brokerFor(s);
  try {
    const used = await lifecycle(s, deps, true);
    const r = used.shown.receipt;
    expect(r, "receipt").not.toBeNull();
    if (!r) return;
    // The receipt says what verification saw; every check passed and it is the grant's evidence.
    expect(r.verification?.checks.length).toBeGreaterThan(0);
    for (const c of r.verification?.checks ?? []) expect(c, c.check).toMatchObject({ passed: true });
    expect(r.verification).toStrictEqual(used.shown.evidence);
    expect(r.revokedAt).toBe(used.shown.revokedAt);
    expect(r.verifiedAt).toBe(used.shown.verifiedAt);
    expect(Date.parse(r.verifiedAt ?? "")).toBeGreaterThanOrEqual(Date.parse(r.revokedAt ?? ""));
    // What was removed is named, by handle; the audit trail carries the same receipt.
    expect(r.removed.length, "removed").toBeGreaterThan(0);
    expect(used.verifiedEvent).toBeDefined();
    expect(JSON.parse(JSON.stringify(used.verifiedEvent))).toMatchObject({
      removed: r.removed,
      sessionsEnded: r.sessionsEnded,
      unused: r.unused,
    });

    // Against the target: the credential is refused, the session is over, the account is gone.
    if (s.useCredential) expect(await s.useCredential(used.credential)).toBe(false);
    if (used.session) {
      try {
        expect(await used.session.usable()).toBe(false);
      } finally {
        await used.session.close();
      }
      // A target with sessions names the one removal ended; one without (HTTP roles) reports null.
      if (r.sessionsEnded !== null) {
        expect(r.sessionsEnded.count).toBeGreaterThanOrEqual(1);
        expect(r.sessionsEnded.ids.length).toBe(r.sessionsEnded.count);
      }
    }
    if (s.listsAccounts !== false && !s.sharedHandles) {
      const accounts = await s.connector.listAccounts();
      expect(accounts.some((a) => a.handle === used.shown.handle)).toBe(false);
    }

    // Usage: a target that can show sessions saw this one; one that cannot makes no claim either way.
    if (s.connector.observeUsage && used.session) {
      expect(r.unused).toBe(false);
      expect(r.firstUsedAt).not.toBeNull();
      expect(Date.parse(r.lastUsedAt ?? "")).toBeGreaterThanOrEqual(Date.parse(r.firstUsedAt ?? ""));
      expect(used.shown.firstUsedAt).toBe(r.firstUsedAt);
    } else {
      expect(r.unused).toBeNull();
    }

    // A grant never used: marked unused where the target could have seen use.
    const idle = await lifecycle(s, deps, false);
    const definitive = usageObservationOf(s.connector) === "definitive";
    expect(idle.shown.receipt?.unused).toBe(definitive ? true : null);
    expect(idle.shown.receipt?.usageObservation.method).toBe(usageObservationOf(s.connector));
    expect(idle.shown.receipt?.firstUsedAt).toBeNull();
    if (s.useCredential) expect(await s.useCredential(idle.credential)).toBe(false);
  } finally {
    await done();
  }
}

/**
 * A short session (one query) opened and closed between two looks of the usage monitor: no look saw it, so the
 * receipt must not call the grant unused unless the target keeps a record of every login.
 */
export async function checkShortSessionReceipt(s: ContractSubject): Promise<void> {
  if (!s.openSession) return;
  const { deps, done } = await brokerFor(s);
  try {
    s.makeGrant();
    const result = await requestAccess(
      deps,
      s.identity,
      { entitlement: s.entitlement.name, justification: "short session" },
      { sourceAddress: null },
    );
    if (result.outcome !== "issued") throw new Error(`expected a grant, got ${result.outcome}`);
    const session = await s.openSession(result.credential, result.grant);
    try {
      expect(await session.usable()).toBe(true);
    } finally {
      await session.close();
    }
    // Until the target itself no longer shows the session (asked directly: nothing is recorded), so the last look
    // before removal cannot catch it either.
    for (let i = 0; s.connector.observeUsage && i < 50; i++) {
      if ((await s.connector.observeUsage([result.grant])).length === 0) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const ended = await endGrantByCaller(deps, s.identity, result.grant.id, "completed");
    expect(ended.state, ended.lastError ?? "").toBe("verified");
    const stored = await deps.store.getGrant(result.grant.id);
    const r = stored ? presentGrant(stored).receipt : null;
    expect(r, "receipt").not.toBeNull();
    expect(r?.unused, "a grant used between two looks is not unused").not.toBe(true);
    // A target that records every login knows of this one.
    if (usageObservationOf(s.connector) === "definitive") expect(r?.unused).toBe(false);
    expect(r?.usageObservation.method).toBe(usageObservationOf(s.connector));
  } finally {
    await done();
  }
}
