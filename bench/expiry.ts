// Expiry lag: 100,000 active token grants seeded through the store, 20,000 of them expiring in a window; lag = verifiedAt − expiresAt.
import { randomBytes } from "node:crypto";
import { pino } from "pino";
import type { AccessRequest, Grant, Store } from "../src/index.js";
import { ENTITLEMENT, IDENTITY_ID, TARGET_ID } from "./broker-process.js";
import { ephemera } from "./library.js";
import { type LatencySummary, nowMs, sleep, summarize } from "./stats.js";

type ChangeSet = Parameters<Store["apply"]>[0];
type Write = ChangeSet["writes"][number];
type AuditDraft = ChangeSet["audit"][number];

export interface ExpiryOptions {
  readonly document: Record<string, unknown>;
  readonly cwd: string;
  /** Grants that expire during the window. */
  readonly expiring: number;
  /** Grants that stay active (they expire hours later). */
  readonly longLived: number;
  readonly windowMs: number;
  /** Quiet time between the end of seeding and the first expiry. */
  readonly leadMs: number;
  /** Give up waiting this long after the window closed. */
  readonly drainTimeoutMs: number;
}

export interface ExpiryResult {
  readonly seeded: number;
  readonly seedMs: number;
  readonly seedGrantsPerSecond: number;
  readonly windowMs: number;
  readonly expiring: number;
  readonly verified: number;
  /** Grants in each state once the wait ended. */
  readonly states: Readonly<Record<string, number>>;
  /** verifiedAt − expiresAt, ms. */
  readonly lag: LatencySummary;
  /** endedAt − expiresAt (the scheduler picked the grant up), ms. */
  readonly pickupLag: LatencySummary;
  /** From the last expiresAt in the window to the last verifiedAt, ms. */
  readonly drainAfterWindowMs: number;
  readonly completed: boolean;
}

const SEED_WRITES_PER_SET = 1000; // 500 grants: a request row and a grant row each

/** `<prefix>_<9 base-36 ms><16 random [0-9a-f]>`: the shape of broker ids, so they sort by creation. */
function seedId(prefix: "req" | "grt"): string {
  return `${prefix}_${Date.now().toString(36).padStart(9, "0")}${randomBytes(8).toString("hex")}`;
}

function seedPair(now: number, expiresAt: number, kid: string): { request: AccessRequest; grant: Grant } {
  const requestId = seedId("req");
  const grantId = seedId("grt");
  const durationSeconds = Math.max(1, Math.round((expiresAt - now) / 1000));
  const request: AccessRequest = {
    id: requestId,
    identityId: IDENTITY_ID,
    entitlement: ENTITLEMENT,
    targetId: TARGET_ID,
    durationSeconds,
    justification: null,
    ticket: null,
    intent: null,
    breakGlass: false,
    state: "issued",
    decision: {
      outcome: "allow",
      approval: "auto",
      determiningPolicies: ["access[0]"],
      reason: "bench seed",
      maxDurationSeconds: null,
    },
    revision: 0,
    approvals: [],
    dueAt: null,
    review: null,
    facts: null,
    grantId,
    stateReason: null,
    createdAt: now,
    updatedAt: now,
    version: 2,
  };
  // Seeded as the lifecycle makes them: opened in `issuing`, then issued (active, version 2).
  const opened = ephemera.openGrant({
    id: grantId,
    requestId,
    identityId: IDENTITY_ID,
    targetId: TARGET_ID,
    entitlement: ENTITLEMENT,
    connectorType: "token",
    handle: grantId,
    handleData: {},
    createdAt: now,
    expiresAt,
    maxExpiresAt: expiresAt,
    dueAt: expiresAt,
  });
  const grant: Grant = ephemera.grantIssued(opened, now, expiresAt, { kid });
  return { request, grant };
}

export function seedAudit(now: number, count: number): AuditDraft {
  return {
    time: now,
    code: "grant.issued",
    severity: "info",
    outcome: "success",
    actor: { type: "system", id: "bench-seed" },
    requestId: null,
    grantId: null,
    identityId: IDENTITY_ID,
    data: { seeded: count },
  };
}

/** Seeds one grant per entry of `expiries`, 500 to a change set, one change set at a time. */
async function seed(store: Store, kid: string, expiries: (i: number) => number, count: number): Promise<void> {
  const perSet = SEED_WRITES_PER_SET / 2;
  for (let done = 0; done < count; ) {
    const n = Math.min(perSet, count - done);
    const now = Date.now();
    const writes: Write[] = [];
    for (let i = 0; i < n; i++) {
      const { request, grant } = seedPair(now, expiries(done + i), kid);
      writes.push({ kind: "insertRequest", request }, { kind: "insertGrant", grant });
    }
    await store.apply({ writes, audit: [seedAudit(now, n)] });
    done += n;
  }
}

async function stateCounts(store: Store): Promise<Record<string, number>> {
  return Object.fromEntries(await store.countGrantsByState());
}

export async function runExpiry(options: ExpiryOptions): Promise<ExpiryResult> {
  const config = ephemera.buildConfig(options.document, "bench", {}, options.cwd);
  const logger = pino({ level: process.env.BENCH_BROKER_LOG ?? "silent" });
  const broker = await ephemera.startBroker(config, { listen: false, schedule: false, logger });
  try {
    const store = broker.deps.store;
    const kid = broker.tokens.currentKid();

    // The long-lived grants first; their rate sizes the lead time before the window opens.
    const hour = 3_600_000;
    const seedStart = nowMs();
    const farBase = Date.now() + 2 * hour;
    await seed(store, kid, (i) => farBase + Math.floor((i / options.longLived) * hour), options.longLived);
    const longMs = nowMs() - seedStart;
    const perGrantMs = longMs / Math.max(1, options.longLived);
    const windowStart = Math.ceil(Date.now() + perGrantMs * options.expiring * 2 + options.leadMs);
    const step = options.windowMs / options.expiring;
    await seed(store, kid, (i) => windowStart + Math.floor(i * step), options.expiring);
    const seedMs = nowMs() - seedStart;
    const seeded = options.longLived + options.expiring;
    if (Date.now() >= windowStart) throw new Error("seeding ran past the start of the expiry window; raise leadMs");

    broker.scheduler.start();
    const windowEnd = windowStart + options.windowMs;
    // Nothing else runs in this process while grants expire: the first look at the store is after the window.
    await sleep(Math.max(0, windowEnd - Date.now() + 200));
    const giveUp = Date.now() + options.drainTimeoutMs;
    let counts = await stateCounts(store);
    while ((counts.verified ?? 0) < options.expiring && Date.now() < giveUp) {
      await sleep(100);
      counts = await stateCounts(store);
    }
    await broker.scheduler.stop();

    const lags: number[] = [];
    const pickups: number[] = [];
    let lastVerified = 0;
    let lastExpiry = 0;
    for (let after: string | undefined; ; ) {
      const page = await store.listGrants({ states: ["verified"], limit: 5000, ...(after ? { after } : {}) });
      for (const g of page) {
        if (g.verifiedAt === null) continue;
        lags.push(g.verifiedAt - g.expiresAt);
        if (g.endedAt !== null) pickups.push(g.endedAt - g.expiresAt);
        lastVerified = Math.max(lastVerified, g.verifiedAt);
        lastExpiry = Math.max(lastExpiry, g.expiresAt);
      }
      if (page.length < 5000) break;
      after = page[page.length - 1]?.id;
    }
    return {
      seeded,
      seedMs,
      seedGrantsPerSecond: (seeded / seedMs) * 1000,
      windowMs: options.windowMs,
      expiring: options.expiring,
      verified: lags.length,
      states: counts,
      lag: summarize(lags),
      pickupLag: summarize(pickups),
      drainAfterWindowMs: lastVerified - lastExpiry,
      completed: lags.length >= options.expiring,
    };
  } finally {
    await broker.close();
  }
}
