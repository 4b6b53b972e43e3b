// PostgreSQL connector benchmark: broker-path issue and proven removal beside the raw statements an operator would
// type, plus the two levers measured for issue latency (SCRAM iteration count) and temporary role elevation.
import { performance } from "node:perf_hooks";
import { Client, escapeIdentifier, escapeLiteral } from "pg";
import type { Connector, EntitlementSpec } from "../../src/connectors/connector.js";
import { createPostgresConnector, createPostgresElevationConnector } from "../../src/connectors/postgres/index.js";
import type { Identity } from "../../src/domain/types.js";
import { systemClock } from "../../src/support/clock.js";
import { randomToken } from "../../src/support/ids.js";
import { benchContext, benchIdentity, expectRemoved, since, timedIssue, timedRemoval } from "./context.js";
import type { ConnectorBench } from "./types.js";

const TARGET = "bench-db";

/** The server to measure: `EPHEMERA_BENCH_PG_URL` (an admin login, no password in it) and `EPHEMERA_BENCH_PG_PASSWORD`. */
const URL_SETTING = process.env.EPHEMERA_BENCH_PG_URL ?? "postgres://postgres@127.0.0.1:5432/test";
const PASSWORD = process.env.EPHEMERA_BENCH_PG_PASSWORD ?? "";

const identity = (login: string): Identity => benchIdentity({ attributes: { postgres_role: login } });

function spec(settings: Record<string, unknown>): EntitlementSpec {
  return {
    name: `${TARGET}/read`,
    targetId: TARGET,
    defaultDurationSeconds: 300,
    maxDurationSeconds: 3600,
    risk: "low",
    settings,
  };
}

/** Issues, then revokes and verifies with the probe; returns [issue ms, removal ms, revoke ms, verify ms]. */
async function cycle(
  connector: Connector,
  entitlement: EntitlementSpec,
  who: Identity,
): Promise<[number, number, number, number]> {
  const { issued, grant, issueMs } = await timedIssue(connector, entitlement, who);
  const removal = await timedRemoval(connector, grant, issued);
  expectRemoved(connector, grant, removal);
  return [issueMs, removal.removalMs, removal.revokeMs, removal.verifyMs];
}

export async function runPostgresBench(iterations: number): Promise<ConnectorBench> {
  const { ctx, close } = await benchContext("pg");
  const tag = randomToken(6);
  const prefix = `eph_b${tag}_`;
  const group = `${prefix}read`;
  const login = `${prefix}app`;
  const base = { url: URL_SETTING, password: PASSWORD };
  const connector = createPostgresConnector({ id: TARGET, type: "postgres", settings: { ...base, prefix } }, ctx);
  const pgCount = createPostgresConnector(
    { id: TARGET, type: "postgres", settings: { ...base, prefix, scramIterations: 4096 } },
    ctx,
  );
  const elevation = createPostgresElevationConnector({ id: TARGET, type: "postgres-elevation", settings: base }, ctx);
  const readSpec = spec({ roles: [group] });
  const elevateSpec = spec({ role: group });

  const url = new URL(URL_SETTING);
  const admin = new Client({
    host: url.hostname,
    port: url.port === "" ? 5432 : Number(url.port),
    user: decodeURIComponent(url.username),
    password: PASSWORD,
    database: url.pathname.slice(1) || "postgres",
    connectionTimeoutMillis: 5_000,
    statement_timeout: 10_000,
  });
  admin.on("error", () => {});

  const result = {
    issue: [] as number[],
    removal: [] as number[],
    revoke: [] as number[],
    verify: [] as number[],
    rawIssue: [] as number[],
    rawRemoval: [] as number[],
    issue4096: [] as number[],
    removal4096: [] as number[],
    elevationIssue: [] as number[],
    elevationRemoval: [] as number[],
  };
  // Cleaned up only once connected: a client whose connect failed has made nothing, and its end() can wait forever.
  let connected = false;
  try {
    await admin.connect();
    connected = true;
    await admin.query(`CREATE ROLE ${escapeIdentifier(group)} NOLOGIN`);
    await admin.query(`CREATE ROLE ${escapeIdentifier(login)} LOGIN`);
    for (let i = 0; i < iterations; i += 1) {
      const [issueMs, removalMs, revokeMs, verifyMs] = await cycle(connector, readSpec, identity(login));
      result.issue.push(issueMs);
      result.removal.push(removalMs);
      result.revoke.push(revokeMs);
      result.verify.push(verifyMs);
      const [issue4096Ms, removal4096Ms] = await cycle(pgCount, readSpec, identity(login));
      result.issue4096.push(issue4096Ms);
      result.removal4096.push(removal4096Ms);
      const [elevationIssueMs, elevationRemovalMs] = await cycle(elevation, elevateSpec, identity(login));
      result.elevationIssue.push(elevationIssueMs);
      result.elevationRemoval.push(elevationRemovalMs);

      const raw = escapeIdentifier(`${prefix}raw${i}`);
      const until = escapeLiteral(new Date(systemClock.now() + 360_000).toISOString());
      let start = performance.now();
      await admin.query(
        `CREATE ROLE ${raw} LOGIN PASSWORD ${escapeLiteral(randomToken(32))} VALID UNTIL ${until} IN ROLE ${escapeIdentifier(group)}`,
      );
      result.rawIssue.push(since(start));
      start = performance.now();
      await admin.query(`ALTER ROLE ${raw} NOLOGIN`);
      await admin.query(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usesysid = (SELECT oid FROM pg_roles WHERE rolname = $1)",
        [`${prefix}raw${i}`],
      );
      await admin.query(`DROP ROLE ${raw}`);
      result.rawRemoval.push(since(start));
    }
  } finally {
    if (connected) {
      const left = await admin
        .query<{ rolname: string }>("SELECT rolname FROM pg_roles WHERE starts_with(rolname, $1)", [prefix])
        .catch(() => ({ rows: [] as { rolname: string }[] }));
      for (const { rolname } of left.rows) {
        if (rolname !== group) await admin.query(`DROP ROLE IF EXISTS ${escapeIdentifier(rolname)}`).catch(() => {});
      }
      await admin.query(`DROP ROLE IF EXISTS ${escapeIdentifier(group)}`).catch(() => {});
      await admin.end().catch(() => {});
    }
    for (const c of [connector, pgCount, elevation]) await c.close();
    await close();
  }

  return {
    connector: "postgres",
    issue: result.issue,
    removal: result.removal,
    rawIssue: result.rawIssue,
    rawIssueLabel:
      "CREATE ROLE <user> LOGIN PASSWORD '<plain>' VALID UNTIL '<t>' IN ROLE <group> (server hashes, 4096 iterations)",
    rawRemoval: result.rawRemoval,
    rawRemovalLabel: "ALTER ROLE <user> NOLOGIN; SELECT pg_terminate_backend(…usesysid…); DROP ROLE <user> (no proof)",
    extra: {
      "of which revoke (state read, then one script: NOLOGIN, sweep, REVOKE, DROP, COMMIT, sweep)": result.revoke,
      "of which verifyRemoved (one catalogue read beside the login probe)": result.verify,
      "issue, scramIterations 4096 (PostgreSQL's own count)": result.issue4096,
      "removal, scramIterations 4096": result.removal4096,
      "postgres-elevation issue (GRANT under advisory lock)": result.elevationIssue,
      "postgres-elevation removal (count + REVOKE + end sessions + verify)": result.elevationRemoval,
    },
  };
}
