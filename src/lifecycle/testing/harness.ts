// Builds a lifecycle over a real SQLite store in a temp directory, a fake target and a clock tests move by hand.
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { AuditHmac } from "../../audit/hmac.js";
import type { EntitlementSpec } from "../../connectors/connector.js";
import { ADMIN_GROUP, type Identity } from "../../domain/types.js";
import type { Notifier } from "../../notifications/notifier.js";
import { AllowListDecider } from "../../policy/allow-list.js";
import type { PolicyDecider } from "../../policy/decider.js";
import { openSqliteStore } from "../../storage/sqlite/index.js";
import type { Store } from "../../storage/store.js";
import { ManualClock } from "../../support/clock.js";
import { type EphemeraError, isEphemeraError } from "../../support/errors.js";
import { silentLogger } from "../../support/logger.js";
import { Sealer } from "../../support/sealer.js";
import { ExpiryScheduler } from "../monitor/expiry-scheduler.js";
import { LifecycleMetrics } from "../monitor/metrics.js";
import type { LifecycleDeps } from "../shared/deps.js";
import { FakeConnector } from "./fake-connector.js";

export interface Harness {
  readonly deps: LifecycleDeps;
  readonly store: Store;
  readonly clock: ManualClock;
  readonly target: FakeConnector;
  readonly scheduler: ExpiryScheduler;
  readonly metrics: LifecycleMetrics;
  readonly ci: Identity;
  readonly other: Identity;
  readonly admin: Identity;
  /** Replaces (or adds) an identity in the catalogue: a group change, an offboarding. */
  setIdentity(identity: Identity): void;
  close(): Promise<void>;
}

const identity = (id: string, groups: string[], admin = false): Identity => ({
  id,
  kind: admin ? "human" : "pipeline",
  owner: "team-test",
  groups,
  attributes: {},
  status: "active",
  admin,
});

export const READ: EntitlementSpec = {
  name: "db/read",
  targetId: "db",
  defaultDurationSeconds: 300,
  maxDurationSeconds: 3600,
  risk: "low",
  settings: {},
};

/** The EphemeraError a use case refused with; fails the test when it resolved or threw something else. */
export async function refusal(promise: Promise<unknown>): Promise<EphemeraError> {
  try {
    await promise;
  } catch (error) {
    if (isEphemeraError(error)) return error;
    throw error;
  }
  throw new Error("expected a refusal");
}

export interface HarnessOptions {
  readonly wrapStore?: (store: Store) => Store;
  /** The policy port; default an allow-list letting group `ci` request `db/read` for at most 30 minutes. */
  readonly decider?: PolicyDecider;
  /** More identities the catalogue knows (looked up by id). */
  readonly identities?: readonly Identity[];
  /** More entitlements on target `db`. */
  readonly entitlements?: readonly EntitlementSpec[];
  readonly notifier?: Notifier;
}

export async function makeHarness(options: HarnessOptions = {}): Promise<Harness> {
  const dir = mkdtempSync(join(tmpdir(), "ephemera-lifecycle-"));
  const realStore = await openSqliteStore(join(dir, "test.db"));
  const store = options.wrapStore ? options.wrapStore(realStore) : realStore;
  const clock = new ManualClock();
  const target = new FakeConnector("db", realStore, clock);
  const ci = identity("ci-deploy", ["ci"]);
  const other = identity("other-job", ["ci"]);
  const admin = identity("alice", [ADMIN_GROUP], true);
  const identities = new Map([ci, other, admin, ...(options.identities ?? [])].map((i) => [i.id, i]));
  const entitlements = new Map([READ, ...(options.entitlements ?? [])].map((e) => [e.name, e]));
  const metrics = new LifecycleMetrics(realStore);
  const deps: LifecycleDeps = {
    store,
    clock,
    logger: silentLogger(),
    sealer: new Sealer(randomBytes(32)),
    catalog: {
      identity: async (id) => identities.get(id),
      entitlement: (name) => entitlements.get(name),
      connector: (id) => (id === "db" ? target : undefined),
    },
    decider:
      options.decider ??
      new AllowListDecider([
        { index: 0, identities: [], groups: ["ci"], entitlements: ["db/read"], maxDurationSeconds: 1800 },
      ]),
    ...(options.notifier ? { notifier: options.notifier } : {}),
    observer: metrics,
    settings: { removalClaimMs: 30_000, retryInitialMs: 1_000, retryMaxMs: 60_000 },
    random: () => 0.5,
    auditHmac: new AuditHmac(randomBytes(32)),
  };
  const scheduler = new ExpiryScheduler(deps, { batch: 100, concurrency: 8, pollIntervalMs: 1_000 });
  return {
    deps,
    store,
    clock,
    target,
    scheduler,
    metrics,
    ci,
    other,
    admin,
    setIdentity(identity) {
      identities.set(identity.id, identity);
    },
    async close() {
      await scheduler.stop();
      await realStore.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
