// Redis connector benchmark: broker-path issue and proven removal beside the raw ACL commands an operator would type.
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { Redis } from "ioredis";
import type { EntitlementSpec } from "../../src/connectors/connector.js";
import { createRedisConnector } from "../../src/connectors/redis/index.js";
import { TokenAuthority } from "../../src/connectors/token/index.js";
import { openGrant } from "../../src/domain/transitions.js";
import type { Grant, Identity } from "../../src/domain/types.js";
import { openSqliteStore } from "../../src/storage/index.js";
import { systemClock } from "../../src/support/clock.js";
import { newId, randomToken } from "../../src/support/ids.js";
import { silentLogger } from "../../src/support/logger.js";
import { Sealer } from "../../src/support/sealer.js";
import type { ConnectorBench } from "./types.js";

const TARGET = "bench-cache";

/** The Redis to measure: `EPHEMERA_BENCH_REDIS_URL` (no password in it) and `EPHEMERA_BENCH_REDIS_PASSWORD`. */
function targetSettings(prefix: string): Record<string, unknown> {
  return {
    url: process.env.EPHEMERA_BENCH_REDIS_URL ?? "redis://127.0.0.1:6379",
    password: process.env.EPHEMERA_BENCH_REDIS_PASSWORD ?? "",
    prefix,
  };
}

const identity: Identity = {
  id: "bench-client",
  kind: "service_account",
  owner: "bench",
  groups: [],
  attributes: {},
  status: "active",
  admin: false,
};

function since(start: number): number {
  return performance.now() - start;
}

export async function runRedisBench(iterations: number): Promise<ConnectorBench> {
  const dir = mkdtempSync(join(tmpdir(), "ephemera-redis-bench-"));
  const store = await openSqliteStore(join(dir, "bench.db"));
  const sealer = new Sealer(randomBytes(32));
  const tokenAuthority = new TokenAuthority({
    issuer: "https://ephemera.bench",
    store,
    sealer,
    clock: systemClock,
    rotationIntervalSeconds: 3600,
    maxTokenLifetimeSeconds: 3600,
    leewaySeconds: 60,
  });
  const prefix = `eph_b${randomToken(6)}_`;
  const settings = targetSettings(prefix);
  const connector = createRedisConnector(
    { id: TARGET, type: "redis", settings },
    { store, clock: systemClock, sealer, logger: silentLogger(), tokenAuthority },
  );
  const keyspace = `${prefix}k`;
  const spec: EntitlementSpec = {
    name: `${TARGET}/rw`,
    targetId: TARGET,
    defaultDurationSeconds: 300,
    maxDurationSeconds: 3600,
    risk: "low",
    settings: { keys: [`${keyspace}:*`], commands: ["+get", "+set"] },
  };
  connector.validateEntitlement(spec);

  const url = new URL(String(settings.url));
  const admin = new Redis({
    host: url.hostname,
    port: url.port === "" ? 6379 : Number(url.port),
    ...(url.username === "" ? {} : { username: decodeURIComponent(url.username) }),
    ...(settings.password === "" ? {} : { password: String(settings.password) }),
    protocol: 2,
    disableClientInfo: true,
    lazyConnect: true,
    enableReadyCheck: false,
    connectTimeout: 5_000,
    commandTimeout: 10_000,
    maxRetriesPerRequest: 1,
    retryStrategy: () => null,
  });
  admin.on("error", () => {});

  const result = {
    issue: [] as number[],
    removal: [] as number[],
    rawIssue: [] as number[],
    rawRemoval: [] as number[],
    revoke: [] as number[],
    verify: [] as number[],
  };
  try {
    await admin.connect();
    for (let i = 0; i < iterations; i += 1) {
      const now = systemClock.now();
      const id = newId("grt");
      const { handle, handleData } = connector.prepare({ grantId: id, identity, entitlement: spec });
      const opened: Grant = openGrant({
        id,
        requestId: newId("req"),
        identityId: identity.id,
        targetId: TARGET,
        entitlement: spec.name,
        connectorType: "redis",
        handle,
        handleData,
        createdAt: now,
        expiresAt: now + 300_000,
        maxExpiresAt: now + 3_600_000,
        dueAt: now + 300_000,
      });

      let start = performance.now();
      const issued = await connector.issue({ grant: opened, identity, entitlement: spec, expiresAt: opened.expiresAt });
      result.issue.push(since(start));
      const grant: Grant = { ...opened, state: "active", issuedAt: now, version: 2 };

      start = performance.now();
      await connector.revoke({ grant });
      const revoked = performance.now();
      const verified = await connector.verifyRemoved({ grant, probe: issued.probe ?? null });
      result.removal.push(since(start));
      result.revoke.push(revoked - start);
      result.verify.push(since(revoked));
      if (!verified.removed) throw new Error(`redis bench: removal of ${handle} was not verified`);

      const raw = `${prefix}raw${i}`;
      const password = randomToken(32);
      start = performance.now();
      await admin.call(
        "ACL",
        "SETUSER",
        raw,
        "reset",
        "on",
        `>${password}`,
        `~${keyspace}:*`,
        "resetchannels",
        "-@all",
        "+get",
        "+set",
        "-@dangerous",
      );
      result.rawIssue.push(since(start));
      start = performance.now();
      await admin.call("ACL", "DELUSER", raw);
      result.rawRemoval.push(since(start));
    }
  } finally {
    const left = ((await admin.call("ACL", "USERS").catch(() => [])) as unknown[]).map(String);
    const ours = left.filter((u) => u.startsWith(prefix));
    if (ours.length > 0) await admin.call("ACL", "DELUSER", ...ours).catch(() => {});
    admin.disconnect();
    await connector.close();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }

  return {
    connector: "redis",
    issue: result.issue,
    removal: result.removal,
    rawIssue: result.rawIssue,
    rawIssueLabel: "ACL SETUSER <user> reset on >pw ~<keys> resetchannels -@all +get +set -@dangerous",
    rawRemoval: result.rawRemoval,
    rawRemovalLabel: "ACL DELUSER <user> (no proof: no ACL USERS, CLIENT LIST or AUTH probe)",
    extra: { "revoke (ACL DELUSER)": result.revoke, "verifyRemoved (ACL USERS + CLIENT LIST + AUTH)": result.verify },
  };
}
