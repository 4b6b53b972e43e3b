// Redis connector benchmark: broker-path issue and proven removal beside the raw ACL commands an operator would type.
import { performance } from "node:perf_hooks";
import { Redis } from "ioredis";
import type { EntitlementSpec } from "../../src/connectors/connector.js";
import { createRedisConnector } from "../../src/connectors/redis/index.js";
import { randomToken } from "../../src/support/ids.js";
import { benchContext, benchIdentity, expectRemoved, since, timedIssue, timedRemoval } from "./context.js";
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

const identity = benchIdentity();

export async function runRedisBench(iterations: number): Promise<ConnectorBench> {
  const { ctx, close } = await benchContext("redis");
  const prefix = `eph_b${randomToken(6)}_`;
  const settings = targetSettings(prefix);
  const connector = createRedisConnector({ id: TARGET, type: "redis", settings }, ctx);
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
      const { issued, grant, issueMs } = await timedIssue(connector, spec, identity);
      result.issue.push(issueMs);
      const removal = await timedRemoval(connector, grant, issued);
      result.removal.push(removal.removalMs);
      result.revoke.push(removal.revokeMs);
      result.verify.push(removal.verifyMs);
      expectRemoved(connector, grant, removal);

      const raw = `${prefix}raw${i}`;
      const password = randomToken(32);
      let start = performance.now();
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
    await close();
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
