// The PostgreSQL store at scale: 1,000,000 grants (900,000 ended, 100,000 active, 20,000 of them expiring in a window),
// seeded server-side with multi-row INSERT … SELECT; expiry lag, request latency over HTTP and restart to ready.
import { randomBytes } from "node:crypto";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import pg from "pg";
import { pino } from "pino";
import {
  type ChildBroker,
  ENTITLEMENT,
  IDENTITY_ID,
  startChildBroker,
  TARGET_ID,
  writeBenchConfig,
} from "./broker-process.js";
import { seedAudit } from "./expiry.js";
import { type LoadResult, runLoad } from "./http-load.js";
import { type Ephemera, ephemera, REPO_ROOT } from "./library.js";
import { type LatencySummary, nowMs, sleep, summarize } from "./stats.js";

export interface PostgresBenchOptions {
  readonly url: string;
  readonly total: number;
  readonly active: number;
  readonly expiring: number;
  readonly windowMs: number;
  readonly leadMs: number;
  readonly drainTimeoutMs: number;
  readonly removalConcurrency: number;
  readonly log: (message: string) => void;
}

/** One expiry window: how many of its grants were verified in time, the lag, and how the removals split by replica. */
export interface ExpiryRun {
  readonly replicas: number;
  readonly expiring: number;
  readonly verified: number;
  readonly lag: LatencySummary;
  readonly pickupLag: LatencySummary;
  /** Due grants each replica's scheduler claimed and removed during the window. */
  readonly removalsByReplica: readonly number[];
  /** Change sets and transactions the replicas committed during the window, summed. */
  readonly changeSets: number;
  readonly commits: number;
}

export interface PostgresBenchResult {
  readonly seeded: number;
  readonly seedMs: number;
  readonly expiring: number;
  readonly verified: number;
  readonly lag: LatencySummary;
  readonly pickupLag: LatencySummary;
  /** The same window again with three broker replicas on the store, each running its scheduler. */
  readonly threeReplicas: ExpiryRun;
  /** Whether the audit chain verified end to end after the expiry windows. */
  readonly chainVerified: boolean;
  readonly c1: LoadResult;
  readonly c32: LoadResult;
  readonly restartMs: readonly number[];
  readonly serverVersion: string;
}

const SEED_SLICE = 100_000;

/** Inserts `count` request+grant pairs numbered from `first`, server-side, in slices of 100,000 rows. */
async function seedGrants(
  client: pg.Client,
  spec: { first: number; count: number; state: "verified" | "active"; expiresAt: string; kid: string; now: number },
): Promise<void> {
  const handleData = JSON.stringify({ kid: spec.kid });
  for (let at = 0; at < spec.count; at += SEED_SLICE) {
    const from = spec.first + at;
    const to = spec.first + Math.min(spec.count, at + SEED_SLICE) - 1;
    // Ids sort before the broker's own (`…_<base-36 time>…`), and are unique per row.
    const id = (prefix: string) => `'${prefix}_0000' || lpad(i::text, 9, '0')`;
    await client.query(
      `INSERT INTO requests (id, identity_id, entitlement, target_id, duration_seconds, justification, ticket, intent,
         break_glass, state, decision, grant_id, state_reason, created_at, updated_at, version)
       SELECT ${id("req")}, $1, $2, $3, 300, NULL, NULL, NULL, 0, 'issued', NULL, ${id("grt")}, NULL, $4::bigint, $4::bigint, 2
       FROM generate_series($5::int, $6::int) AS i`,
      [IDENTITY_ID, ENTITLEMENT, TARGET_ID, spec.now, from, to],
    );
    const verified = spec.state === "verified";
    await client.query(
      `INSERT INTO grants (id, request_id, identity_id, target_id, entitlement, connector_type, handle, handle_data,
         state, created_at, issued_at, expires_at, max_expires_at, renewals, end_reason, ended_at, ended_by, attempts,
         last_error, revoked_at, verified_at, evidence, due_at, version)
       SELECT ${id("grt")}, ${id("req")}, $1, $3, $2, 'token', ${id("grt")}, $4, $5, $6::bigint, $6::bigint, e.at, e.at, 0,
         ${verified ? "'expired'" : "NULL"}, ${verified ? "e.at" : "NULL"}, ${verified ? "'scheduler'" : "NULL"}, 0,
         NULL, ${verified ? "e.at" : "NULL"}, ${verified ? "e.at" : "NULL"}, NULL, ${verified ? "NULL" : "e.at"},
         ${verified ? 5 : 2}
       FROM generate_series($7::int, $8::int) AS i, LATERAL (SELECT (${spec.expiresAt})::bigint AS at) AS e`,
      [IDENTITY_ID, ENTITLEMENT, TARGET_ID, handleData, spec.state, spec.now, from, to],
    );
  }
}

type BenchBroker = Awaited<ReturnType<Ephemera["startBroker"]>>;

/** `expiring` active grants expiring uniformly over the window, which opens `leadMs` (+2 s) after now. */
async function seedWindow(
  client: pg.Client,
  options: PostgresBenchOptions,
  at: { first: number; kid: string; now: number },
): Promise<{ start: number; end: number }> {
  const start = Date.now() + 2_000 + options.leadMs;
  const step = options.windowMs / options.expiring;
  await seedGrants(client, {
    first: at.first,
    count: options.expiring,
    state: "active",
    expiresAt: `${start}::bigint + floor((i - ${at.first}) * ${step})::bigint`,
    kid: at.kid,
    now: at.now,
  });
  return { start, end: start + options.windowMs };
}

type StoreStats = { commits: number; changeSets: number };
const statsOf = (broker: BenchBroker): StoreStats =>
  (broker.deps.store as unknown as { stats?: StoreStats }).stats ?? { commits: 0, changeSets: 0 };

/** Starts every replica's scheduler, waits out the window and the drain, stops them and reads the lag back. */
async function expiryWindow(
  admin: pg.Client,
  options: PostgresBenchOptions,
  replicas: readonly BenchBroker[],
  window: { start: number; end: number },
): Promise<ExpiryRun> {
  const takenBefore = replicas.map((r) => r.scheduler.taken);
  const statsBefore = replicas.map(statsOf);
  for (const replica of replicas) replica.scheduler.start();
  await sleep(Math.max(0, window.end - Date.now() + 200));
  const giveUp = Date.now() + options.drainTimeoutMs;
  const countVerified = async () =>
    Number(
      (
        await admin.query<{ n: string }>(
          "SELECT count(*) AS n FROM grants WHERE expires_at >= $1 AND expires_at <= $2 AND state = 'verified'",
          [window.start, window.end],
        )
      ).rows[0]?.n ?? 0,
    );
  let verified = await countVerified();
  while (verified < options.expiring && Date.now() < giveUp) {
    await sleep(200);
    verified = await countVerified();
  }
  for (const replica of replicas) await replica.scheduler.stop();
  const statsAfter = replicas.map(statsOf);
  const changeSets = statsAfter.reduce((n, s, i) => n + s.changeSets - (statsBefore[i]?.changeSets ?? 0), 0);
  const commits = statsAfter.reduce((n, s, i) => n + s.commits - (statsBefore[i]?.commits ?? 0), 0);
  options.log(`store: ${changeSets} change sets in ${commits} transactions over ${replicas.length} replica(s)`);
  const rows = (
    await admin.query<{ lag: string; pickup: string }>(
      `SELECT verified_at - expires_at AS lag, ended_at - expires_at AS pickup FROM grants
       WHERE expires_at >= $1 AND expires_at <= $2 AND state = 'verified'`,
      [window.start, window.end],
    )
  ).rows;
  return {
    replicas: replicas.length,
    expiring: options.expiring,
    verified,
    lag: summarize(rows.map((r) => Number(r.lag))),
    pickupLag: summarize(rows.map((r) => Number(r.pickup))),
    removalsByReplica: replicas.map((r, i) => r.scheduler.taken - (takenBefore[i] ?? 0)),
    changeSets,
    commits,
  };
}

export async function runPostgresBench(options: PostgresBenchOptions, root: string): Promise<PostgresBenchResult> {
  const schema = `eph_bench_${randomBytes(5).toString("hex")}`;
  const admin = new pg.Client({ connectionString: options.url, connectionTimeoutMillis: 5_000 });
  admin.on("error", () => {});
  await admin.connect();
  const serverVersion =
    (await admin.query<{ v: string }>("SELECT current_setting('server_version') AS v")).rows[0]?.v ?? "?";
  const dir = join(root, "postgres");
  mkdirSync(dir, { recursive: true });
  const config = await writeBenchConfig(dir, join(dir, "data"), "1s", {
    storage: { postgres: { url: options.url, schema } },
    // Each removal waits for a few commits in turn; on a shared store a commit is a network round trip, so more
    // removals in flight fill each batch (see docs/high-availability.md, sizing).
    lifecycle: { pollInterval: "1s", removalConcurrency: options.removalConcurrency },
  });
  try {
    const logger = pino({ level: process.env.BENCH_BROKER_LOG ?? "silent" });
    const built = ephemera.buildConfig(config.document, "bench", {}, REPO_ROOT);
    // The in-process broker makes the schema, the master key and the signing key; the scheduler starts after seeding.
    const broker = await ephemera.startBroker(built, { listen: false, schedule: false, logger });
    let one: ExpiryRun;
    let three: ExpiryRun;
    let seedMs: number;
    let chainVerified = false;
    try {
      const kid = broker.tokens.currentKid();
      await admin.query(`SET search_path = ${schema}`);
      const ended = options.total - options.active;
      const longLived = options.active - options.expiring;
      const now = Date.now();
      const seedStart = nowMs();
      options.log(
        `seeding ${ended.toLocaleString("en-US")} ended and ${longLived.toLocaleString("en-US")} long-lived grants`,
      );
      await seedGrants(admin, {
        first: 1,
        count: ended,
        state: "verified",
        expiresAt: `$6::bigint - 3600000 + i`,
        kid,
        now,
      });
      await seedGrants(admin, {
        first: ended + 1,
        count: longLived,
        state: "active",
        expiresAt: `$6::bigint + 7200000 + i`,
        kid,
        now,
      });
      const window = await seedWindow(admin, options, { first: ended + longLived + 1, kid, now });
      await admin.query("ANALYZE requests; ANALYZE grants");
      await broker.deps.store.apply({ writes: [], audit: [seedAudit(Date.now(), options.total)] });
      seedMs = nowMs() - seedStart;
      if (Date.now() >= window.start) throw new Error("seeding ran past the start of the expiry window; raise leadMs");
      options.log(`seeded in ${Math.round(seedMs / 1000)} s; expiry window opens in ${window.start - Date.now()} ms`);
      one = await expiryWindow(admin, options, [broker], window);
      options.log(
        `expiry, 1 replica: ${one.verified}/${options.expiring} verified, lag p99 ${Math.round(one.lag.p99)} ms`,
      );

      // The same window again, its grants numbered after the first million, with three replicas sharing the store.
      const replicas = [broker];
      try {
        for (let i = 0; i < 2; i++)
          replicas.push(await ephemera.startBroker(built, { listen: false, schedule: false, logger }));
        const again = await seedWindow(admin, options, { first: options.total + 1, kid, now: Date.now() });
        three = await expiryWindow(admin, options, replicas, again);
      } finally {
        for (const replica of replicas.slice(1)) await replica.close();
      }
      options.log(
        `expiry, 3 replicas: ${three.verified}/${options.expiring} verified, lag p99 ${Math.round(three.lag.p99)} ms, removals by replica ${three.removalsByReplica.join(" / ")}`,
      );
      const verdict = await ephemera.verifyStoreChain(broker.deps.store);
      chainVerified = verdict.ok;
      options.log(`audit chain after the expiry windows: ${verdict.ok ? "verifies" : "DOES NOT VERIFY"}`);
    } finally {
      await broker.close();
    }
    const { lag, pickupLag, verified } = one;

    options.log("request latency over HTTP against a CLI broker on the seeded store");
    const child: ChildBroker = await startChildBroker(config);
    let c1: LoadResult;
    let c32: LoadResult;
    try {
      const load = (concurrency: number, maxMs: number) =>
        runLoad({
          url: config.url,
          apiKey: config.apiKey,
          entitlement: ENTITLEMENT,
          concurrency,
          maxRequests: 100_000,
          maxMs,
          brokerPid: child.pid,
        });
      await load(32, 1500);
      c1 = await load(1, 3000);
      c32 = await load(32, 3000);
    } finally {
      await child.stop();
    }
    options.log(`c=1 p50 ${c1.latency.p50.toFixed(2)} ms; c=32 ${Math.round(c32.credentialsPerSecond)}/s`);

    const restartMs: number[] = [];
    for (let i = 0; i < 3; i++) {
      const again = await startChildBroker(config, { pollMs: 20 });
      restartMs.push(again.readyMs);
      await again.stop();
    }
    return {
      seeded: options.total,
      seedMs,
      expiring: options.expiring,
      verified,
      lag,
      pickupLag,
      threeReplicas: three,
      chainVerified,
      c1,
      c32,
      restartMs,
      serverVersion,
    };
  } finally {
    await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`).catch(() => undefined);
    await admin.end().catch(() => undefined);
  }
}
